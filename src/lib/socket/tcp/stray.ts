/**
 * Replies to segments that match no connection (RFC 9293 §3.10.7.1, "If the
 * state is CLOSED"): never answer an RST; answer an ACK-bearing segment with
 * <SEQ=SEG.ACK><CTL=RST>; answer anything else with
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, where SEG.LEN counts SYN and FIN.
 * The reply swaps the ports; the caller swaps the addresses.
 */
import { TcpFlags, type TcpRepr } from '../../wire/tcp.js';
import { seqAdd } from './seq.js';

/** The RST answering `seg`, or null when no reply is due (seg is itself an RST). */
export function rstForUnexpected(seg: TcpRepr): TcpRepr | null {
  if (seg.flags & TcpFlags.RST) return null;
  const base = { srcPort: seg.dstPort, dstPort: seg.srcPort, window: 0, urgent: 0, options: {}, payload: Buffer.alloc(0) };
  if (seg.flags & TcpFlags.ACK) {
    return { ...base, seq: seg.ack >>> 0, ack: 0, flags: TcpFlags.RST };
  }
  const len = seg.payload.length + (seg.flags & TcpFlags.SYN ? 1 : 0) + (seg.flags & TcpFlags.FIN ? 1 : 0);
  return { ...base, seq: 0, ack: seqAdd(seg.seq, len), flags: TcpFlags.RST | TcpFlags.ACK };
}
