/**
 * ICMP messages the gateway sends to guests: echo replies, destination
 * unreachable and time exceeded (RFC 792). Errors quote the offending
 * datagram's IP header and at least 8 payload bytes (RFC 1812 §4.3.2.3 allows
 * up to 576 bytes in all). Never sent about an ICMP error, a broadcast or a
 * fragment other than the first (RFC 1122 §3.2.2).
 */
import { IpProtocol } from '../wire/ipv4.js';
import { emitIcmpv4, icmpQuote, type Icmpv4Repr } from '../wire/icmpv4.js';
import type { Ipv4 } from '../wire/addr.js';

interface IcmpSender {
  sendIpv4(src: Ipv4, dst: Ipv4, protocol: number, write: (buf: Buffer, offset: number) => number): void;
  counters: { inc(name: string): void };
}

export class IcmpEmitter {
  constructor(private readonly out: IcmpSender) {}

  echoReply(from: Ipv4, to: Ipv4, ident: number, seqNo: number, data: Buffer): void {
    const repr: Icmpv4Repr = { kind: 'echoReply', ident, seqNo, data };
    this.out.sendIpv4(from, to, IpProtocol.ICMP, (buf, off) => emitIcmpv4(repr, buf, off));
  }

  /** Destination unreachable with `code` (RFC 792: 0 net, 1 host, 2 protocol, 3 port; RFC 1812: 13 prohibited). */
  unreachable(guest: Ipv4, from: Ipv4, code: number, offending: Buffer): void {
    if (!this.mayReportOn(offending)) return;
    const repr: Icmpv4Repr = { kind: 'dstUnreachable', code, original: icmpQuote(offending) };
    this.out.counters.inc('icmp.unreachable_sent');
    this.out.sendIpv4(from, guest, IpProtocol.ICMP, (buf, off) => emitIcmpv4(repr, buf, off));
  }

  /** TTL exceeded in transit, from the gateway (traceroute's first hop). */
  timeExceeded(guest: Ipv4, from: Ipv4, offending: Buffer): void {
    if (!this.mayReportOn(offending)) return;
    const repr: Icmpv4Repr = { kind: 'timeExceeded', code: 0, original: icmpQuote(offending) };
    this.out.counters.inc('icmp.time_exceeded_sent');
    this.out.sendIpv4(from, guest, IpProtocol.ICMP, (buf, off) => emitIcmpv4(repr, buf, off));
  }

  /** RFC 1122 §3.2.2: no ICMP error about an ICMP error or a non-initial fragment. */
  private mayReportOn(offending: Buffer): boolean {
    if (offending.length < 20) return false;
    const ihl = (offending[0] & 0x0f) * 4;
    const fragOffset = offending.readUInt16BE(6) & 0x1fff;
    if (fragOffset !== 0) return false;
    if (offending[9] === IpProtocol.ICMP && offending.length > ihl) {
      const type = offending[ihl];
      if (type !== 0 && type !== 8) return false;
    }
    return true;
  }
}
