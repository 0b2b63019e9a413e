/**
 * The transmission control block of one TCP connection and its output half:
 * every field of RFC 9293 §3.3.1, the single `setState()` through which all
 * state changes go, the timers (retransmission per RFC 6298, persist per RFC
 * 9293 §3.8.6.1 folded into the same backed-off deadline, delayed ACK per
 * RFC 9293 §3.8.6.3, TIME-WAIT per §3.4.2) and `dispatch()`, which emits every
 * segment due now. Loss recovery is RFC 6675 (recovery.ts) with tail loss
 * probes (RFC 8985 §7, tlp.ts) when SACK was negotiated, NewReno (RFC 6582,
 * congestion.ts) otherwise. The input half (segment arrival, RFC 9293 §3.10.7) and the
 * application API live in socket.ts, which extends this class.
 *
 * Sans-IO: the clock is the `now` argument (ms); there are no timers, no I/O
 * and no allocation per emitted segment (one reused TcpRepr, one scratch
 * buffer for segments that straddle two queued chunks).
 */
import { TcpFlags, type TcpOptions, type TcpRepr, type TcpTimestamps } from '../../wire/tcp.js';
import { NewReno } from './congestion.js';
import { NextSeg, SackRecovery } from './recovery.js';
import { ReceiveBuffer } from './recv-buffer.js';
import { RttEstimator } from './rtt.js';
import { SackScoreboard } from './sack.js';
import { SendQueue } from './send-queue.js';
import { seqAdd, seqGe, seqGt, seqLt, seqMax, seqSub } from './seq.js';
import { TailLossProbe } from './tlp.js';
import { type CloseReason, type Endpoint, type ResolvedConfig, TcpState, type TcpStats, windowShiftFor } from './types.js';

const EMPTY = Buffer.alloc(0);

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

  // Reused output objects.
  private readonly out: TcpRepr;
  private readonly outOpts: TcpOptions = {};
  private readonly outTs: TcpTimestamps = { tsVal: 0, tsEcr: 0 };
  private readonly sackPool: Array<[number, number]> = [[0, 0], [0, 0], [0, 0], [0, 0]];
  private readonly sackList: Array<[number, number]> = [];
  private readonly scratch: Buffer;

  protected constructor(
    readonly local: Endpoint,
    readonly remote: Endpoint,
    protected readonly cfg: ResolvedConfig,
  ) {
    this.iss = cfg.iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.rtt = new RttEstimator(cfg.minRtoMs, cfg.maxRtoMs, cfg.initialRtoMs);
    this.cc = new NewReno(Math.min(cfg.mss, 536), this.iss);
    this.scratch = Buffer.allocUnsafe(cfg.mss);
    // Enough out-of-order entries for a window of minimum-size segments, bounded.
    this.rq = new ReceiveBuffer(Math.min(4096, Math.ceil(cfg.rcvBuf / 536) + 16));
    this.out = {
      srcPort: local.port, dstPort: remote.port, seq: 0, ack: 0, flags: 0, window: 0, urgent: 0,
      options: this.outOpts, payload: EMPTY,
    };
  }

  /** The RFC 9293 state; it changes only through setState(). */
  get state(): TcpState {
    return this.st;
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

  /** Sequence number one past the last queued data byte (where our FIN goes). */
  protected get dataEnd(): number {
    return seqAdd(this.sndUna, this.sq.length);
  }

  /** When dispatch() must next run: a time <= now means "now"; Infinity when idle. */
  pollAt(): number {
    if (this.rstPending) return this.lastNow;
    const s = this.state;
    if (s === TcpState.CLOSED || s === TcpState.LISTEN) return Infinity;
    if (s === TcpState.SYN_SENT || s === TcpState.SYN_RECEIVED) {
      if (this.sndNxt === this.iss) return this.lastNow;
    } else if (this.ackNow || this.fastRtx || this.tlp.due || (this.lr.active ? this.lr.kick : this.planSegment() >= 0)) {
      return this.lastNow;
    } else if (this.rtoAt === Infinity && this.sndWnd === 0 && seqLt(this.sndNxt, this.dataEnd)) {
      return this.lastNow; // dispatch() arms the persist timer
    }
    return Math.min(this.rtoAt, this.delayedAckAt, this.timeWaitAt, this.tlp.at);
  }

  /** Emit every segment due at `now`. Segments (and their payload views) are valid only during `emit`. */
  dispatch(now: number, emit: (seg: TcpRepr) => void): void {
    this.lastNow = now;
    this.fireTimers(now);
    if (this.rstPending) {
      this.rstPending = false;
      this.emitControl(this.rstSeq, this.rstAck, this.rstFlags, 0, emit);
    }
    const s = this.state;
    if (s === TcpState.SYN_SENT || s === TcpState.SYN_RECEIVED) {
      if (this.sndNxt === this.iss) this.emitSyn(now, emit);
    } else if (this.synchronized) {
      this.sendData(now, emit);
      // A bare ACK carries SND.MAX, not a rewound SND.NXT: a sequence number
      // below the peer's RCV.NXT would make it unacceptable and its ACK ignored
      // (RFC 9293 §3.10.7.4 first check), deadlocking two rewound senders.
      if (this.ackNow) this.emitData(now, this.sndMax, 0, false, emit);
    }
    this.flushEvents();
  }

  private fireTimers(now: number): void {
    if (this.timeWaitAt <= now) {
      // RFC 9293 §3.10.8: the time-wait timeout deletes the TCB.
      this.setState(now, TcpState.CLOSED, 'normal');
    }
    if (this.delayedAckAt <= now) {
      this.delayedAckAt = Infinity;
      this.ackNow = true;
    }
    if (this.rtoAt <= now) this.onRetransmitTimeout(now);
    else if (this.tlp.at <= now) this.tlp.fire();
  }

  private onRetransmitTimeout(now: number): void {
    this.rtoAt = Infinity;
    // RFC 6675 §5.1: a timeout ends SACK recovery; go-back-N below skips SACKed data.
    this.tlp.cancel();
    if (this.lr.active) this.lr.exit();
    const s = this.state;
    if (s === TcpState.CLOSED || s === TcpState.LISTEN || s === TcpState.TIME_WAIT) return;
    const outstanding = this.sndMax !== this.sndUna;
    const probing = this.sndWnd === 0 && seqLt(this.sndNxt, this.dataEnd);
    if (!outstanding && !probing) return;
    const handshake = s === TcpState.SYN_SENT || s === TcpState.SYN_RECEIVED;
    this.retries++;
    this.stats.timeouts++;
    if (this.retries > (handshake ? this.cfg.maxSynRetries : this.cfg.maxRetries)) {
      // RFC 9293 §3.8.3 R2: give up; we reset the peer and report.
      if (!handshake || s === TcpState.SYN_RECEIVED) this.queueRst(this.sndMax, 0, TcpFlags.RST);
      this.setState(now, TcpState.CLOSED, 'timeout');
      return;
    }
    // RFC 6298 §5.5-5.6: back off, retransmit the earliest unacknowledged segment.
    this.rtt.onTimeout();
    // A zero window turns the expiry into a persist probe, which signals no congestion.
    if (this.sndWnd > 0) {
      this.cc.onTimeout(seqSub(this.sndMax, this.sndUna), this.sndMax);
      // RFC 2018 §8: the receiver may have reneged; after a second timeout ignore the board.
      if (this.retries >= 2) this.sb.clear();
    }
    this.sndNxt = this.sndUna;
    this.rttTiming = false;
    this.fastRtx = false;
    this.forceOne = true;
  }

  /**
   * The length of the next segment sendData would send at sndNxt (0 = a bare
   * FIN), or -1 if nothing may be sent now. Advances sndNxt over SACKed data
   * when retransmitting (RFC 2018 §5: don't resend what the peer holds).
   */
  protected planSegment(): number {
    if (seqLt(this.sndNxt, this.sndMax)) {
      const skipped = this.sb.skip(this.sndNxt);
      this.sndNxt = seqLt(skipped, this.sndMax) ? skipped : this.sndMax;
    }
    const dataEnd = this.dataEnd;
    const avail = seqGt(dataEnd, this.sndNxt) ? seqSub(dataEnd, this.sndNxt) : 0;
    if (avail === 0) return this.finQueued && this.sndNxt === dataEnd && !this.finAcked ? 0 : -1;
    const flight = seqSub(this.sndNxt, this.sndUna);
    const usable = Math.min(this.cc.cwnd, this.sndWnd) - flight;
    let len = Math.min(avail, this.maxPayload());
    if (seqLt(this.sndNxt, this.sndMax)) len = Math.min(len, seqSub(this.sb.holeEnd(this.sndNxt, this.sndMax), this.sndNxt));
    if (usable >= len) return len;
    // Forced by a timeout: retransmit, or probe a zero window with one byte (RFC 9293 §3.8.6.1).
    if (this.forceOne) return Math.max(1, Math.min(len, usable));
    // Sender SWS avoidance (RFC 9293 §3.8.6.2.1): a partial segment only if it is
    // at least half the largest window seen, or nothing is in flight to clock us.
    if (usable > 0 && (usable >= this.maxSndWnd / 2 || flight === 0)) return usable;
    return -1;
  }

  private sendData(now: number, emit: (seg: TcpRepr) => void): void {
    if (this.lr.active) this.sendRecovery(now, emit);
    else if (this.tlp.due) this.sendProbe(now, emit);
    if (this.fastRtx) {
      // RFC 5681 §3.2 step 3 / RFC 6582 §3.2 step 5: resend the first un-SACKed hole.
      this.fastRtx = false;
      const seq = this.sb.skip(this.sndUna);
      const dataEnd = this.dataEnd;
      if (seqLt(seq, dataEnd) && seqLt(seq, this.sndMax)) {
        const limit = this.sb.holeEnd(seq, seqLt(this.sndMax, dataEnd) ? this.sndMax : dataEnd);
        const len = Math.min(this.maxPayload(), seqSub(limit, seq));
        this.stats.fastRetransmits++;
        this.emitData(now, seq, len, false, emit);
      }
    }
    for (let guard = 0; guard < 100000 && !this.lr.active; guard++) {
      const len = this.planSegment();
      if (len < 0) break;
      const fin = this.finQueued && seqAdd(this.sndNxt, len) === this.dataEnd;
      this.forceOne = false;
      this.emitData(now, this.sndNxt, len, fin, emit);
    }
    // Persist (RFC 9293 §3.8.6.1): data waits on a zero window with nothing in
    // flight, so arm the (backed-off) timer that sends a probe.
    if (this.rtoAt === Infinity && this.sndWnd === 0 && this.sndMax === this.sndUna && seqLt(this.sndNxt, this.dataEnd)) {
      this.rtoAt = now + this.rtt.rto;
    }
  }

  /** RFC 6675 §5 (C): while cwnd - pipe >= 1 SMSS, send what NextSeg() picks. */
  private sendRecovery(now: number, emit: (seg: TcpRepr) => void): void {
    const lr = this.lr;
    lr.kick = false;
    const mss = this.maxPayload();
    let pipe = lr.pipe(this.sndUna, this.sndMax, mss);
    for (let guard = 0; guard < 100000; guard++) {
      // Step (4.3): the first retransmission goes out whatever the pipe.
      if (!lr.entryPending && this.cc.cwnd - pipe < mss) break;
      const fresh = this.newDataLen(mss);
      const kind = lr.nextSeg(this.sndUna, this.sndMax, mss, fresh >= 0);
      if (kind === NextSeg.NONE) break;
      const dataEnd = this.dataEnd;
      if (kind === NextSeg.NEW) {
        this.emitData(now, this.sndMax, fresh, this.finQueued && seqAdd(this.sndMax, fresh) === dataEnd, emit);
        pipe += Math.max(1, fresh);
        continue;
      }
      const seq = lr.outSeq;
      const end = seqAdd(seq, lr.outLen);
      lr.record(kind, seq, end, this.sndMax);
      if (kind === NextSeg.RELOST) this.stats.lostRetransmits++;
      this.stats.fastRetransmits++;
      // A range reaching past the data end carries the FIN again.
      const past = seqGt(end, dataEnd);
      this.emitData(now, seq, past ? seqSub(dataEnd, seq) : lr.outLen, past, emit);
      pipe += lr.outLen;
    }
  }

  /** RFC 8985 §7.3: one probe - new data if the receiver's window allows, else the last segment again. */
  private sendProbe(now: number, emit: (seg: TcpRepr) => void): void {
    this.tlp.due = false;
    if (this.sndUna === this.sndMax || seqLt(this.sndNxt, this.sndMax)) return;
    const mss = this.maxPayload();
    const dataEnd = this.dataEnd;
    const fresh = this.newDataLen(mss);
    let seq = this.sndMax;
    let len = fresh;
    let fin = this.finQueued && seqAdd(seq, len) === dataEnd;
    if (fresh < 0) {
      fin = this.finQueued && seqGt(this.sndMax, dataEnd);
      const top = fin ? dataEnd : this.sndMax;
      len = Math.min(mss, seqSub(top, this.sndUna));
      seq = seqSub(top, len);
    }
    this.stats.lossProbes++;
    this.tlp.sent(seq);
    this.emitData(now, seq, len, fin, emit);
    this.rtoAt = now + this.rtt.rto;
  }

  /** RFC 8985 §7.2: (re)arm the PTO after sending new data or on an ACK of new data. */
  protected armTlp(now: number): void {
    if (!this.sackOn || !this.cfg.tailLossProbe || this.lr.active || this.sndUna === this.sndMax
      || seqLt(this.sndNxt, this.sndMax) || this.sndWnd === 0) {
      this.tlp.at = Infinity;
      return;
    }
    this.tlp.arm(now, this.rtt.srtt, this.rtt.hasSample, this.rtoAt, seqSub(this.sndMax, this.sndUna), this.sendMss);
  }

  /** Length of the next new segment at SND.MAX that the receiver's window allows (0: a bare FIN), or -1. */
  private newDataLen(mss: number): number {
    const dataEnd = this.dataEnd;
    const avail = seqGt(dataEnd, this.sndMax) ? seqSub(dataEnd, this.sndMax) : 0;
    if (avail === 0) return this.finQueued && this.sndMax === dataEnd && !this.finAcked ? 0 : -1;
    const len = Math.min(avail, mss);
    return this.sndWnd - seqSub(this.sndMax, this.sndUna) >= len ? len : -1;
  }

  /** Payload bytes that fit in one segment next to the options we will send. */
  protected maxPayload(): number {
    let opts = this.tsOn ? 12 : 0;
    if (this.sackOn && this.rq.hasOoo) opts += 4 + 8 * (this.tsOn ? 3 : 4);
    return Math.max(1, this.sendMss - opts);
  }

  private emitSyn(now: number, emit: (seg: TcpRepr) => void): void {
    const o = this.out;
    const opts = this.outOpts;
    const passive = this.state === TcpState.SYN_RECEIVED;
    this.clearOptions();
    opts.mss = this.cfg.mss;
    // RFC 7323 §2.2/§3.2 and RFC 2018 §2: on a SYN-ACK, only options the peer's SYN offered.
    if (!passive ? this.cfg.windowScaling : this.rcvShift >= 0 && this.sndShiftOffered) opts.windowScale = this.rcvShift;
    if (!passive ? this.cfg.sack : this.sackOn) opts.sackPermitted = true;
    if (!passive ? this.cfg.timestamps : this.tsOn) opts.timestamps = this.stamp(now);
    o.seq = this.iss;
    o.ack = passive ? this.rcvNxt : 0;
    o.flags = TcpFlags.SYN | (passive ? TcpFlags.ACK : 0);
    // RFC 7323 §2.2: the window in a SYN is never scaled.
    o.window = Math.min(0xffff, this.cfg.rcvBuf);
    if (passive) {
      this.rcvAdvEdge = seqAdd(this.rcvNxt, o.window);
      this.lastAckSent = this.rcvNxt;
    }
    o.payload = EMPTY;
    if (this.sndMax !== this.iss) {
      this.stats.retransmits++;
      this.rttTiming = false; // Karn: never time a retransmitted SYN.
    } else {
      this.rttTiming = true;
      this.rttSeq = this.iss;
      this.rttTime = now;
    }
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = seqMax(this.sndMax, this.sndNxt);
    if (this.rtoAt === Infinity) this.rtoAt = now + this.rtt.rto;
    this.ackNow = false;
    this.stats.segmentsOut++;
    emit(o);
  }

  /** True when the peer's SYN carried a window scale option (set by the input side). */
  protected sndShiftOffered = false;

  /** A data segment (len may be 0: a pure ACK, or a bare FIN when `fin`). */
  private emitData(now: number, seq: number, len: number, fin: boolean, emit: (seg: TcpRepr) => void): void {
    const o = this.out;
    this.clearOptions();
    o.seq = seq;
    o.flags = TcpFlags.ACK | (fin ? TcpFlags.FIN : 0);
    if (len > 0) {
      const offset = this.sq.beginOffset + seqSub(seq, this.sndUna);
      o.payload = this.sq.view(offset, len, this.scratch);
      if (seqAdd(seq, len) === this.dataEnd) o.flags |= TcpFlags.PSH;
    } else {
      o.payload = EMPTY;
    }
    this.fillAckFields(now);
    const end = seqAdd(seq, len + (fin ? 1 : 0));
    const fresh = !seqLt(seq, this.sndMax);
    if (len > 0 || fin) {
      if (seqLt(seq, this.sndMax)) {
        this.stats.retransmits++;
        // Karn's rule (RFC 6298 §3): a retransmission voids the running measurement.
        if (this.rttTiming && seqGe(this.rttSeq, seq)) this.rttTiming = false;
      } else if (!this.rttTiming && !this.tsOn) {
        this.rttTiming = true;
        this.rttSeq = seq;
        this.rttTime = now;
      }
      if (seqGt(end, this.sndNxt)) this.sndNxt = end;
      if (seqGt(end, this.sndMax)) this.sndMax = end;
      // RFC 6298 §5.1: start the timer when sending data if it is not running.
      if (this.rtoAt === Infinity) this.rtoAt = now + this.rtt.rto;
      if (fresh) this.armTlp(now);
      this.stats.bytesOut += len;
    }
    this.stats.segmentsOut++;
    emit(o);
  }

  private emitControl(seq: number, ack: number, flags: number, window: number, emit: (seg: TcpRepr) => void): void {
    const o = this.out;
    this.clearOptions();
    o.seq = seq;
    o.ack = ack;
    o.flags = flags;
    o.window = window;
    o.payload = EMPTY;
    this.stats.segmentsOut++;
    emit(o);
  }

  private clearOptions(): void {
    const opts = this.outOpts;
    opts.mss = undefined;
    opts.windowScale = undefined;
    opts.sackPermitted = undefined;
    opts.timestamps = undefined;
    opts.sack = undefined;
  }

  private stamp(now: number): TcpTimestamps {
    this.outTs.tsVal = (Math.floor(now) + this.cfg.tsOffset) >>> 0;
    this.outTs.tsEcr = this.tsRecent;
    return this.outTs;
  }

  /** ACK number, window (with receiver SWS avoidance), timestamps and SACK blocks. */
  private fillAckFields(now: number): void {
    const o = this.out;
    o.ack = this.rcvNxt;
    o.window = this.advertiseWindow();
    if (this.tsOn) this.outOpts.timestamps = this.stamp(now);
    if (this.sackOn && this.rq.hasOoo) {
      const n = this.rq.sackBlocks(this.sackPool, this.tsOn ? 3 : 4, this.lastOooSeq);
      this.sackList.length = 0;
      for (let i = 0; i < n; i++) this.sackList.push(this.sackPool[i]);
      this.outOpts.sack = this.sackList;
    }
    this.lastAckSent = this.rcvNxt;
    this.ackNow = false;
    this.delayedAckAt = Infinity;
  }

  /**
   * RFC 9293 §3.8.6.2.2 receiver SWS avoidance: move the right edge only by
   * at least min(RCV.BUFF/2, MSS); never shrink it (§3.8.6: "SHOULD NOT shrink").
   */
  protected advertiseWindow(): number {
    const free = Math.max(0, this.cfg.rcvBuf - this.rq.unread);
    const edge = seqAdd(this.rcvNxt, free);
    const current = seqGt(this.rcvAdvEdge, this.rcvNxt) ? seqSub(this.rcvAdvEdge, this.rcvNxt) : 0;
    let wnd = current;
    if (seqGt(edge, this.rcvAdvEdge) && seqSub(edge, this.rcvAdvEdge) >= this.windowStep()) wnd = free;
    const field = Math.min(0xffff, Math.ceil(wnd / 2 ** this.rcvShift));
    const advertised = field * 2 ** this.rcvShift;
    const newEdge = seqAdd(this.rcvNxt, advertised);
    if (seqGt(newEdge, this.rcvAdvEdge)) this.rcvAdvEdge = newEdge;
    return field;
  }

  protected windowStep(): number {
    return Math.min(Math.floor(this.cfg.rcvBuf / 2), this.cfg.mss);
  }

  /** Our window shift for a given config (RFC 7323 §2.3). */
  protected static shiftFor(rcvBuf: number): number {
    return windowShiftFor(rcvBuf);
  }
}
