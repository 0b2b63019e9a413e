/**
 * TcpSocket: one RFC 9293 endpoint, sans-IO. This file is the input half
 * (segment arrival, RFC 9293 §3.10.7) and the application API; the TCB
 * lives in connection.ts, the timers and the output half in output.ts.
 *
 * Passive open as the NAT needs it: `fromSyn()` holds a guest SYN without
 * answering (state LISTEN), then `accept()` sends the SYN-ACK or `refuse()`
 * yields the RST (RFC 9293 §3.10.7.1). Active open: `connect()`.
 * Incoming segments: `process(now, seg)`; seg.payload is only read during the
 * call (in-order bytes are copied into owned chunks). Outgoing: `dispatch(now,
 * emit)` when `pollAt()` is due. Bad input is dropped and counted, never thrown.
 * Callbacks fire after the socket's state is consistent, so they may call
 * send()/read()/shutdownWrite()/abort() re-entrantly.
 *
 * The owner's loop, after any process()/send()/read()/shutdownWrite()/abort()
 * and whenever its timer fires:
 *   if (sock.pollAt() <= now) sock.dispatch(now, emitFrame);
 *   rearm(sock.pollAt());            // Infinity: no timer needed
 * and drops the socket on onClosed (TIME-WAIT included). Segments to no
 * socket are answered with rstForUnexpected().
 */
import { TcpFlags, type TcpRepr } from '../../wire/tcp.js';
import { Ev } from './connection.js';
import { TcpOutput } from './output.js';
import type { SlabPool } from './slab-pool.js';
import { seqAdd, seqGe, seqGt, seqInRange, seqLe, seqLt, seqSub } from './seq.js';
import { type Endpoint, perConnection, resolveConfig, type TcpSocketConfig, TcpState, type TimeWaitTcb, windowShiftFor } from './types.js';

const F = TcpFlags;

export class TcpSocket extends TcpOutput {
  private constructor(local: Endpoint, remote: Endpoint, cfg: TcpSocketConfig, iss?: number) {
    const conn = perConnection(cfg);
    if (iss !== undefined) conn.iss = iss >>> 0;
    super(local, remote, resolveConfig(cfg), conn);
  }

  /**
   * Hold a guest SYN (state LISTEN) without sending anything; the NAT then
   * calls accept() or refuse(). `iss` fixes our initial sequence number (a
   * connection reopened from TIME-WAIT, nat/time-wait.ts); random otherwise.
   */
  static fromSyn(now: number, local: Endpoint, remote: Endpoint, syn: TcpRepr, cfg: TcpSocketConfig, iss?: number): TcpSocket {
    const s = new TcpSocket(local, remote, cfg, iss);
    s.lastNow = now;
    s.setState(now, TcpState.LISTEN);
    s.takeSyn(syn);
    return s;
  }

  /** Active open (RFC 9293 §3.10.1): the SYN goes out on the next dispatch(). */
  static connect(now: number, local: Endpoint, remote: Endpoint, cfg: TcpSocketConfig): TcpSocket {
    const s = new TcpSocket(local, remote, cfg);
    s.lastNow = now;
    s.rcvShift = s.cfg.windowScaling ? windowShiftFor(s.cfg.rcvBuf) : 0;
    s.setState(now, TcpState.SYN_SENT);
    return s;
  }

  /** Complete a held passive open: SYN-ACK on the next dispatch() (RFC 9293 §3.10.7.2). */
  accept(now: number): void {
    if (this.state !== TcpState.LISTEN) return;
    this.lastNow = now;
    this.setState(now, TcpState.SYN_RECEIVED);
    this.sndNxt = this.iss;
  }

  /**
   * Refuse a held SYN: the RST the caller must send (RFC 9293 §3.10.7.1
   * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>); the socket is then CLOSED.
   */
  refuse(): TcpRepr {
    const rst: TcpRepr = {
      srcPort: this.local.port, dstPort: this.remote.port, seq: 0, ack: this.rcvNxt, flags: F.RST | F.ACK,
      window: 0, urgent: 0, options: {}, payload: Buffer.alloc(0),
    };
    if (this.state !== TcpState.CLOSED) this.setState(this.lastNow, TcpState.CLOSED, 'aborted');
    this.flushEvents();
    return rst;
  }

  /**
   * What TIME-WAIT still answers with, so an owner may drop the rest of the
   * TCB (nat/time-wait.ts): when TIME-WAIT began, our next sequence number (after our FIN), the
   * peer's (after its FIN), the window field last offered, and the timestamp
   * clock and echo (RFC 7323 §3.2), tsRecent null without timestamps.
   */
  get timeWaitTcb(): TimeWaitTcb {
    return {
      since: this.timeWaitSince,
      sndNxt: this.sndMax,
      rcvNxt: this.rcvNxt,
      window: Math.min(0xffff, this.rcvRemaining() >>> this.rcvShift),
      tsOffset: this.tsOffset,
      tsRecent: this.tsOn ? this.tsRecent : null,
    };
  }

  /** Queue `data` by reference; false once queued-unacked bytes reach cfg.sndBuf (then wait for onSendSpace). */
  send(data: Buffer): boolean {
    const s = this.state;
    const open = s === TcpState.ESTABLISHED || s === TcpState.CLOSE_WAIT || s === TcpState.SYN_SENT
      || s === TcpState.SYN_RECEIVED || s === TcpState.LISTEN;
    if (!open || this.finQueued) {
      this.drop('send_after_close');
      return false;
    }
    this.sq.push(data);
    this.lr.kick = true;
    if (this.sq.length >= this.cfg.sndBuf) this.sendBlocked = true;
    return !this.sendBlocked;
  }

  /** Half-close: FIN after everything queued (RFC 9293 §3.10.4). */
  shutdownWrite(): void {
    if (this.finQueued) return;
    const s = this.state;
    if (s === TcpState.CLOSED || s === TcpState.TIME_WAIT) return;
    this.finQueued = true;
    // RFC 9293 §3.10.4: ESTABLISHED -> FIN-WAIT-1, CLOSE-WAIT -> LAST-ACK; in
    // the handshake states the FIN waits for ESTABLISHED (see establish()).
    if (s === TcpState.ESTABLISHED) this.setState(this.lastNow, TcpState.FIN_WAIT_1);
    else if (s === TcpState.CLOSE_WAIT) this.setState(this.lastNow, TcpState.LAST_ACK);
  }

  /** RFC 9293 §3.10.5 ABORT: RST <SEQ=SND.NXT> (if the peer knows us), then CLOSED. */
  abort(): void {
    const s = this.state;
    if (s === TcpState.CLOSED) return;
    if (s === TcpState.LISTEN) this.queueRst(0, this.rcvNxt, F.RST | F.ACK);
    else if (s !== TcpState.SYN_SENT) this.queueRst(this.sndMax, 0, F.RST);
    this.setState(this.lastNow, TcpState.CLOSED, 'aborted');
    this.flushEvents();
  }

  /** The next owned chunk of received in-order data, or null. Reading opens the window. */
  read(): Buffer | null {
    const before = this.rq.unread;
    const chunk = this.rq.read();
    if (chunk && this.synchronized) {
      // RFC 9293 §3.8.6.2.2: send a window update once the right edge can move
      // by the SWS threshold and the peer's remaining window has got small:
      // under half the buffer, and the window we can offer now is at least
      // twice it (as Linux's tcp_cleanup_rbuf). A short exchange inside a wide
      // open window, where the reply will carry the ACK, costs no extra segment;
      // a small window the peer is stuck behind opens at once. (Comparing with
      // the last offer instead left a small last offer unrefreshed: the sender
      // waited for its probe timer, 100-250 ms stalls that held one guest->host
      // stream at MTU 65520 to 2-5 Gbit/s.)
      // With the default buffers (1 MiB and more) this fires on a connection's
      // first request (the SYN-ACK could offer at most 64 KiB, RFC 7323 §2.2),
      // and must go at once: a sender with Nagle on holds its next small write
      // until this ACK, and Linux's receiver, which quick-ACKs a connection's
      // first data (tcp_event_data_recv), lets it go. Sent as a delayed ACK
      // instead, it saved one frame per short connection and held a
      // write-write-read request 42.6 ms against 0.9
      // (bench/results/steps-2026-12-05.md).
      const free = this.rcvFree();
      const remaining = this.rcvRemaining();
      if (before > 0 && this.edgeMovesByStep(free) && remaining < this.cfg.rcvBuf / 2 && free >= 2 * remaining) {
        this.ackNow = true;
      }
    }
    return chunk;
  }

  /**
   * Recycle receive slabs through `pool`: the caller promises to call
   * releaseRead(mark) once nothing it read below `readMark` is referenced.
   */
  useSlabPool(pool: SlabPool): void {
    this.rq.usePool(pool);
  }

  /** Bytes handed out by read() so far; pass a past value to releaseRead(). */
  get readMark(): number {
    return this.rq.readTotal;
  }

  /** The reader is gone and references nothing it read: receive slabs go back (ReceiveBuffer.releaseAll). */
  releaseAllRead(): void {
    this.rq.releaseAll();
  }

  /** Data bytes the peer has acknowledged so far (a stream offset of what send() queued). */
  get ackedMark(): number {
    return this.sq.beginOffset;
  }

  /** Nothing read below `mark` is referenced any more (see useSlabPool). */
  releaseRead(mark: number): void {
    this.rq.release(mark);
  }

  /** Feed one incoming segment for this 4-tuple. */
  process(now: number, seg: TcpRepr): void {
    this.lastNow = now;
    this.stats.segmentsIn++;
    switch (this.state) {
      case TcpState.CLOSED:
        this.drop('closed');
        break;
      case TcpState.LISTEN:
        this.processListen(seg);
        break;
      case TcpState.SYN_SENT:
        this.processSynSent(now, seg);
        break;
      default:
        this.processSynchronized(now, seg);
    }
    this.flushEvents();
  }

  /** Record the peer's SYN: IRS and the options it offered (RFC 9293 §3.10.7.2, RFC 7323, RFC 2018). */
  private takeSyn(syn: TcpRepr): void {
    this.irs = syn.seq >>> 0;
    this.rcvNxt = seqAdd(this.irs, 1);
    this.rcvAdvEdge = this.rcvNxt;
    const o = syn.options;
    // RFC 9293 §3.7.1: without an MSS option, assume 536. Tiny values are
    // raised to 48 bytes like Linux's tcp_min_snd_mss (a resource-exhaustion guard).
    this.peerMss = o.mss !== undefined && o.mss > 0 ? Math.max(48, o.mss) : 536;
    // RFC 7323 §2.2: scale both ways only if both sides offered; shifts above 14 are treated as 14.
    this.sndShiftOffered = o.windowScale !== undefined && this.cfg.windowScaling;
    this.sndShift = this.sndShiftOffered ? Math.min(14, o.windowScale ?? 0) : 0;
    if (this.state === TcpState.LISTEN || this.state === TcpState.CLOSED) {
      this.rcvShift = this.sndShiftOffered ? windowShiftFor(this.cfg.rcvBuf) : 0;
    } else if (!this.sndShiftOffered) {
      this.rcvShift = 0;
    }
    // RFC 7323 §3.2: timestamps only if the SYN carried them (and we want them).
    this.tsOn = o.timestamps !== undefined && this.cfg.timestamps;
    if (this.tsOn) this.tsRecent = o.timestamps?.tsVal ?? 0;
    this.sackOn = o.sackPermitted === true && this.cfg.sack;
    // RFC 7323 §2.2: the window of a SYN is never scaled.
    this.sndWnd = syn.window;
    this.maxSndWnd = syn.window;
    this.sndWl1 = this.irs;
    this.rcvMssSeen = Math.min(this.cfg.mss, 536);
    this.cc.setMss(this.sendMss);
    if (syn.payload.length > 0) this.drop('syn_data_ignored');
  }

  private processListen(seg: TcpRepr): void {
    // RFC 9293 §3.10.7.2: an RST in LISTEN is ignored.
    if (seg.flags & F.RST) return this.drop('listen_rst');
    if (seg.flags & F.ACK) {
      // An ACK in LISTEN: <SEQ=SEG.ACK><CTL=RST>.
      this.queueRst(seg.ack, 0, F.RST);
      return this.drop('listen_ack');
    }
    if (!(seg.flags & F.SYN)) return this.drop('listen_no_syn');
    // A retransmitted SYN while the NAT is still connecting is absorbed; a SYN
    // with a new ISN replaces the held one (the guest started over).
    if (seg.seq >>> 0 === this.irs) return this.drop('duplicate_syn');
    this.takeSyn(seg);
  }

  /** RFC 9293 §3.10.7.3: SYN-SENT. */
  private processSynSent(now: number, seg: TcpRepr): void {
    const fl = seg.flags;
    if (fl & F.ACK) {
      // First: an ACK for something we never sent gets a reset (unless it is one).
      if (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndMax)) {
        if (!(fl & F.RST)) this.queueRst(seg.ack, 0, F.RST);
        return this.drop('synsent_bad_ack');
      }
    }
    if (fl & F.RST) {
      // Second: RST with an acceptable ACK means refused; without ACK, drop.
      if (fl & F.ACK) return this.setState(now, TcpState.CLOSED, 'reset');
      return this.drop('synsent_rst_no_ack');
    }
    if (!(fl & F.SYN)) return this.drop('synsent_no_syn');
    this.takeSyn(seg);
    if (fl & F.ACK) {
      this.sndUna = seg.ack >>> 0;
      this.sndWl2 = this.sndUna;
      this.handshakeRtt(now, seg);
      this.establish(now);
      this.ackNow = true;
    } else {
      // Simultaneous open: answer SYN-ACK from SYN-RECEIVED.
      this.setState(now, TcpState.SYN_RECEIVED);
      this.sndNxt = this.iss;
      this.rtoAt = Infinity;
    }
  }

  private handshakeRtt(now: number, seg: TcpRepr): void {
    if (this.rttTiming && seqGt(seg.ack, this.rttSeq)) this.rtt.sample(now - this.rttTime);
    this.rttTiming = false;
    if (this.sndUna === this.sndMax) this.rtoAt = Infinity;
    this.retries = 0;
  }

  /** Enter ESTABLISHED, then a FIN requested during the handshake (RFC 9293 §3.10.4). */
  private establish(now: number): void {
    this.setState(now, TcpState.ESTABLISHED);
    if (this.finQueued) this.setState(now, TcpState.FIN_WAIT_1);
  }

  /** RFC 9293 §3.10.7.4: SYN-RECEIVED and every synchronized state. */
  private processSynchronized(now: number, seg: TcpRepr): void {
    const fl = seg.flags;
    let payload = seg.payload;
    let fin = (fl & F.FIN) !== 0;
    const seq = seg.seq >>> 0;
    // A retransmitted SYN in SYN-RECEIVED: our SYN-ACK was lost, send it again.
    if (this.state === TcpState.SYN_RECEIVED && fl & F.SYN && !(fl & F.ACK) && seq === this.irs) {
      if (this.sndUna === this.iss) this.sndNxt = this.iss;
      return this.drop('duplicate_syn');
    }
    const ts = seg.options.timestamps;
    // RFC 7323 §5.3 PAWS (without the 24-day idle rule): an older TSval is a stale duplicate.
    if (this.tsOn && ts && !(fl & F.RST) && seqLt(ts.tsVal, this.tsRecent)) {
      this.ackNow = true;
      return this.drop('paws');
    }
    // First: sequence acceptability (RFC 9293 §3.10.7.4 table).
    const segLen = payload.length + (fl & F.SYN ? 1 : 0) + (fin ? 1 : 0);
    const rcvWnd = seqGt(this.rcvAdvEdge, this.rcvNxt) ? seqSub(this.rcvAdvEdge, this.rcvNxt) : 0;
    const wndEnd = seqAdd(this.rcvNxt, rcvWnd);
    let acceptable: boolean;
    if (segLen === 0) acceptable = rcvWnd === 0 ? seq === this.rcvNxt : seqInRange(seq, this.rcvNxt, wndEnd);
    else acceptable = rcvWnd > 0 && (seqInRange(seq, this.rcvNxt, wndEnd) || seqInRange(seqAdd(seq, segLen - 1), this.rcvNxt, wndEnd));
    if (!acceptable && rcvWnd === 0 && seq === this.rcvNxt && !(fl & F.SYN)) {
      // Zero window: still take the ACK (and RST) fields, drop the text (RFC 9293 §3.10.7.4).
      if (payload.length > 0 || fin) this.drop('zero_window');
      payload = payload.subarray(0, 0);
      fin = false;
      this.ackNow = true;
      acceptable = true;
    }
    if (!acceptable) {
      if (fl & F.RST) return this.drop('rst_out_of_window');
      // A retransmitted FIN in TIME-WAIT restarts the 2*MSL timer (RFC 9293 §3.10.7.4 eighth).
      if (this.state === TcpState.TIME_WAIT && fin) this.timeWaitAt = now + this.cfg.timeWaitMs;
      this.ackNow = true;
      return this.drop('out_of_window');
    }
    // RFC 7323 §4.3: remember the peer's TSval for echoing.
    if (this.tsOn && ts && seqLe(seq, this.lastAckSent)) this.tsRecent = ts.tsVal >>> 0;

    // Second: RST (RFC 5961 §3.2): exact match resets, otherwise a challenge ACK.
    if (fl & F.RST) {
      if (seq !== this.rcvNxt) return this.challengeAck(now);
      const quiet = this.state === TcpState.CLOSING || this.state === TcpState.LAST_ACK || this.state === TcpState.TIME_WAIT;
      return this.setState(now, TcpState.CLOSED, quiet ? 'normal' : 'reset');
    }
    // Fourth: SYN in a synchronized state (RFC 5961 §4.2): challenge ACK.
    if (fl & F.SYN) return this.challengeAck(now);
    // Fifth: the ACK field.
    if (!(fl & F.ACK)) return this.drop('no_ack');
    const ack = seg.ack >>> 0;
    if (this.state === TcpState.SYN_RECEIVED) {
      if (!(seqGt(ack, this.sndUna) && seqLe(ack, this.sndMax))) {
        this.queueRst(ack, 0, F.RST);
        return this.drop('synrcvd_bad_ack');
      }
      this.sndUna = seqAdd(this.iss, 1);
      // A retransmitted SYN may have rewound SND.NXT to resend the SYN-ACK
      // (above); acknowledged now, nothing below SND.UNA is ever sent again.
      if (seqLt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
      this.handshakeRtt(now, seg);
      this.sndWnd = seg.window << this.sndShift;
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      this.sndWl1 = seq;
      this.sndWl2 = ack;
      this.establish(now);
    }
    // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
    if (seqGt(ack, this.sndMax)) {
      this.challengeAck(now);
      return this.drop('ack_unsent');
    }
    if (seqLt(ack, seqSub(this.sndUna, this.maxSndWnd))) {
      this.challengeAck(now);
      return this.drop('ack_too_old');
    }
    if (seqGe(ack, this.sndUna)) this.processAck(now, seg, ack, payload.length, fin);
    if (this.state === TcpState.CLOSED) return;
    if (this.finAcked) {
      // Fifth, per state: our FIN is acknowledged.
      if (this.state === TcpState.FIN_WAIT_1) this.setState(now, TcpState.FIN_WAIT_2);
      else if (this.state === TcpState.CLOSING) this.setState(now, TcpState.TIME_WAIT);
      else if (this.state === TcpState.LAST_ACK) return this.setState(now, TcpState.CLOSED, 'normal');
    }
    // Seventh: segment text, in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2 only.
    const s = this.state;
    if (payload.length > 0) {
      if (s === TcpState.ESTABLISHED || s === TcpState.FIN_WAIT_1 || s === TcpState.FIN_WAIT_2) {
        fin = this.receiveText(now, seq, payload, fin);
      } else {
        this.drop('data_after_fin');
        fin = false;
      }
    } else if (fin && seq !== this.rcvNxt) {
      // A bare FIN above RCV.NXT: remember it for when the hole fills.
      this.peerFinSeq = seq;
      this.ackNow = true;
      fin = false;
    }
    // Eighth: FIN.
    if (fin) this.processFin(now);
  }

  /** RFC 9293 §3.10.7.4 fifth, the ACK of new data, window update, duplicate ACKs. */
  private processAck(now: number, seg: TcpRepr, ack: number, payloadLen: number, fin: boolean): void {
    const wnd = seg.window << this.sndShift;
    let newSack = false;
    if (this.sackOn && seg.options.sack) {
      const before = this.sb.sackedBytes;
      for (const [l, r] of seg.options.sack) this.sb.add(l >>> 0, r >>> 0, ack, this.sndMax);
      newSack = this.sb.sackedBytes > before;
    }
    const acked = seqSub(ack, this.sndUna);
    if (acked > 0) {
      const ts = seg.options.timestamps;
      if (this.tsOn && ts && ts.tsEcr !== 0) {
        // RFC 7323 §4.2: RTT from the echoed timestamp of an ACK that advances SND.UNA.
        const sample = ((Math.floor(now) + this.tsOffset) - ts.tsEcr) >>> 0;
        if (sample < 0x7fffffff) this.rtt.sample(sample);
      } else if (this.rttTiming && seqGt(ack, this.rttSeq)) {
        this.rtt.sample(now - this.rttTime);
        this.rttTiming = false;
      }
      const dataAcked = Math.min(acked, this.sq.length);
      if (acked > dataAcked) this.finAcked = true;
      this.sq.ack(dataAcked);
      this.sndUna = ack;
      if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
      this.sb.prune(ack);
      this.lr.dupAcks = 0;
      if (this.lr.active) {
        // RFC 6675 §5 (A): an ACK covering RecoveryPoint ends recovery; cwnd holds until then.
        if (seqGe(ack, this.lr.recoveryPoint)) {
          this.lr.exit();
          this.cc.exitSackRecovery();
        }
      } else if (this.cc.onNewAck(acked, ack, seqSub(this.sndMax, ack)) === 'partial') {
        // RFC 6582 §3.2 step 5: a partial ACK retransmits the next hole.
        this.fastRtx = true;
      }
      this.retries = 0;
      this.forceOne = false;
      // RFC 6298 §5.2-5.3: stop the timer when all is acked, else restart it.
      this.rtoAt = this.sndUna === this.sndMax ? Infinity : now + this.rtt.rto;
      if (this.sendBlocked && this.sq.length < this.cfg.sndBuf / 2) {
        this.sendBlocked = false;
        this.events |= Ev.SEND_SPACE;
      }
    } else if (payloadLen === 0 && !fin && this.sndMax !== this.sndUna && this.sndWnd > 0 && (wnd === this.sndWnd || (newSack && wnd > 0))) {
      // RFC 5681 §2 duplicate ACK; with SACK, an ACK bringing new SACK
      // information counts even if the window moved (RFC 6675 §2).
      this.stats.dupAcksIn++;
      if (this.sackRecovery) this.lr.dupAcks++;
      else if (this.cc.onDupAck(ack, seqSub(this.sndMax, this.sndUna), this.sndMax)) this.fastRtx = true;
    }
    if (this.sackRecovery) this.detectLoss(now, acked > 0);
    // A peer answering our zero-window probes is alive: don't give up on it.
    if (wnd === 0 || this.sndWnd === 0) this.retries = 0;
    // RFC 9293 §3.10.7.4: update the send window from the newest segment only.
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq >>> 0 && seqLe(this.sndWl2, ack))) {
      this.sndWnd = wnd;
      this.sndWl1 = seg.seq >>> 0;
      this.sndWl2 = ack;
      if (wnd > this.maxSndWnd) this.maxSndWnd = wnd;
    }
  }

  /** RFC 6675 applies when the peer negotiated SACK (RFC 2018) and it is not configured off. */
  private get sackRecovery(): boolean {
    return this.sackOn && this.cfg.sackRecovery;
  }

  /**
   * After the scoreboard took an ACK: a delivered tail loss probe marks what
   * was sent before it lost (RFC 8985 §7.4), recovery looks for lost
   * retransmissions (RFC 8985 §6.2), and outside recovery RFC 6675 §5 steps
   * (2)-(4) decide whether to enter it - not while go-back-N after an RTO is
   * still resending, nor for losses a previous reduction already covered.
   */
  private detectLoss(now: number, advanced: boolean): void {
    const una = this.sndUna;
    const mss = this.maxPayload();
    if (this.tlp.outstanding) {
      const probe = this.tlp.probeSeq;
      if (seqLt(una, probe) && seqGt(this.sb.highestSacked(una), probe)) this.lr.markLostBelow(una, probe);
      this.tlp.outstanding = false;
    }
    if (this.lr.active) {
      this.lr.detectRelost(una, this.sndMax, mss);
      this.lr.kick = true;
    } else if (this.sndNxt === this.sndMax && seqGe(una, this.cc.recover) && this.lr.shouldEnter(una, this.sndMax, mss)) {
      this.stats.sackRecoveries++;
      this.cc.enterSackRecovery(seqSub(this.sndMax, una), this.sndMax);
      this.lr.enter(una, this.sndMax);
      this.tlp.cancel();
    } else if (advanced) {
      this.armTlp(now);
    }
  }

  /** Seventh: accept text inside the window; returns whether the FIN is now in order. */
  private receiveText(now: number, seq: number, payload: Buffer, fin: boolean): boolean {
    let s = seq;
    let data = payload;
    if (seqLt(s, this.rcvNxt)) {
      data = data.subarray(seqSub(this.rcvNxt, s));
      s = this.rcvNxt;
    }
    const room = seqGt(this.rcvAdvEdge, s) ? seqSub(this.rcvAdvEdge, s) : 0;
    if (data.length > room) {
      data = data.subarray(0, room);
      fin = false; // the FIN lies beyond the window
    }
    const finSeq = seqAdd(s, data.length);
    if (data.length === 0) {
      this.ackNow = true;
      return fin && finSeq === this.rcvNxt;
    }
    if (data.length > this.rcvMssSeen) this.rcvMssSeen = Math.min(data.length, this.cfg.mss);
    if (s === this.rcvNxt) {
      this.rq.pushInOrder(data);
      this.rcvNxt = seqAdd(this.rcvNxt, data.length);
      this.stats.bytesIn += data.length;
      if (this.rq.hasOoo) {
        // RFC 5681 §4.2: ACK at once when a segment fills a hole.
        const before = this.rcvNxt;
        this.rcvNxt = this.rq.drain(this.rcvNxt);
        this.stats.bytesIn += seqSub(this.rcvNxt, before);
        this.ackNow = true;
      }
      this.events |= Ev.READABLE;
      // RFC 9293 §3.8.6.3: ACK every second full-sized segment, else within the delayed-ACK time.
      if (seqSub(this.rcvNxt, this.lastAckSent) >= 2 * this.rcvMssSeen) this.ackNow = true;
      else if (this.delayedAckAt === Infinity) this.delayedAckAt = now + this.cfg.delayedAckMs;
      if (fin && finSeq === this.rcvNxt) return true;
      if (fin) this.peerFinSeq = finSeq;
      if (this.peerFinSeq >= 0 && this.peerFinSeq === this.rcvNxt) return true;
      return false;
    }
    // Out of order: keep it (inside the window) and send an immediate duplicate ACK (RFC 5681 §4.2).
    if (!this.rq.insertOoo(s, data)) this.drop('ooo_queue_full');
    this.lastOooSeq = s;
    if (fin) this.peerFinSeq = finSeq;
    this.ackNow = true;
    return false;
  }

  /** Eighth: the peer's FIN is in order. */
  private processFin(now: number): void {
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.peerFinSeq = -1;
    const ackPending = this.ackNow;
    this.ackNow = true;
    this.events |= Ev.PEER_FIN;
    switch (this.state) {
      case TcpState.ESTABLISHED:
        this.setState(now, TcpState.CLOSE_WAIT);
        // Like Linux's tcp_fin() (pingpong mode): the FIN is acknowledged with a
        // delayed ACK, so our own FIN, usually a moment behind, carries it and
        // a short connection costs one segment less. RFC 9293 §3.8.6.3 bounds the delay.
        if (!ackPending) {
          this.ackNow = false;
          if (this.delayedAckAt === Infinity) this.delayedAckAt = now + this.cfg.delayedAckMs;
        }
        break;
      case TcpState.SYN_RECEIVED:
        this.setState(now, TcpState.CLOSE_WAIT);
        break;
      case TcpState.FIN_WAIT_1:
        this.setState(now, this.finAcked ? TcpState.TIME_WAIT : TcpState.CLOSING);
        break;
      case TcpState.FIN_WAIT_2:
        this.setState(now, TcpState.TIME_WAIT);
        break;
      case TcpState.TIME_WAIT:
        this.timeWaitAt = now + this.cfg.timeWaitMs;
        break;
      default:
        break;
    }
  }
}
