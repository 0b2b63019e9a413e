/**
 * The transmission control block of one TCP connection: every field of RFC
 * 9293 §3.3.1, the timer deadlines, the loss-recovery state (RFC 5681/6582
 * congestion.ts, RFC 6675 recovery.ts, RFC 8985 §7 tlp.ts), the single
 * `setState()` through which all state changes go, and the callback events.
 * The output half (timers firing, `dispatch()`) is output.ts; the input half
 * (segment arrival, RFC 9293 §3.10.7) and the application API are socket.ts.
 *
 * Sans-IO: the clock is the `now` argument (ms); there are no timers and no I/O.
 */
import { NewReno } from './congestion.js';
import { SackRecovery } from './recovery.js';
import { ReceiveBuffer } from './recv-buffer.js';
import { RttEstimator } from './rtt.js';
import { SackScoreboard } from './sack.js';
import { SendQueue } from './send-queue.js';
import { TailLossProbe } from './tlp.js';
import { type CloseReason, type Endpoint, type ResolvedConfig, TcpState, type TcpStats } from './types.js';

/** Pending callback bits, fired in this order after each entry point. */
export const Ev = { ESTABLISHED: 1, READABLE: 2, PEER_FIN: 4, SEND_SPACE: 8, RESET: 16, CLOSED: 32 } as const;

export abstract class TcpConnection {
  private st: TcpState = TcpState.CLOSED;
  private reason: CloseReason | undefined;
  readonly stats: TcpStats = {
    segmentsIn: 0, segmentsOut: 0, bytesIn: 0, bytesOut: 0, retransmits: 0, fastRetransmits: 0,
    timeouts: 0, lossProbes: 0, sackRecoveries: 0, lostRetransmits: 0, dupAcksIn: 0, challengeAcks: 0, dropped: 0,
  };

  onEstablished?: () => void;
  onReadable?: () => void;
  onPeerFin?: () => void;
  onSendSpace?: () => void;
  onReset?: () => void;
  onClosed?: () => void;

  // Send sequence variables (RFC 9293 §3.3.1). sndMax is the highest sequence
  // ever sent; sndNxt moves back to sndUna on a retransmission timeout.
  protected readonly iss: number;
  /** Added to `now` for our TSval (RFC 7323 §5.4). */
  protected readonly tsOffset: number;
  protected sndUna: number;
  protected sndNxt: number;
  protected sndMax: number;
  protected sndWnd = 0;
  protected sndWl1 = 0;
  protected sndWl2 = 0;
  protected maxSndWnd = 0;
  /** Peer's window shift (applied to windows it sends) and ours (RFC 7323 §2). */
  protected sndShift = 0;
  protected rcvShift = 0;
  protected peerMss = 536;
  protected tsOn = false;
  protected sackOn = false;
  protected tsRecent = 0;
  protected lastAckSent = 0;

  // Receive sequence variables; rcvAdvEdge is RCV.NXT + RCV.WND as last advertised.
  protected irs = 0;
  protected rcvNxt = 0;
  protected rcvAdvEdge = 0;
  protected rcvMssSeen = 536;
  protected peerFinSeq = -1;
  protected lastOooSeq = 0;
  /** True when the peer's SYN carried a window scale option (set by the input side). */
  protected sndShiftOffered = false;

  protected readonly rq: ReceiveBuffer;
  protected readonly sq = new SendQueue();
  protected readonly sb = new SackScoreboard();
  protected readonly lr = new SackRecovery(this.sb);
  protected readonly tlp = new TailLossProbe();
  protected readonly rtt: RttEstimator;
  protected readonly cc: NewReno;
  protected finQueued = false;
  protected finAcked = false;
  protected sendBlocked = false;

  // Timers: plain deadlines, Infinity when unarmed.
  protected rtoAt = Infinity;
  protected delayedAckAt = Infinity;
  protected timeWaitAt = Infinity;
  protected retries = 0;
  protected rttTiming = false;
  protected rttSeq = 0;
  protected rttTime = 0;

  // Output requests.
  protected ackNow = false;
  protected fastRtx = false;
  protected forceOne = false;
  protected rstPending = false;
  protected rstSeq = 0;
  protected rstAck = 0;
  protected rstFlags = 0;
  protected challengeStart = -Infinity;
  protected challengeCount = 0;
  protected events = 0;
  private flushing = false;
  protected lastNow = 0;

  protected constructor(
    readonly local: Endpoint,
    readonly remote: Endpoint,
    protected readonly cfg: ResolvedConfig,
    conn: { iss: number; tsOffset: number },
  ) {
    this.iss = conn.iss;
    this.tsOffset = conn.tsOffset;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.rtt = new RttEstimator(cfg.minRtoMs, cfg.maxRtoMs, cfg.initialRtoMs);
    this.cc = new NewReno(Math.min(cfg.mss, 536), this.iss);
    // Enough out-of-order entries for a window of minimum-size segments, bounded.
    this.rq = new ReceiveBuffer(Math.min(4096, Math.ceil(cfg.rcvBuf / 536) + 16));
  }

  /** The RFC 9293 state; it changes only through setState(). */
  get state(): TcpState {
    return this.st;
  }

  /** When TIME-WAIT began (or last restarted, §3.10.7.4 eighth); NaN in any other state. */
  get timeWaitSince(): number {
    return this.st === TcpState.TIME_WAIT ? this.timeWaitAt - this.cfg.timeWaitMs : NaN;
  }

  /** Why the connection reached CLOSED; undefined before that. */
  get closeReason(): CloseReason | undefined {
    return this.reason;
  }

  /** Current retransmission timeout in ms (RFC 6298, with backoff). */
  get rto(): number {
    return this.rtt.rto;
  }

  /** Congestion window in bytes (RFC 5681). */
  get cwnd(): number {
    return this.cc.cwnd;
  }

  /** Payload bytes per segment we send, before options (RFC 9293 §3.7.1). */
  get sendMss(): number {
    return Math.min(this.cfg.mss, this.peerMss);
  }

  /** Unread in-order bytes waiting for read(). */
  get readableBytes(): number {
    return this.rq.unread;
  }

  /** Queued bytes not yet acknowledged by the peer. */
  get queuedBytes(): number {
    return this.sq.length;
  }

  /** The peer's send window as last advertised, scaled (bytes). */
  get peerWindow(): number {
    return this.sndWnd;
  }

  /** Sequence-space diagnostics for tests and /v1/connections. */
  get seqState(): { iss: number; irs: number; sndUna: number; sndNxt: number; sndMax: number; rcvNxt: number } {
    return { iss: this.iss, irs: this.irs, sndUna: this.sndUna, sndNxt: this.sndNxt, sndMax: this.sndMax, rcvNxt: this.rcvNxt };
  }

  /** True in states where the connection is synchronized (RFC 9293 §3.5). */
  protected get synchronized(): boolean {
    const s = this.state;
    return s !== TcpState.CLOSED && s !== TcpState.LISTEN && s !== TcpState.SYN_SENT && s !== TcpState.SYN_RECEIVED;
  }

  protected drop(reason: string): void {
    this.stats.dropped++;
    this.cfg.counters?.drop(`tcp_${reason}`);
  }

  /**
   * The only place the state changes. Each target state names the RFC 9293
   * rule that leads there; a transition outside that table is a bug and is
   * counted as drop.tcp_illegal_transition (never thrown into the data path).
   */
  protected setState(now: number, next: TcpState, reason: CloseReason = 'normal'): void {
    const prev = this.state;
    const S = TcpState;
    let legal: boolean;
    switch (next) {
      case S.LISTEN:
        // §3.10.1 OPEN (passive): here, a guest SYN held before the NAT decides.
        legal = prev === S.CLOSED;
        break;
      case S.SYN_SENT:
        // §3.10.1 OPEN (active): send SYN, enter SYN-SENT.
        legal = prev === S.CLOSED;
        break;
      case S.SYN_RECEIVED:
        // §3.10.7.2 LISTEN + SYN (our accept()), or §3.10.7.3 SYN-SENT + SYN
        // without ACK (simultaneous open).
        legal = prev === S.LISTEN || prev === S.SYN_SENT;
        break;
      case S.ESTABLISHED:
        // §3.10.7.3 SYN-SENT + acceptable SYN-ACK; §3.10.7.4 fifth (SYN-RECEIVED + acceptable ACK).
        legal = prev === S.SYN_SENT || prev === S.SYN_RECEIVED;
        if (legal) this.events |= Ev.ESTABLISHED;
        break;
      case S.FIN_WAIT_1:
        // §3.10.4 CLOSE in ESTABLISHED: queue FIN after pending data, enter FIN-WAIT-1.
        legal = prev === S.ESTABLISHED;
        break;
      case S.FIN_WAIT_2:
        // §3.10.7.4 fifth, FIN-WAIT-1: our FIN is acknowledged.
        legal = prev === S.FIN_WAIT_1;
        break;
      case S.CLOSING:
        // §3.10.7.4 eighth, FIN-WAIT-1: peer FIN before our FIN is acknowledged (simultaneous close).
        legal = prev === S.FIN_WAIT_1;
        break;
      case S.TIME_WAIT:
        // §3.10.7.4 eighth (FIN in FIN-WAIT-2, or in FIN-WAIT-1 with our FIN acked) and
        // fifth (CLOSING + our FIN acked). Wait 2*MSL (§3.4.2) before CLOSED.
        legal = prev === S.FIN_WAIT_1 || prev === S.FIN_WAIT_2 || prev === S.CLOSING;
        this.timeWaitAt = now + this.cfg.timeWaitMs;
        this.rtoAt = Infinity;
        break;
      case S.CLOSE_WAIT:
        // §3.10.7.4 eighth: peer FIN in SYN-RECEIVED or ESTABLISHED.
        legal = prev === S.ESTABLISHED || prev === S.SYN_RECEIVED;
        break;
      case S.LAST_ACK:
        // §3.10.4 CLOSE in CLOSE-WAIT: send FIN after pending data, enter LAST-ACK.
        legal = prev === S.CLOSE_WAIT;
        break;
      case S.CLOSED:
        // §3.10.7.4 fifth (LAST-ACK acked), TIME-WAIT expiry (§3.10.8), RST
        // (§3.10.7.3, §3.10.7.4 second), ABORT (§3.10.5), user timeout (§3.10.8).
        legal = prev !== S.CLOSED;
        if (legal) {
          this.reason = reason;
          this.rtoAt = this.delayedAckAt = this.timeWaitAt = Infinity;
          this.ackNow = this.fastRtx = false;
          this.events |= Ev.CLOSED | (reason === 'reset' || reason === 'timeout' ? Ev.RESET : 0);
        }
        break;
      default:
        legal = false;
    }
    if (!legal) {
      this.cfg.counters?.drop('tcp_illegal_transition');
      if (prev === next) return;
    }
    this.st = next;
  }

  /**
   * Fire pending callbacks (after the socket's state is consistent). onClosed
   * waits while an RST is still to be dispatched, so an owner that drops the
   * socket on onClosed never loses the RST of abort() or of a give-up.
   */
  protected flushEvents(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while ((this.events & ~(this.rstPending ? Ev.CLOSED : 0)) !== 0) {
        const e = this.rstPending ? this.events & ~Ev.CLOSED : this.events;
        this.events &= ~e;
        if (e & Ev.ESTABLISHED) this.onEstablished?.();
        if (e & Ev.READABLE) this.onReadable?.();
        if (e & Ev.PEER_FIN) this.onPeerFin?.();
        if (e & Ev.SEND_SPACE) this.onSendSpace?.();
        if (e & Ev.RESET) this.onReset?.();
        if (e & Ev.CLOSED) this.onClosed?.();
      }
    } finally {
      this.flushing = false;
    }
  }

  protected queueRst(seq: number, ack: number, flags: number): void {
    this.rstPending = true;
    this.rstSeq = seq >>> 0;
    this.rstAck = ack >>> 0;
    this.rstFlags = flags;
  }

  /** RFC 5961 §7: at most `challengeAckLimit` challenge ACKs per second. */
  protected challengeAck(now: number): void {
    if (now - this.challengeStart >= 1000) {
      this.challengeStart = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount < this.cfg.challengeAckLimit) {
      this.challengeCount++;
      this.stats.challengeAcks++;
      this.ackNow = true;
    } else {
      this.drop('challenge_ack_limited');
    }
  }
}
