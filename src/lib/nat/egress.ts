/**
 * Where a guest flow goes on the host. The host address (.254) is NAT to the
 * host's 127.0.0.1 (DESIGN §1) unless --no-host-loopback; every other address
 * is itself. With --allow-egress, destinations outside the list are refused:
 * tests use it so a guest packet can never leave the machine.
 */
import { cidrContains, ipv4ToString, prefixMask, type Ipv4 } from '../wire/addr.js';
import type { StackConfig } from '../iface/config.js';

export const LOOPBACK: Ipv4 = 0x7f000001;

export type EgressDecision = { ok: true; hostAddress: string } | { ok: false; reason: 'host_loopback_off' | 'egress_denied' | 'martian' };

export function egressFor(cfg: StackConfig, dst: Ipv4): EgressDecision {
  if (dst === cfg.hostIp) {
    return cfg.hostLoopback ? { ok: true, hostAddress: '127.0.0.1' } : { ok: false, reason: 'host_loopback_off' };
  }
  // 0/8, 127/8 (reached only through the host address), multicast, broadcast and the guest subnet itself never become host sockets.
  const broadcast = (cfg.subnet.network | ~prefixMask(cfg.subnet.prefix)) >>> 0;
  if (dst >>> 24 === 0 || dst >>> 24 === 127 || dst >>> 28 === 0xe || dst === 0xffffffff || dst === broadcast || cidrContains(cfg.subnet, dst)) {
    return { ok: false, reason: 'martian' };
  }
  if (cfg.allowEgress && !cfg.allowEgress.some((c) => cidrContains(c, dst))) return { ok: false, reason: 'egress_denied' };
  return { ok: true, hostAddress: ipv4ToString(dst) };
}

/** Map a host-side source address back to what the guest should see. */
export function guestViewOf(cfg: StackConfig, hostAddress: string): string {
  return hostAddress === '127.0.0.1' && cfg.hostLoopback ? ipv4ToString(cfg.hostIp) : hostAddress;
}
