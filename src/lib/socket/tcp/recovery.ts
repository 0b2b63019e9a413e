/**
 * SACK-based loss recovery (RFC 6675) with lost-retransmission detection in
 * the spirit of RACK (RFC 8985 §6.2), for connections whose peer negotiated
 * SACK. The socket keeps the sequence space and emits; this class decides
 * which octets are lost, how much is in the network (pipe) and which segment
 * goes next (NextSeg). It holds no clock and sends nothing itself.
 *
 * Terms (RFC 6675 §2): HighACK = SND.UNA, HighData = SND.MAX, HighRxt here
 * is one past the highest octet retransmitted by rules (1)/(3), RecoveryPoint
 * is SND.MAX when recovery began (recovery ends once SND.UNA reaches it).
 *
 * Lost octets are: every unSACKed octet below `lostEnd()` - the RFC 6675 §4
 * IsLost boundary from the scoreboard, raised by the entry retransmission
 * (§5 step 4.3), by a delivered tail loss probe (RFC 8985 §7.4: data sent
 * before a delivered probe is lost) and by retransmissions found lost again -
 * plus the ranges of retransmissions found lost again (`relost`).
 *
 * A retransmission is lost again (RFC 8985 §6.2, in sequence terms rather
 * than with per-segment send times) when data sent after it was delivered:
 * either more than (DupThresh - 1) * SMSS bytes above SND.MAX-at-retransmission
 * were SACKed, or a later retransmission was fully SACKed while it was not.
 */
import { DUPACK_THRESHOLD } from './congestion.js';
import type { SackScoreboard } from './sack.js';
import { seqAdd, seqGt, seqLe, seqLt, seqMax, seqSub } from './seq.js';

/** What NextSeg chose (RFC 6675 §4). */
export const NextSeg = {
  /** Rule (5): nothing may be sent. */
  NONE: 0,
  /** A lost retransmission, sent again (RFC 8985 §6.2). */
  RELOST: 1,
  /** Rule (1): the first lost octet above HighRxt. */
  LOST: 2,
  /** Rule (2): previously unsent data at HighData; the socket picks its length. */
  NEW: 3,
  /** Rule (3): unSACKed data above HighRxt, not yet deemed lost. */
  UNSACKED: 4,
  /** Rule (4): the one rescue retransmission per recovery episode. */
  RESCUE: 5,
} as const;
export type NextSeg = (typeof NextSeg)[keyof typeof NextSeg];

interface Retransmission {
  start: number;
  end: number;
  /** SND.MAX when it was sent: data from here on was sent after it. */
  high: number;
  order: number;
}

export class SackRecovery {
  active = false;
  recoveryPoint = 0;
  /** RFC 6675 §5 DupAcks: duplicate ACKs since SND.UNA last advanced. */
  dupAcks = 0;
  /** Something may be sendable: the socket should run the recovery send loop. */
  kick = false;
  /** Step 4.3 retransmission not sent yet: it goes out regardless of cwnd - pipe. */
  entryPending = false;
  /** Output of nextSeg() for every kind but NEW. */
  outSeq = 0;
  outLen = 0;

  private highRxt = 0;
  private rescueRxt = 0;
  private rescueSet = false;
  /** Whether forcedLost (a boundary raised beyond the scoreboard's) is set. */
  private forced = false;
  private forcedLost = 0;
  private order = 0;
  private rtx: Retransmission[] = [];
  /** Flat [left, right, ...] of retransmissions found lost again, in order found. */
  private relost: number[] = [];

  constructor(private readonly sb: SackScoreboard) {}

  /** One past the highest lost octet (see the module comment); `una` when none. */
  lostEnd(una: number, smss: number): number {
    const sacked = this.sb.lostBoundary(una, DUPACK_THRESHOLD, smss);
    if (!this.forced) return sacked;
    if (seqLe(this.forcedLost, una)) {
      this.forced = false;
      return sacked;
    }
    return seqMax(this.forcedLost, sacked);
  }

  /** RFC 8985 §7.4: a delivered probe at `probeSeq` shows everything unSACKed below it lost. */
  markLostBelow(una: number, seq: number): void {
    if (!seqGt(seq, una)) return;
    if (!this.forced || seqGt(seq, this.forcedLost)) this.forcedLost = seq;
    this.forced = true;
  }

  /**
   * RFC 6675 §5 steps (2)-(3): enter recovery on DupThresh duplicate ACKs or
   * when IsLost(HighACK + 1). The caller checks the RFC 6582-style guard
   * against a second reduction for the same losses.
   */
  shouldEnter(una: number, sndMax: number, smss: number): boolean {
    if (this.active || una === sndMax) return false;
    return this.dupAcks >= DUPACK_THRESHOLD || seqGt(this.lostEnd(una, smss), una);
  }

  /** RFC 6675 §5 step (4): RecoveryPoint = HighData, retransmit from HighACK first. */
  enter(una: number, sndMax: number): void {
    this.active = true;
    this.recoveryPoint = sndMax;
    this.highRxt = una;
    this.rescueSet = false;
    this.entryPending = true;
    this.kick = true;
    this.markLostBelow(una, seqAdd(una, 1));
    this.rtx.length = 0;
    this.relost.length = 0;
  }

  /** RFC 6675 §5 (A) (ACK at or above RecoveryPoint), or an RTO (§5.1): leave recovery. */
  exit(): void {
    this.active = false;
    this.entryPending = false;
    this.dupAcks = 0;
    this.rtx.length = 0;
    this.relost.length = 0;
    this.forced = false;
  }

  /** Record a retransmission of [start, end) sent while SND.MAX was `high`. */
  record(kind: NextSeg, start: number, end: number, high: number): void {
    this.rtx.push({ start, end, high, order: ++this.order });
    if (kind === NextSeg.LOST || kind === NextSeg.UNSACKED) this.highRxt = seqMax(this.highRxt, end);
    if (kind === NextSeg.RESCUE) {
      // Rule (4): RescueRxt = RecoveryPoint, HighRxt stays.
      this.rescueRxt = this.recoveryPoint;
      this.rescueSet = true;
    }
    if (this.entryPending) {
      // Step 4.3: HighRxt and RescueRxt = the highest octet of the first retransmission.
      this.entryPending = false;
      this.rescueRxt = end;
      this.rescueSet = true;
    }
  }

  /**
   * After the scoreboard took an ACK in recovery: forget delivered
   * retransmissions and mark lost again those sent before delivered data
   * (RFC 8985 §6.2). Returns true when some were found.
   */
  detectRelost(una: number, sndMax: number, smss: number): boolean {
    const list = this.rtx;
    let delivered = -1;
    let w = 0;
    for (let i = 0; i < list.length; i++) {
      const r = list[i];
      const from = seqMax(r.start, una);
      if (!seqLt(from, r.end) || this.sb.sackedIn(from, r.end) === seqSub(r.end, from)) {
        if (r.order > delivered) delivered = r.order;
        continue;
      }
      list[w++] = r;
    }
    list.length = w;
    let found = false;
    w = 0;
    for (let i = 0; i < list.length; i++) {
      const r = list[i];
      const later = seqLt(r.high, sndMax) ? this.sb.sackedIn(r.high, sndMax) : 0;
      if (r.order < delivered || later > (DUPACK_THRESHOLD - 1) * smss) {
        this.relost.push(seqMax(r.start, una), r.end);
        // Everything sent before r and still unSACKed below it is lost as well.
        this.markLostBelow(una, r.end);
        found = true;
        continue;
      }
      list[w++] = r;
    }
    list.length = w;
    if (found) this.kick = true;
    return found;
  }

  /**
   * RFC 6675 §4 SetPipe: unSACKed octets in [HighACK, HighData) not deemed
   * lost, plus unSACKed octets of retransmissions still in flight.
   */
  pipe(una: number, sndMax: number, smss: number): number {
    const lost = this.lostEnd(una, smss);
    let n = 0;
    if (seqLt(lost, sndMax)) n += seqSub(sndMax, lost) - this.sb.sackedIn(lost, sndMax);
    for (const r of this.rtx) {
      const from = seqMax(r.start, una);
      if (seqLt(from, r.end)) n += seqSub(r.end, from) - this.sb.sackedIn(from, r.end);
    }
    return n;
  }

  /**
   * RFC 6675 §4 NextSeg: the next range to send, in outSeq/outLen (at most
   * `smss` octets, never SACKed ones). `canSendNew`: the socket has unsent
   * data the receiver's window allows (rule 2).
   */
  nextSeg(una: number, sndMax: number, smss: number, canSendNew: boolean): NextSeg {
    // Lost retransmissions first: they are the oldest losses (RFC 8985 §6.2).
    const rl = this.relost;
    while (rl.length > 0) {
      const l = this.sb.skip(seqMax(rl[0], una));
      const r = rl[1];
      if (!seqLt(l, r)) {
        rl.splice(0, 2);
        continue;
      }
      this.take(l, r, smss);
      rl[0] = seqAdd(this.outSeq, this.outLen);
      return NextSeg.RELOST;
    }
    const top = this.sb.highestSacked(una);
    const s = this.sb.skip(seqMax(this.highRxt, una));
    // Rule (1): S2 > HighRxt, below the highest SACKed octet, IsLost(S2).
    if ((seqLt(s, top) || this.entryPending) && seqLt(s, this.lostEnd(una, smss)) && seqLt(s, sndMax)) {
      this.take(s, sndMax, smss);
      return NextSeg.LOST;
    }
    // Rule (2): new data.
    if (canSendNew) return NextSeg.NEW;
    // Rule (3): unSACKed, above HighRxt, below the highest SACKed octet.
    if (seqLt(s, top)) {
      this.take(s, top, smss);
      return NextSeg.UNSACKED;
    }
    // Rule (4): one rescue retransmission of the highest unSACKed octet.
    if (!this.rescueSet || seqGt(una, this.rescueRxt)) {
      const end = seqLt(top, sndMax) ? sndMax : this.sb.lastHoleEnd(una);
      if (seqGt(end, una)) {
        const start = seqMax(this.sb.holeStartBelow(end, una), seqSub(end, Math.min(smss, seqSub(end, una))));
        this.outSeq = start;
        this.outLen = seqSub(end, start);
        return NextSeg.RESCUE;
      }
    }
    return NextSeg.NONE;
  }

  /** One segment from `seq`: up to `smss` octets, stopping at the next SACKed block or `limit`. */
  private take(seq: number, limit: number, smss: number): void {
    const end = this.sb.holeEnd(seq, limit);
    this.outSeq = seq;
    this.outLen = Math.min(smss, seqSub(end, seq));
  }
}
