/**
 * The guest network's shape (DESIGN §1), derived once from --subnet and
 * --mtu: gateway .1, host .254, DHCP pool .2–.253, the gateway's MAC.
 */
import { parseCidr, parseMac, prefixMask, type Ipv4, type Ipv4Cidr } from '../wire/addr.js';
import { UsageError } from '../errors.js';

export const DEFAULT_SUBNET = '192.168.65.0/24';
export const GATEWAY_MAC = '02:68:6e:65:74:01';
export const MIN_MTU = 576;
export const MAX_MTU = 65520;

export interface StackConfig {
  subnet: Ipv4Cidr;
  gateway: Ipv4;
  hostIp: Ipv4;
  poolStart: Ipv4;
  poolEnd: Ipv4;
  gatewayMac: Buffer;
  /** IP MTU on the guest link (the Ethernet payload size). */
  mtu: number;
  /** NAT the host address to 127.0.0.1 (off with --no-host-loopback). */
  hostLoopback: boolean;
  /** When set, guest flows only leave for these destinations (a test and lockdown guard). */
  allowEgress?: Ipv4Cidr[];
}

export function buildStackConfig(opts: { subnet?: string; mtu?: number; hostLoopback?: boolean; allowEgress?: string[] }): StackConfig {
  const subnet = parseCidr(opts.subnet ?? DEFAULT_SUBNET);
  if (!subnet) throw new UsageError('HNET_BAD_SUBNET', `--subnet ${opts.subnet} is not an IPv4 CIDR`, ['use a form like 192.168.65.0/24']);
  if (subnet.prefix > 29 || subnet.prefix < 8) {
    throw new UsageError('HNET_BAD_SUBNET', `--subnet ${opts.subnet} must have a prefix between /8 and /29`, ['use a /24 such as 192.168.65.0/24']);
  }
  const mtu = opts.mtu ?? 1500;
  if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
    throw new UsageError('HNET_BAD_MTU', `--mtu ${mtu} is outside ${MIN_MTU}..${MAX_MTU}`, ['use 1500, or up to 65520 for fast local links']);
  }
  const broadcast = (subnet.network | ~prefixMask(subnet.prefix)) >>> 0;
  const allowEgress = opts.allowEgress?.map((text) => {
    const c = parseCidr(text);
    if (!c) throw new UsageError('HNET_BAD_SPEC', `--allow-egress ${text} is not an IPv4 CIDR`, ['use a form like 127.0.0.0/8']);
    return c;
  });
  return {
    subnet,
    gateway: (subnet.network + 1) >>> 0,
    hostIp: (broadcast - 1) >>> 0,
    poolStart: (subnet.network + 2) >>> 0,
    poolEnd: (broadcast - 2) >>> 0,
    gatewayMac: parseMac(GATEWAY_MAC)!,
    mtu,
    hostLoopback: opts.hostLoopback ?? true,
    allowEgress,
  };
}
