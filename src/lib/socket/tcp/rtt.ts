/**
 * Retransmission timeout estimator (RFC 6298). Samples come from timestamps
 * (RFC 7323 §4) or from one timed segment at a time (Karn's rule: never from a
 * retransmitted segment, the caller enforces that). The timer backs off
 * exponentially on expiry (RFC 6298 §5.5) and the backoff is cleared by the
 * next valid sample (RFC 6298 §5.7 / Karn). RTO is clamped to [minRto, maxRto];
 * the 200 ms floor follows Linux rather than RFC 6298 §2.4's 1 s.
 */

/** Clock granularity G in ms (RFC 6298 §2). */
const GRANULARITY_MS = 1;
/** RFC 6298 §2: alpha = 1/8, beta = 1/4, K = 4. */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

export class RttEstimator {
  srtt = 0;
  rttvar = 0;
  hasSample = false;
  /** Number of consecutive expiries since the last valid sample. */
  backoff = 0;
  private baseRto: number;

  constructor(
    private readonly minRto: number,
    private readonly maxRto: number,
    initialRto: number,
  ) {
    // RFC 6298 §2.1: until a sample is taken, RTO is the initial value.
    this.baseRto = initialRto;
  }

  /** Feed one round-trip measurement in ms. */
  sample(rtt: number): void {
    if (!(rtt >= 0) || !Number.isFinite(rtt)) return;
    if (!this.hasSample) {
      // RFC 6298 §2.2: first measurement.
      this.srtt = rtt;
      this.rttvar = rtt / 2;
      this.hasSample = true;
    } else {
      // RFC 6298 §2.3: RTTVAR is updated before SRTT.
      this.rttvar = (1 - BETA) * this.rttvar + BETA * Math.abs(this.srtt - rtt);
      this.srtt = (1 - ALPHA) * this.srtt + ALPHA * rtt;
    }
    this.baseRto = this.srtt + Math.max(GRANULARITY_MS, K * this.rttvar);
    this.backoff = 0;
  }

  /** The current timeout including backoff, clamped (RFC 6298 §2.4, §2.5, §5.5). */
  get rto(): number {
    const base = Math.min(this.maxRto, Math.max(this.minRto, this.baseRto));
    return Math.min(this.maxRto, base * 2 ** Math.min(this.backoff, 30));
  }

  /** RFC 6298 §5.5: double the timer on expiry. */
  onTimeout(): void {
    this.backoff++;
  }
}
