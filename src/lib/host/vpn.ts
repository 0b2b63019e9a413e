/**
 * What a host VPN does to guest networking, from the interface list
 * (addresses.ts), link kinds (vpn-readers.ts) and routing table (routes.ts).
 *
 * Contract (all pure):
 * - `findVpnInterfaces`: an interface looks like a VPN when its name starts
 *   with a VPN driver prefix (utun, tun, tap, ppp, ipsec, wg, cscotun, gpd,
 *   tailscale) or its link kind is tun/wireguard/ppp, AND it carries IPv4
 *   (a bare tap of a VM does not count).
 * - `tunnelMode`: "full" when the default route, or both halves 0/1 and
 *   128.0/1 (the OpenVPN def1 trick, which wins over default by being more
 *   specific), leave through a VPN interface; "split" when a VPN interface
 *   carries only some routes; "none" without VPN routes.
 * - `vpnMtuProblems`: VPN interfaces whose MTU is below the guest MTU.
 */
import { cidrToString, parseIpv4, type Ipv4Cidr } from '../wire/addr.js';
import type { HostInterface } from './addresses.js';
import type { HostRoute } from './routes.js';
import { routesCovering } from './routes.js';
import { overlappingRoutes } from '../iface/subnet-choice.js';

export const VPN_NAME = /^(utun|tun|tap|ppp|ipsec|wg|cscotun|gpd|tailscale)/i;
export const VPN_LINK_KINDS = new Set(['tun', 'wireguard', 'ppp', 'ipip', 'vti', 'xfrm']);

export interface VpnInterface {
  name: string;
  ipv4: string[];
  mtu?: number;
  up: boolean;
  /** Why it counts: "name" (prefix) or the link kind ("tun", "wireguard"). */
  reason: string;
  /** Routes leaving through it. */
  routes: HostRoute[];
}

export type TunnelMode = 'full' | 'split' | 'none';

export interface TunnelReport {
  mode: TunnelMode;
  /** The VPN interface carrying the default (full) or the most routes (split). */
  via?: string;
  /** The routes that decided it ("0.0.0.0/1", "128.0.0.0/1" or "0.0.0.0/0" for full). */
  evidence: string[];
}

export function findVpnInterfaces(ifaces: HostInterface[], routes: HostRoute[], linkKinds: Map<string, string> = new Map()): VpnInterface[] {
  const out: VpnInterface[] = [];
  for (const i of ifaces) {
    if (i.loopback) continue;
    const kind = linkKinds.get(i.name);
    const byKind = kind !== undefined && VPN_LINK_KINDS.has(kind);
    if (!VPN_NAME.test(i.name) && !byKind) continue;
    const ipv4 = i.addresses.filter((a) => a.family === 'inet').map((a) => `${a.ip}/${a.prefix}`);
    if (ipv4.length === 0) continue;
    const v: VpnInterface = { name: i.name, ipv4, up: i.up, reason: byKind ? kind! : 'name', routes: routes.filter((r) => r.dev === i.name) };
    if (i.mtu !== undefined) v.mtu = i.mtu;
    out.push(v);
  }
  return out;
}

export function tunnelMode(routes: HostRoute[], vpns: VpnInterface[]): TunnelReport {
  const names = new Set(vpns.map((v) => v.name));
  const viaVpn = routes.filter((r) => names.has(r.dev) && r.type === undefined);
  if (viaVpn.length === 0) return { mode: 'none', evidence: [] };
  const def = viaVpn.find((r) => r.prefix === 0);
  if (def) return { mode: 'full', via: def.dev, evidence: [def.dst] };
  const lower = viaVpn.find((r) => r.prefix === 1 && r.network === 0);
  const upper = viaVpn.find((r) => r.prefix === 1 && r.network === 0x80000000);
  if (lower && upper) return { mode: 'full', via: lower.dev, evidence: [lower.dst, upper.dst] };
  // Otherwise: who carries the traffic of an address only the default route covers?
  const probe = parseIpv4('198.51.100.1')!; // RFC 5737 documentation address: any "internet" address
  const best = routesCovering(routes, probe)[0];
  if (best && names.has(best.dev)) return { mode: 'full', via: best.dev, evidence: [best.dst] };
  const counts = new Map<string, number>();
  for (const r of viaVpn) counts.set(r.dev, (counts.get(r.dev) ?? 0) + 1);
  const via = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  return { mode: 'split', via, evidence: viaVpn.filter((r) => r.dev === via).map((r) => r.dst) };
}

export interface OverlapReport {
  subnet: string;
  routes: Array<{ dst: string; dev: string; vpn: boolean }>;
}

export function subnetOverlaps(routes: HostRoute[], subnet: Ipv4Cidr, vpns: VpnInterface[]): OverlapReport {
  const names = new Set(vpns.map((v) => v.name));
  return { subnet: cidrToString(subnet), routes: overlappingRoutes(routes, subnet).map((r) => ({ dst: r.dst, dev: r.dev, vpn: names.has(r.dev) })) };
}

export function vpnMtuProblems(vpns: VpnInterface[], guestMtu: number): Array<{ name: string; mtu: number }> {
  return vpns.filter((v) => v.mtu !== undefined && v.mtu < guestMtu).map((v) => ({ name: v.name, mtu: v.mtu! }));
}
