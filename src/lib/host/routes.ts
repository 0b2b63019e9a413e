/**
 * The host's IPv4 routing table, read from the OS.
 *
 * Linux: `ip -j route` (iproute2 JSON, main table); macOS: `netstat -rn -f inet`
 * (BSD text). Both become HostRoute records with the destination as a CIDR.
 * BSD netstat abbreviates destinations classfully ("127" is 127.0.0.0/8,
 * "169.254" is /16, "10.10.10" is /24, "128.0/1" is 128.0.0.0/1, a full
 * dotted quad without prefix is a host route, RFC 4632 §3.1 / netstat(1)).
 * Parsers are pure, exported for tests, and skip lines they cannot read.
 *
 * Used by alias validation (warn when a non-default route covers an alias)
 * and by diagnose (default route, VPN split routes such as 0/1 + 128.0/1).
 */
import { ipv4ToString, parseIpv4, prefixMask, type Ipv4 } from '../wire/addr.js';
import { HnetError } from '../errors.js';
import type { Runner } from './exec.js';
import type { Platform } from './addresses.js';
import { parseIpJson } from './ip-json.js';

export interface HostRoute {
  /** Destination as CIDR text ("0.0.0.0/0" for default). */
  dst: string;
  network: Ipv4;
  prefix: number;
  gateway?: string;
  /** Outgoing interface ("eth0", "en0", "utun3"). */
  dev: string;
  /** Route type when not a plain unicast route (Linux: "blackhole", "unreachable"...). */
  type?: string;
  flags: string[];
  isDefault: boolean;
}

function route(network: Ipv4, prefix: number, dev: string, gateway: string | undefined, flags: string[], type?: string): HostRoute {
  const net = (network & prefixMask(prefix)) >>> 0;
  const r: HostRoute = { dst: `${ipv4ToString(net)}/${prefix}`, network: net, prefix, dev, flags, isDefault: prefix === 0 };
  if (gateway !== undefined) r.gateway = gateway;
  if (type !== undefined) r.type = type;
  return r;
}

/** Parse `ip -j route` output. */
export function parseIpRouteJson(text: string): HostRoute[] {
  const out: HostRoute[] = [];
  for (const r of parseIpJson(text)) {
    if (typeof r.dst !== 'string') continue;
    let network: Ipv4 | undefined;
    let prefix: number;
    if (r.dst === 'default') {
      network = 0;
      prefix = 0;
    } else {
      const [ipText, p] = r.dst.split('/');
      network = parseIpv4(ipText);
      prefix = p === undefined ? 32 : Number(p);
    }
    if (network === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) continue;
    const flags = Array.isArray(r.flags) ? r.flags.filter((f: unknown) => typeof f === 'string') : [];
    const gateway = typeof r.gateway === 'string' ? r.gateway : undefined;
    const type = typeof r.type === 'string' && r.type !== 'unicast' ? r.type : undefined;
    out.push(route(network, prefix, typeof r.dev === 'string' ? r.dev : '', gateway, flags, type));
  }
  return out;
}

/** Parse a BSD netstat destination ("default", "127", "10.10.10/24", "0/1"). */
export function parseBsdDestination(text: string): { network: Ipv4; prefix: number } | undefined {
  if (text === 'default') return { network: 0, prefix: 0 };
  const [ipText, p] = text.split('/');
  if (p !== undefined && !/^\d{1,2}$/.test(p)) return undefined;
  const octets = ipText.split('.');
  if (octets.length < 1 || octets.length > 4 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) return undefined;
  const network = parseIpv4([...octets, '0', '0', '0'].slice(0, 4).join('.'));
  const prefix = p === undefined ? octets.length * 8 : Number(p);
  if (network === undefined || prefix > 32) return undefined;
  return { network, prefix };
}

/**
 * Parse macOS `netstat -rn` (or `-f inet`): the "Internet:" section, columns
 * located by the header row (older releases add Refs and Use columns).
 */
export function parseNetstatRn(text: string): HostRoute[] {
  const out: HostRoute[] = [];
  let cols: string[] | undefined;
  let inInet = !/^Internet:/m.test(text); // `-f inet` on some releases prints no section title
  for (const line of text.split(/\r?\n/)) {
    if (/^Internet:/.test(line)) {
      inInet = true;
      cols = undefined;
      continue;
    }
    if (/^Internet6:/.test(line)) {
      inInet = false;
      continue;
    }
    if (!inInet) continue;
    const words = line.trim().split(/\s+/);
    if (words[0] === 'Destination') {
      cols = words;
      continue;
    }
    if (!cols || words.length < 3) continue;
    const at = (name: string) => {
      const i = cols!.indexOf(name);
      return i >= 0 ? words[i] : undefined;
    };
    const dst = parseBsdDestination(words[0]);
    const dev = at('Netif');
    const flagText = at('Flags') ?? '';
    if (!dst || !dev) continue;
    const gw = at('Gateway');
    // A gateway that is an IPv4 address is a next hop; "link#4" or a MAC means on-link.
    const gateway = gw !== undefined && parseIpv4(gw) !== undefined ? gw : undefined;
    out.push(route(dst.network, dst.prefix, dev, gateway, flagText.split('')));
  }
  return out;
}

/** Read the IPv4 routing table from the OS. */
export async function readRoutes(runner: Runner, platform: Platform = process.platform): Promise<HostRoute[]> {
  if (platform === 'linux') {
    const r = await runner('ip', ['-j', 'route']);
    if (r.exitCode !== 0) throw new HnetError('HNET_HOST_READ', `ip -j route failed: ${r.stderr.trim()}`, ['check that iproute2 is installed']);
    return parseIpRouteJson(r.stdout);
  }
  if (platform === 'darwin') {
    const r = await runner('netstat', ['-rn', '-f', 'inet']);
    if (r.exitCode !== 0) throw new HnetError('HNET_HOST_READ', `netstat -rn failed: ${r.stderr.trim()}`);
    return parseNetstatRn(r.stdout);
  }
  throw new HnetError('HNET_UNSUPPORTED_OS', `reading routes is not supported on ${platform}`, ['hnet supports Linux and macOS']);
}

/** Routes whose destination contains `ip`, most specific first. */
export function routesCovering(routes: HostRoute[], ip: Ipv4): HostRoute[] {
  return routes.filter((r) => ((ip & prefixMask(r.prefix)) >>> 0) === r.network).sort((a, b) => b.prefix - a.prefix);
}
