/**
 * Tail loss probe timer (RFC 8985 §7), sans-IO. When data is outstanding
 * and no ACK arrives for about two round trips, the socket sends one probe -
 * new data if the receive window allows, else the last segment again - so
 * that a loss at the tail of a flight is reported by SACK (and repaired by
 * RFC 6675 recovery) instead of waiting for the retransmission timeout and
 * collapsing cwnd to one segment. The socket decides when the probe is
 * allowed (SACK negotiated, not in recovery, not after an RTO rewind); this
 * class computes the PTO and remembers the probe in flight.
 */

/** RFC 8985 §7.2 WCDelAckT: worst-case delayed ACK when only one segment is in flight. */
export const WORST_CASE_DELAYED_ACK_MS = 200;
/** Floor on the PTO so a sub-millisecond SRTT does not probe every turn (Linux: TCP_TIMEOUT_MIN). */
export const MIN_PTO_MS = 2;

export class TailLossProbe {
  /** PTO deadline; Infinity when unarmed. */
  at = Infinity;
  /** The timer expired: the socket sends one probe on its next dispatch. */
  due = false;
  /** A probe was sent and no ACK has arrived since (RFC 8985 §7.3: one probe per episode). */
  outstanding = false;
  /** First sequence number of the probe in flight. */
  probeSeq = 0;

  /**
   * RFC 8985 §7.2: PTO = 2 * SRTT, plus WCDelAckT when only one segment is in
   * flight, never later than the pending RTO (then the RTO alone handles it).
   * Without an RTT sample there is no probe.
   */
  arm(now: number, srtt: number, hasSample: boolean, rtoAt: number, flight: number, smss: number): void {
    this.at = Infinity;
    if (!hasSample || this.outstanding) return;
    let pto = Math.max(MIN_PTO_MS, 2 * srtt);
    if (flight <= smss) pto += WORST_CASE_DELAYED_ACK_MS;
    if (now + pto < rtoAt) this.at = now + pto;
  }

  /** The PTO fired (the caller checks the probe is still wanted). */
  fire(): void {
    this.at = Infinity;
    this.due = true;
  }

  /** RFC 8985 §7.3: a probe starting at `seq` went out. */
  sent(seq: number): void {
    this.due = false;
    this.outstanding = true;
    this.probeSeq = seq;
  }

  /** Recovery, an RTO or the end of the connection takes over. */
  cancel(): void {
    this.at = Infinity;
    this.due = false;
    this.outstanding = false;
  }
}
