/**
 * The output half of a TCP connection: `pollAt()` and `dispatch()`, which
 * fire the timers (retransmission per RFC 6298, persist per RFC 9293
 * §3.8.6.1 folded into the same backed-off deadline, delayed ACK per RFC 9293
 * §3.8.6.3, TIME-WAIT per §3.4.2, the RFC 8985 §7 probe timeout) and emit
 * every segment due now: new data within cwnd and the peer's window (with
 * sender SWS avoidance), NewReno fast retransmits (RFC 6582), RFC 6675
 * recovery transmissions chosen by NextSeg, tail loss probes, ACKs with SACK
 * blocks, SYNs and RSTs. The TCB is connection.ts; socket.ts extends this.
 *
 * No allocation per emitted segment: one reused TcpRepr, and one scratch
 * buffer shared by every socket for segments that straddle two queued chunks
 * (a segment is only valid during emit(), so no two uses overlap; a buffer
 * per socket was 64 KiB allocated for every connection).
 */
import { TcpFlags, type TcpOptions, type TcpRepr, type TcpTimestamps } from '../../wire/tcp.js';
import { TcpConnection } from './connection.js';
import { NextSeg } from './recovery.js';
import { seqAdd, seqGe, seqGt, seqLt, seqMax, seqSub } from './seq.js';
import { type Endpoint, type ResolvedConfig, TcpState, windowShiftFor } from './types.js';

const EMPTY = Buffer.alloc(0);
let sharedScratch = Buffer.alloc(0);
/**
 * Below this a gathering socket (TcpSocketConfig.gatherPayload) reads its
 * payload with view(): a straddling segment is then copied once into the
 * scratch buffer instead of getting an array of views, which keeps that
 * allocation off small request/response segments, where the copy is cheap.
 * (Whether a frame is sent from views or copied whole is the interface's
 * choice, by its own size threshold.)
 */
const GATHER_MIN_BYTES = 16 * 1024;

/** The shared straddle buffer, grown to at least `n` bytes. */
function scratch(n: number): Buffer {
  if (sharedScratch.length < n) sharedScratch = Buffer.allocUnsafeSlow(Math.max(n, 64 * 1024));
  return sharedScratch;
}

export abstract class TcpOutput extends TcpConnection {
  // Reused output objects.
  private readonly out: TcpRepr;
  private readonly outOpts: TcpOptions = {};
  private readonly outTs: TcpTimestamps = { tsVal: 0, tsEcr: 0 };
  private readonly sackPool: Array<[number, number]> = [[0, 0], [0, 0], [0, 0], [0, 0]];
  private readonly sackList: Array<[number, number]> = [];

  protected constructor(local: Endpoint, remote: Endpoint, cfg: ResolvedConfig, conn: { iss: number; tsOffset: number }) {
    super(local, remote, cfg, conn);
    this.out = {
      srcPort: local.port, dstPort: remote.port, seq: 0, ack: 0, flags: 0, window: 0, urgent: 0,
      options: this.outOpts, payload: EMPTY, payloadRest: undefined,
    };
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
    const mss = this.maxPayload();
    let len = Math.min(avail, mss);
    const rtx = seqLt(this.sndNxt, this.sndMax);
    if (rtx) len = Math.min(len, seqSub(this.sb.holeEnd(this.sndNxt, this.sndMax), this.sndNxt));
    if (usable >= len) {
      // Super-segments only where configured above our own MSS (a TSO link):
      // compared with the peer's MSS instead, a peer announcing less than ours
      // got a tail of up to our MSS in one segment, over its MSS (RFC 9293 §3.7.1).
      if (rtx || this.cfg.maxSegmentBytes <= this.cfg.mss || avail <= mss) return len;
      // A super-segment (maxSegmentBytes): whole MSS pieces within cwnd and the
      // window, or everything that is left; windows stay in bytes.
      const big = Math.min(avail, usable, this.cfg.maxSegmentBytes);
      return big === avail ? big : big - (big % mss);
    }
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

  /** Payload bytes per MSS piece of a super-segment (the link's GSO size, see maxSegmentBytes). */
  get gsoSize(): number {
    return this.maxPayload();
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
    o.payloadRest = undefined;
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

  /** A data segment (len may be 0: a pure ACK, or a bare FIN when `fin`). */
  private emitData(now: number, seq: number, len: number, fin: boolean, emit: (seg: TcpRepr) => void): void {
    const o = this.out;
    this.clearOptions();
    o.seq = seq;
    o.flags = TcpFlags.ACK | (fin ? TcpFlags.FIN : 0);
    o.payloadRest = undefined;
    if (len > 0) {
      const offset = this.sq.beginOffset + seqSub(seq, this.sndUna);
      if (this.cfg.gatherPayload && len >= GATHER_MIN_BYTES) {
        const rest: Buffer[] = [];
        o.payload = this.sq.views(offset, len, rest);
        if (rest.length > 0) o.payloadRest = rest;
      } else {
        o.payload = this.sq.view(offset, len, scratch(len));
      }
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
    o.payloadRest = undefined;
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
    this.outTs.tsVal = (Math.floor(now) + this.tsOffset) >>> 0;
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
    const free = this.rcvFree();
    const wnd = this.edgeMovesByStep(free) ? free : this.rcvRemaining();
    // A shift of at most 14 (RFC 7323 §2.3): integer shifts, where `2 **` became a call to pow() per segment.
    const scale = 1 << this.rcvShift;
    const field = Math.min(0xffff, Math.ceil(wnd / scale));
    const advertised = field * scale;
    const newEdge = seqAdd(this.rcvNxt, advertised);
    if (seqGt(newEdge, this.rcvAdvEdge)) this.rcvAdvEdge = newEdge;
    return field;
  }

  protected windowStep(): number {
    return Math.min(Math.floor(this.cfg.rcvBuf / 2), this.cfg.mss);
  }

  /** Receive buffer not holding unread data: the most we could offer now. */
  protected rcvFree(): number {
    return Math.max(0, this.cfg.rcvBuf - this.rq.unread);
  }

  /** What the peer may still send under our last advertisement. */
  protected rcvRemaining(): number {
    return seqGt(this.rcvAdvEdge, this.rcvNxt) ? seqSub(this.rcvAdvEdge, this.rcvNxt) : 0;
  }

  /** Offering `free` would move the right edge by at least the SWS step. */
  protected edgeMovesByStep(free: number): boolean {
    const edge = seqAdd(this.rcvNxt, free);
    return seqGt(edge, this.rcvAdvEdge) && seqSub(edge, this.rcvAdvEdge) >= this.windowStep();
  }

  /** Our window shift for a given config (RFC 7323 §2.3). */
  protected static shiftFor(rcvBuf: number): number {
    return windowShiftFor(rcvBuf);
  }
}
