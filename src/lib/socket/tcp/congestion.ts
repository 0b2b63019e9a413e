/**
 * Congestion control: slow start and congestion avoidance (RFC 5681 §3.1),
 * fast retransmit on the third duplicate ACK (RFC 5681 §3.2) and NewReno fast
 * recovery with partial ACKs (RFC 6582 §3.2), initial window per RFC 6928.
 * The socket owns the sequence space; this class only decides window sizes and
 * tells the socket when to retransmit. All windows are in bytes.
 */
import { seqGe, seqGt } from './seq.js';

export const DUPACK_THRESHOLD = 3;

export type AckOutcome =
  /** Ordinary new ACK: windows grew per slow start / congestion avoidance. */
  | 'normal'
  /** RFC 6582 §3.2 step 5: partial ACK in recovery, retransmit the first unacknowledged segment. */
  | 'partial'
  /** RFC 6582 §3.2 step 5: full ACK, recovery ended. */
  | 'full';

export class NewReno {
  cwnd: number;
  ssthresh = Number.MAX_SAFE_INTEGER;
  dupAcks = 0;
  inRecovery = false;
  /** RFC 6582 §3.2 "recover": highest sequence sent when recovery began. */
  recover: number;

  constructor(
    private mss: number,
    iss: number,
  ) {
    this.cwnd = NewReno.initialWindow(mss);
    // RFC 6582 §3.2 step 1: recover starts at the initial send sequence number.
    this.recover = iss;
  }

  /** RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)). */
  static initialWindow(mss: number): number {
    return Math.min(10 * mss, Math.max(2 * mss, 14600));
  }

  /** Called once the effective MSS is known (after the handshake). */
  setMss(mss: number): void {
    this.mss = mss;
    this.cwnd = NewReno.initialWindow(mss);
  }

  /**
   * An ACK that advanced SND.UNA by `acked` bytes to `ack`; `flight` is the data
   * outstanding after it.
   */
  onNewAck(acked: number, ack: number, flight: number): AckOutcome {
    this.dupAcks = 0;
    if (this.inRecovery) {
      if (seqGe(ack, this.recover)) {
        // RFC 6582 §3.2 step 5, full acknowledgment: deflate the window,
        // option (1) min(ssthresh, max(FlightSize, SMSS) + SMSS).
        this.inRecovery = false;
        this.cwnd = Math.min(this.ssthresh, Math.max(flight, this.mss) + this.mss);
        return 'full';
      }
      // RFC 6582 §3.2 step 5, partial acknowledgment: deflate by the newly
      // acknowledged data, add back one SMSS if at least one SMSS was acked.
      this.cwnd = Math.max(this.mss, this.cwnd - acked + (acked >= this.mss ? this.mss : 0));
      return 'partial';
    }
    if (this.cwnd < this.ssthresh) {
      // RFC 5681 §3.1 slow start: cwnd += min(N, SMSS) (eq. 2).
      this.cwnd += Math.min(acked, this.mss);
    } else {
      // RFC 5681 §3.1 congestion avoidance: about one SMSS per RTT (eq. 3).
      this.cwnd += Math.max(1, Math.floor((this.mss * this.mss) / this.cwnd));
    }
    return 'normal';
  }

  /**
   * A duplicate ACK (RFC 5681 §2 definition, checked by the caller). Returns
   * true when the caller must fast-retransmit the first unacknowledged segment.
   */
  onDupAck(ack: number, flight: number, sndMax: number): boolean {
    this.dupAcks++;
    if (this.inRecovery) {
      // RFC 6582 §3.2 step 4 / RFC 5681 §3.2 step 4: inflate by one SMSS.
      this.cwnd += this.mss;
      return false;
    }
    if (this.dupAcks !== DUPACK_THRESHOLD) return false;
    // RFC 6582 §3.2 step 2: only enter recovery if the ACK covers more than
    // "recover" (avoids multiple reductions for one window of losses).
    if (!seqGt(ack, this.recover)) return false;
    // RFC 6582 §3.2 step 3 / RFC 5681 §3.2 steps 2-3.
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.mss);
    this.recover = sndMax;
    this.cwnd = this.ssthresh + DUPACK_THRESHOLD * this.mss;
    this.inRecovery = true;
    return true;
  }

  /** Retransmission timeout (RFC 5681 §3.1 eq. 4, RFC 6582 §4 "recover" reset). */
  onTimeout(flight: number, sndMax: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.mss);
    this.cwnd = this.mss;
    this.dupAcks = 0;
    this.inRecovery = false;
    this.recover = sndMax;
  }

  /**
   * RFC 6675 §5 step (4.2): entering SACK-based recovery, ssthresh = cwnd =
   * max(FlightSize / 2, 2 * SMSS) (RFC 5681 eq. 4); cwnd then stays put while
   * the pipe estimate paces transmissions. `recover` guards against a second
   * reduction for the same window of losses.
   */
  enterSackRecovery(flight: number, sndMax: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.recover = sndMax;
    this.dupAcks = 0;
  }

  /** Leaving SACK recovery: continue from ssthresh in congestion avoidance (RFC 5681 §3.2 step 6). */
  exitSackRecovery(): void {
    this.cwnd = Math.max(this.ssthresh, this.mss);
  }
}
