/**
 * Choosing the guest subnet at `hnet start` (DESIGN §1, issue 9).
 *
 * Contract:
 * - A host route "overlaps" the guest subnet when the two CIDRs share any
 *   address (one contains the other's network, RFC 4632 §3.1). Catch-all
 *   routes shorter than /8 (default, a VPN's 0/1 + 128.0/1) are not
 *   overlaps: they cover every candidate and are only a fallback path, while
 *   a more specific route means host addresses the guest could no longer reach.
 * - Without an explicit --subnet, `chooseSubnet` keeps DEFAULT_SUBNET when it
 *   is free, else takes the first free /24 of SUBNET_CANDIDATES (a fixed list,
 *   so the answer is predictable), and says why. If every candidate overlaps it
 *   keeps the default and warns.
 * - An explicit --subnet is never changed: an overlap only produces a warning.
 * - Pure: the caller reads the routes (src/lib/host/routes.ts).
 */
import { cidrToString, parseCidr, prefixMask, type Ipv4Cidr } from '../wire/addr.js';
import type { HostRoute } from '../host/routes.js';
import { DEFAULT_SUBNET } from './config.js';

/** Tried in order when the default overlaps a host route. */
export const SUBNET_CANDIDATES: readonly string[] = [
  DEFAULT_SUBNET,
  '192.168.66.0/24',
  '192.168.67.0/24',
  '192.168.68.0/24',
  '192.168.69.0/24',
  '172.30.65.0/24',
  '172.31.65.0/24',
  '10.254.65.0/24',
];

/** Routes shorter than this are catch-alls, not overlaps. */
export const MIN_OVERLAP_PREFIX = 8;

export interface SubnetChoice {
  /** The subnet to serve (CIDR text). */
  subnet: string;
  /** True when it differs from what was asked for (the default). */
  changed: boolean;
  /** True when the user gave --subnet. */
  explicit: boolean;
  /** Host routes overlapping the subnet that was asked for. */
  overlaps: HostRoute[];
  /** One line for people when something is worth saying (changed, or an overlap kept). */
  message?: string;
}

/** Do two CIDRs share an address? */
export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const m = prefixMask(p);
  return ((a.network & m) >>> 0) === ((b.network & m) >>> 0);
}

/** Host routes (more specific than a catch-all) that overlap `subnet`. */
export function overlappingRoutes(routes: HostRoute[], subnet: Ipv4Cidr): HostRoute[] {
  return routes.filter((r) => r.prefix >= MIN_OVERLAP_PREFIX && cidrsOverlap({ network: r.network, prefix: r.prefix }, subnet));
}

function describe(routes: HostRoute[]): string {
  return routes.map((r) => `${r.dst}${r.dev ? ` dev ${r.dev}` : ''}`).join(', ');
}

/** The first candidate no host route overlaps, or undefined. */
export function firstFreeSubnet(routes: HostRoute[], candidates: readonly string[] = SUBNET_CANDIDATES): string | undefined {
  return candidates.find((c) => overlappingRoutes(routes, parseCidr(c)!).length === 0);
}

export function chooseSubnet(routes: HostRoute[], requested?: string, candidates: readonly string[] = SUBNET_CANDIDATES): SubnetChoice {
  const explicit = requested !== undefined;
  const asked = requested ?? DEFAULT_SUBNET;
  const cidr = parseCidr(asked);
  if (!cidr) return { subnet: asked, changed: false, explicit, overlaps: [] }; // buildStackConfig reports the bad flag
  const overlaps = overlappingRoutes(routes, cidr);
  if (overlaps.length === 0) return { subnet: asked, changed: false, explicit, overlaps };
  const text = cidrToString(cidr);
  if (explicit) {
    return { subnet: asked, changed: false, explicit, overlaps, message: `--subnet ${text} overlaps host route ${describe(overlaps)}; guests cannot reach those host addresses (kept as given)` };
  }
  const free = firstFreeSubnet(routes, candidates);
  if (free === undefined) {
    return { subnet: asked, changed: false, explicit, overlaps, message: `${text} overlaps host route ${describe(overlaps)} and no candidate subnet is free; pass --subnet` };
  }
  return { subnet: free, changed: true, explicit, overlaps, message: `using ${free}: the default ${text} overlaps host route ${describe(overlaps)} (pass --subnet to choose)` };
}

/**
 * What `hnet start` calls: read the host's routes and choose. A routing table
 * that cannot be read changes nothing (the subnet asked for, or the default).
 */
export async function chooseStartSubnet(requested: string | undefined, read: () => Promise<HostRoute[]>): Promise<SubnetChoice> {
  let routes: HostRoute[];
  try {
    routes = await read();
  } catch {
    return { subnet: requested ?? DEFAULT_SUBNET, changed: false, explicit: requested !== undefined, overlaps: [] };
  }
  return chooseSubnet(routes, requested);
}
