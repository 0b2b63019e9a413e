/**
 * Loopback aliases, the pure part: parse what the user typed, build the OS
 * commands, read which IPv4 addresses the loopback carries, and decide whether
 * an alias is acceptable. Nothing here changes the host; alias-ops.ts does,
 * through a Runner.
 *
 * Commands (exactly what is run, shown by --dry-run and in sudo suggestions):
 *   Linux  add:    ip addr add IP/PREFIX dev lo        remove: ip addr del IP/PREFIX dev lo
 *   macOS  add:    ifconfig lo0 alias IP netmask 0xffffffff   remove: ifconfig lo0 -alias IP
 *   (BSD ifconfig(8) takes the netmask as hex or dotted quad; we pass hex.)
 *
 * Validation (validateAlias), in order:
 *   - IPv4 only; not 0.0.0.0/8 "this network" (RFC 1122 §3.2.1.3), not
 *     multicast 224/4 or reserved 240/4 (RFC 1112 §4, RFC 1122 §3.2.1.3)  -> UsageError HNET_BAD_ALIAS (exit 2)
 *   - not inside the guest subnet: guests own it                          -> HNET_ALIAS_IN_SUBNET (exit 1)
 *   - not already on a non-loopback interface                             -> HNET_ALIAS_IN_USE (exit 1)
 *   - already on the loopback: status 'present' (idempotent success)
 *   - a non-default route that covers it and does not go via the loopback: a warning
 */
import { Netmask } from 'netmask';
import { HnetError, UsageError } from '../errors.js';
import { parseIpv4, prefixMask } from '../wire/addr.js';
import { interfacesWith, loopbackName, parseIfconfig, parseIpAddrJson, type HostInterface, type Platform } from './addresses.js';
import { routesCovering, type HostRoute } from './routes.js';
import { formatCommand } from './exec.js';

export const DEFAULT_GUEST_SUBNET = '192.168.65.0/24';
/** A /32 makes exactly one address local; a wider prefix on Linux lo makes the whole block local. */
export const DEFAULT_ALIAS_PREFIX = 32;

export interface AliasSpec {
  ip: string;
  prefix: number;
  name?: string;
}

export interface HostCommand {
  cmd: string;
  args: string[];
}

/** Parse "IP" or "IP/PREFIX"; throws UsageError HNET_BAD_ALIAS on anything else. */
export function parseAliasSpec(text: string): AliasSpec {
  const [ipText, prefixText, extra] = text.trim().split('/');
  const bad = (why: string): never => {
    throw new UsageError('HNET_BAD_ALIAS', `"${text}" is not a usable alias: ${why}`, ['give an IPv4 address, optionally with a prefix: 10.200.10.1 or 10.200.10.1/32']);
  };
  if (extra !== undefined) bad('too many "/"');
  const n = parseIpv4(ipText ?? '');
  if (n === undefined) bad(ipText.includes(':') ? 'only IPv4 aliases are supported' : 'not an IPv4 address');
  let prefix = DEFAULT_ALIAS_PREFIX;
  if (prefixText !== undefined) {
    if (!/^\d{1,2}$/.test(prefixText) || Number(prefixText) < 1 || Number(prefixText) > 32) bad('the prefix must be 1-32');
    prefix = Number(prefixText);
  }
  const first = n! >>> 24;
  if (n === 0x7f000001) bad('127.0.0.1 is the loopback address itself');
  if (first === 0) bad('0.0.0.0/8 means "this network" (RFC 1122 §3.2.1.3)');
  if (first >= 224 && first <= 239) bad('it is a multicast address (RFC 1112 §4)');
  if (first >= 240) bad('240.0.0.0/4 is reserved (RFC 1122 §3.2.1.3)');
  // Canonical dotted quad ("010.1.1.1" would otherwise be stored as typed).
  const ip = [n! >>> 24, (n! >>> 16) & 255, (n! >>> 8) & 255, n! & 255].join('.');
  return { ip, prefix };
}

/** 24 -> "0xffffff00", as BSD ifconfig prints and accepts netmasks. */
export function prefixToHexNetmask(prefix: number): string {
  return '0x' + prefixMask(prefix).toString(16).padStart(8, '0');
}

export function aliasAddCommand(spec: AliasSpec, platform: Platform = process.platform): HostCommand {
  if (platform === 'darwin') return { cmd: 'ifconfig', args: ['lo0', 'alias', spec.ip, 'netmask', prefixToHexNetmask(spec.prefix)] };
  return { cmd: 'ip', args: ['addr', 'add', `${spec.ip}/${spec.prefix}`, 'dev', 'lo'] };
}

export function aliasRemoveCommand(spec: AliasSpec, platform: Platform = process.platform): HostCommand {
  if (platform === 'darwin') return { cmd: 'ifconfig', args: ['lo0', '-alias', spec.ip] };
  return { cmd: 'ip', args: ['addr', 'del', `${spec.ip}/${spec.prefix}`, 'dev', 'lo'] };
}

/** The command to read the loopback's addresses. */
export function loopbackReadCommand(platform: Platform = process.platform): HostCommand {
  if (platform === 'darwin') return { cmd: 'ifconfig', args: ['lo0'] };
  return { cmd: 'ip', args: ['-j', 'addr', 'show', 'dev', 'lo'] };
}

export function commandText(c: HostCommand): string {
  return formatCommand(c.cmd, c.args);
}

/** IPv4 addresses on the loopback, from `ip -j addr show dev lo` or `ifconfig lo0`. */
export function parseLoopbackAddresses(text: string, platform: Platform = process.platform): AliasSpec[] {
  const lo = loopbackName(platform);
  const ifaces = platform === 'darwin' ? parseIfconfig(text) : parseIpAddrJson(text);
  return ifaces
    .filter((i) => i.name === lo)
    .flatMap((i) => i.addresses)
    .filter((a) => a.family === 'inet')
    .map((a) => ({ ip: a.ip, prefix: a.prefix }));
}

/** True when a message from ip/ifconfig says we lacked the privilege. */
export function isPermissionFailure(stderr: string): boolean {
  return /operation not permitted|permission denied|must be root|EPERM/i.test(stderr);
}

export interface HostView {
  interfaces: HostInterface[];
  routes: HostRoute[];
}

export interface AliasCheck {
  /** 'present': already on the loopback, nothing to do. */
  status: 'absent' | 'present';
  warnings: string[];
}

/** Decide whether `spec` may become a loopback alias (see the module comment). */
export function validateAlias(spec: AliasSpec, host: HostView, subnet = DEFAULT_GUEST_SUBNET, platform: Platform = process.platform): AliasCheck {
  const guest = new Netmask(subnet);
  if (guest.contains(spec.ip)) {
    throw new HnetError('HNET_ALIAS_IN_SUBNET', `${spec.ip} is inside the guest subnet ${guest.base}/${guest.bitmask}, which belongs to the guests`, [
      'pick an address outside the guest subnet, for example 10.200.10.1',
      `guests reach the host itself at ${guest.base.replace(/\d+$/, '254')}`,
    ]);
  }
  const lo = loopbackName(platform);
  const holders = interfacesWith(host.interfaces, spec.ip);
  const others = holders.filter((i) => i.name !== lo && !i.loopback);
  if (others.length > 0) {
    throw new HnetError('HNET_ALIAS_IN_USE', `${spec.ip} is already assigned to ${others.map((i) => i.name).join(', ')}`, [
      'an alias must be an address no interface uses; pick another one',
    ]);
  }
  const warnings: string[] = [];
  const ipNum = parseIpv4(spec.ip)!;
  for (const r of routesCovering(host.routes, ipNum)) {
    if (r.isDefault || r.dev === lo || r.type === 'local') continue;
    warnings.push(`a route to ${r.dst} via ${r.gateway ?? r.dev} (${r.dev}) covers ${spec.ip}; that network becomes unreachable at this address while the alias exists`);
  }
  return { status: holders.some((i) => i.name === lo) ? 'present' : 'absent', warnings };
}
