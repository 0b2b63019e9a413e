/**
 * Which addresses the host's interfaces carry, read from the OS.
 *
 * Linux: `ip -j addr` (iproute2 JSON); macOS: `ifconfig` (BSD text). Both are
 * parsed into the same HostInterface list. The parsers are pure and exported
 * so tests feed them captured outputs (test/fixtures/host/). Readers take a
 * Runner (exec.ts) so nothing here touches the OS directly. A parser never
 * throws on odd input: records it cannot read are skipped.
 *
 * Used by alias validation (is this IP already on some interface?) and by
 * diagnose (which interfaces exist, which are VPN tunnels).
 */
import { parseIpv4 } from '../wire/addr.js';
import { HnetError } from '../errors.js';
import type { Runner } from './exec.js';
import { parseIpJson } from './ip-json.js';

export interface HostAddress {
  family: 'inet' | 'inet6';
  /** The address without scope suffix ("fe80::1", not "fe80::1%lo0"). */
  ip: string;
  prefix: number;
  /** Point-to-point peer (macOS "-->", Linux "address" on ptp links). */
  peer?: string;
}

export interface HostInterface {
  name: string;
  up: boolean;
  loopback: boolean;
  pointToPoint: boolean;
  mtu?: number;
  mac?: string;
  flags: string[];
  addresses: HostAddress[];
}

export type Platform = NodeJS.Platform;

/** Parse `ip -j addr [show dev X]` (iproute2 JSON). */
export function parseIpAddrJson(text: string): HostInterface[] {
  const out: HostInterface[] = [];
  for (const link of parseIpJson(text)) {
    if (typeof link.ifname !== 'string') continue;
    const flags: string[] = Array.isArray(link.flags) ? link.flags.filter((f: unknown) => typeof f === 'string') : [];
    const addresses: HostAddress[] = [];
    for (const a of Array.isArray(link.addr_info) ? link.addr_info : []) {
      if (typeof a !== 'object' || a === null) continue;
      if ((a.family !== 'inet' && a.family !== 'inet6') || typeof a.local !== 'string' || !Number.isInteger(a.prefixlen)) continue;
      const addr: HostAddress = { family: a.family, ip: a.local, prefix: a.prefixlen };
      if (typeof a.address === 'string' && a.address !== a.local) addr.peer = a.address;
      addresses.push(addr);
    }
    const iface: HostInterface = {
      name: link.ifname,
      up: flags.includes('UP'),
      loopback: flags.includes('LOOPBACK'),
      pointToPoint: flags.includes('POINTOPOINT'),
      flags,
      addresses,
    };
    if (Number.isInteger(link.mtu)) iface.mtu = link.mtu;
    if (typeof link.address === 'string' && link.link_type === 'ether') iface.mac = link.address;
    out.push(iface);
  }
  return out;
}

/** "0xffffff00" or "255.255.255.0" -> 24; undefined if not a contiguous mask. */
export function netmaskToPrefix(mask: string): number | undefined {
  let n: number | undefined;
  if (/^0x[0-9a-f]{1,8}$/i.test(mask)) n = parseInt(mask.slice(2), 16) >>> 0;
  else n = parseIpv4(mask);
  if (n === undefined) return undefined;
  const inv = ~n >>> 0;
  if ((inv & (inv + 1)) !== 0) return undefined; // host bits must be a run of trailing ones
  let prefix = 0;
  while (prefix < 32 && (n & (0x80000000 >>> prefix)) !== 0) prefix++;
  return prefix;
}

/**
 * Parse BSD/macOS `ifconfig` output: a header line per interface
 * ("en0: flags=8863<UP,BROADCAST,...> mtu 1500") followed by indented
 * detail lines ("inet 10.0.0.5 netmask 0xffffff00 broadcast 10.0.0.255",
 * "inet6 fe80::1%lo0 prefixlen 64 scopeid 0x1", "ether 64:76:ba:ae:a3:02").
 */
export function parseIfconfig(text: string): HostInterface[] {
  const out: HostInterface[] = [];
  let cur: HostInterface | undefined;
  for (const line of text.split(/\r?\n/)) {
    const head = /^([A-Za-z0-9_.-]+): flags=[0-9a-fA-F]+<([^>]*)>(?:.*?\bmtu (\d+))?/.exec(line);
    if (head) {
      const flags = head[2] ? head[2].split(',') : [];
      cur = {
        name: head[1],
        up: flags.includes('UP'),
        loopback: flags.includes('LOOPBACK'),
        pointToPoint: flags.includes('POINTOPOINT'),
        flags,
        addresses: [],
      };
      if (head[3]) cur.mtu = Number(head[3]);
      out.push(cur);
      continue;
    }
    if (!cur || !/^\s/.test(line)) continue;
    const words = line.trim().split(/\s+/);
    const key = (k: string) => {
      const i = words.indexOf(k);
      return i >= 0 ? words[i + 1] : undefined;
    };
    if (words[0] === 'inet' && words[1] && parseIpv4(words[1]) !== undefined) {
      const prefix = netmaskToPrefix(key('netmask') ?? '');
      if (prefix === undefined) continue;
      const addr: HostAddress = { family: 'inet', ip: words[1], prefix };
      const peer = key('-->');
      if (peer) addr.peer = peer;
      cur.addresses.push(addr);
    } else if (words[0] === 'inet6' && words[1]) {
      const prefix = Number(key('prefixlen'));
      if (!Number.isInteger(prefix)) continue;
      cur.addresses.push({ family: 'inet6', ip: words[1].split('%')[0], prefix });
    } else if (words[0] === 'ether' && words[1]) {
      cur.mac = words[1];
    }
  }
  return out;
}

/** Read every interface and its addresses from the OS. */
export async function readInterfaces(runner: Runner, platform: Platform = process.platform): Promise<HostInterface[]> {
  if (platform === 'linux') {
    const r = await runner('ip', ['-j', 'addr']);
    if (r.exitCode !== 0) throw new HnetError('HNET_HOST_READ', `ip -j addr failed: ${r.stderr.trim()}`, ['check that iproute2 is installed']);
    return parseIpAddrJson(r.stdout);
  }
  if (platform === 'darwin') {
    const r = await runner('ifconfig', []);
    if (r.exitCode !== 0) throw new HnetError('HNET_HOST_READ', `ifconfig failed: ${r.stderr.trim()}`);
    return parseIfconfig(r.stdout);
  }
  throw new HnetError('HNET_UNSUPPORTED_OS', `reading interfaces is not supported on ${platform}`, ['hnet supports Linux and macOS']);
}

/** The name of the loopback interface hnet adds aliases to. */
export function loopbackName(platform: Platform = process.platform): string {
  return platform === 'darwin' ? 'lo0' : 'lo';
}

/** Every interface that carries the IPv4 address `ip`. */
export function interfacesWith(ifaces: HostInterface[], ip: string): HostInterface[] {
  return ifaces.filter((i) => i.addresses.some((a) => a.family === 'inet' && a.ip === ip));
}
