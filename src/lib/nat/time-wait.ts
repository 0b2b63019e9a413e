/**
 * TIME-WAIT for the NAT's guest-facing TCP endpoints, in a few dozen bytes a
 * connection instead of a whole flow.
 *
 * When hnet closes first (the host side ended before the guest), it holds
 * TIME-WAIT toward the guest for 2*MSL, 60 s (RFC 9293 §3.4.2). Kept as the
 * full flow (socket, buffers, relay closures), that was about 7.4 KB each:
 * measured, a guest making short connections to a host server that closes
 * first (HTTP/1.0, `Connection: close`) at ~2200/s took the daemon from 73
 * to 257 MiB in 15 s, and 60 s of a busier guest would be a gigabyte. TcpNat
 * moves a flow here once it is in TIME-WAIT and has nothing left to relay;
 * an entry keeps what TIME-WAIT still answers with (TcpSocket.timeWaitTcb).
 *
 * Guest segments for an entry (RFC 9293 §3.10.7.4, TIME-WAIT rows):
 * - RST at RCV.NXT ends it (RFC 9293 lets a TIME-WAIT be reset; Linux does
 *   the same unless tcp_rfc1337); any other RST is dropped (RFC 5961 §3.2).
 * - A SYN without ACK from a newer incarnation reopens the 4-tuple at once
 *   (RFC 1122 §4.2.2.13, RFC 6191): newer by timestamp when both connections
 *   use timestamps, else by a sequence number past RCV.NXT. `reopens()` says
 *   so and the NAT starts a new flow; its ISS lies past everything the old
 *   one sent (`reopenIss`), as §4.2.2.13 asks. An older SYN gets the ACK that
 *   makes the guest reset the old incarnation (a Linux guest then resends its
 *   SYN within milliseconds).
 * - A bare ACK at RCV.NXT needs nothing.
 * - Anything else (a retransmitted FIN, stray data, an old duplicate) gets
 *   <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; a FIN restarts the 2*MSL timer.
 *
 * Entries expire in the order they entered (a restart moves one to the back),
 * from one scheduler task. At most `max` are kept: past that the oldest goes
 * early, like Linux's tcp_max_tw_buckets, and tcp.time_wait_overflow counts it.
 */
import type { Counters } from '../counters.js';
import type { Ipv4 } from '../wire/addr.js';
import { TcpFlags, type TcpOptions, type TcpRepr, type TcpTimestamps } from '../wire/tcp.js';
import type { Pollable, Scheduler } from '../daemon/scheduler.js';
import { FourTupleTable } from './four-tuple-table.js';
import { seqAdd, seqGt, seqLt, type TimeWaitTcb } from '../socket/tcp/index.js';

/**
 * A reopened connection's ISS is this far past the old SND.NXT: beyond any
 * segment of the old incarnation, and beyond one unscaled window of it.
 */
const REOPEN_ISS_GAP = 0x10000 + 2;
const EMPTY = Buffer.alloc(0);

/** One 4-tuple in TIME-WAIT. Sequence numbers are kept as int32 (`| 0`), so V8 stores them unboxed. */
export class TimeWaitEntry {
  /** The next entry with the same ports in the table. */
  nextInBucket: TimeWaitEntry | undefined = undefined;
  /** Expiry order: the entry that entered (or restarted) just before and just after this one. */
  older: TimeWaitEntry | undefined = undefined;
  newer: TimeWaitEntry | undefined = undefined;
  /** When TIME-WAIT began or was last restarted (scheduler ms). */
  since: number;
  readonly sndNxt: number;
  readonly rcvNxt: number;
  readonly window: number;
  readonly tsOffset: number;
  readonly tsRecent: number;
  readonly timestamps: boolean;

  constructor(
    readonly guestIp: Ipv4,
    readonly guestPort: number,
    readonly dstIp: Ipv4,
    readonly dstPort: number,
    tcb: TimeWaitTcb,
    /** Bytes relayed each way while the connection was open (for the connections listing). */
    readonly bytesIn: number,
    readonly bytesOut: number,
  ) {
    this.since = tcb.since;
    this.sndNxt = tcb.sndNxt | 0;
    this.rcvNxt = tcb.rcvNxt | 0;
    this.window = tcb.window;
    this.tsOffset = tcb.tsOffset | 0;
    this.timestamps = tcb.tsRecent !== null;
    this.tsRecent = (tcb.tsRecent ?? 0) | 0;
  }

  /** Our ISS for a new incarnation of this 4-tuple (RFC 1122 §4.2.2.13 (1)). */
  get reopenIss(): number {
    return seqAdd(this.sndNxt >>> 0, REOPEN_ISS_GAP);
  }
}

export interface TimeWaitOptions {
  /** 2*MSL in ms (RFC 9293 §3.4.2). */
  durationMs: number;
  /** Entries kept at most; the oldest goes first. */
  max: number;
  /** Writes a segment from `src` (our side) to the guest `dst`. */
  send(src: Ipv4, dst: Ipv4, seg: TcpRepr): void;
}

export class TimeWaitTable implements Pollable {
  /** A plain Map: entries live for seconds and are old by the time they go. */
  private readonly byTuple = new FourTupleTable<TimeWaitEntry>(new Map<number, TimeWaitEntry>());
  private oldest: TimeWaitEntry | undefined = undefined;
  private newest: TimeWaitEntry | undefined = undefined;
  /** One segment object for every ACK sent (the emitter copies it out at once). */
  private readonly timestamps: TcpTimestamps = { tsVal: 0, tsEcr: 0 };
  private readonly options: TcpOptions = {};
  private readonly ack: TcpRepr = { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: TcpFlags.ACK, window: 0, urgent: 0, options: this.options, payload: EMPTY };

  constructor(
    private readonly scheduler: Scheduler,
    private readonly counters: Counters,
    private readonly opts: TimeWaitOptions,
  ) {}

  get size(): number {
    return this.byTuple.size;
  }

  /** Take over a connection in TIME-WAIT. The caller has dropped its flow for this 4-tuple. */
  add(guestIp: Ipv4, guestPort: number, dstIp: Ipv4, dstPort: number, tcb: TimeWaitTcb, bytes: { in: number; out: number }): void {
    const e = new TimeWaitEntry(guestIp, guestPort, dstIp, dstPort, tcb, bytes.in, bytes.out);
    this.byTuple.insert(e);
    this.append(e);
    if (this.byTuple.size > this.opts.max && this.oldest) {
      this.counters.inc('tcp.time_wait_overflow');
      this.delete(this.oldest);
    }
    if (e.older === undefined) this.scheduler.schedule(this, e.since + this.opts.durationMs);
  }

  find(guestIp: Ipv4, guestPort: number, dstIp: Ipv4, dstPort: number): TimeWaitEntry | undefined {
    return this.byTuple.find(guestIp, guestPort, dstIp, dstPort);
  }

  /**
   * A guest segment for `e`, handled as the module comment says. True when it
   * is a SYN that reopens the 4-tuple: `e` is then gone, and the caller opens
   * a new flow with `e.reopenIss`.
   */
  reopens(now: number, e: TimeWaitEntry, seg: TcpRepr): boolean {
    const fl = seg.flags;
    const seq = seg.seq | 0;
    if (fl & TcpFlags.RST) {
      if (seq === e.rcvNxt) {
        this.counters.inc('tcp.time_wait_reset');
        this.delete(e);
      } else this.counters.drop('tcp_time_wait_rst');
      return false;
    }
    const ts = seg.options.timestamps;
    if ((fl & (TcpFlags.SYN | TcpFlags.ACK)) === TcpFlags.SYN) {
      const newer = e.timestamps && ts !== undefined ? seqGt(ts.tsVal, e.tsRecent) : seqGt(seq, e.rcvNxt);
      if (newer) {
        this.counters.inc('tcp.time_wait_reopened');
        this.delete(e);
        return true;
      }
      this.answer(now, e);
      return false;
    }
    const stale = e.timestamps && ts !== undefined && seqLt(ts.tsVal, e.tsRecent); // RFC 7323 §5.3 PAWS
    const bareAck = seq === e.rcvNxt && seg.payload.length === 0 && !(fl & (TcpFlags.FIN | TcpFlags.SYN));
    if (bareAck && !stale) return false;
    if (fl & TcpFlags.FIN) {
      e.since = now; // RFC 9293 §3.10.7.4 eighth: restart the 2*MSL timeout
      this.unlinkAge(e);
      this.append(e);
    }
    this.answer(now, e);
    return false;
  }

  /** Forget `e` (expired, reset, reopened, its port taken, or the table closing). */
  delete(e: TimeWaitEntry): void {
    if (this.byTuple.remove(e)) this.unlinkAge(e);
  }

  /** Expire what is due; the next expiry (scheduler task). */
  poll(now: number): number {
    const until = now - this.opts.durationMs;
    while (this.oldest !== undefined && this.oldest.since <= until) this.delete(this.oldest);
    return this.oldest === undefined ? Infinity : this.oldest.since + this.opts.durationMs;
  }

  *entries(): IterableIterator<TimeWaitEntry> {
    for (let e = this.oldest; e !== undefined; e = e.newer) yield e;
  }

  clear(): void {
    while (this.oldest !== undefined) this.delete(this.oldest);
    this.scheduler.cancel(this);
  }

  /** <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, with our timestamp if the connection had them. */
  private answer(now: number, e: TimeWaitEntry): void {
    const a = this.ack;
    a.srcPort = e.dstPort;
    a.dstPort = e.guestPort;
    a.seq = e.sndNxt >>> 0;
    a.ack = e.rcvNxt >>> 0;
    a.window = e.window;
    if (e.timestamps) {
      this.timestamps.tsVal = (Math.floor(now) + e.tsOffset) >>> 0;
      this.timestamps.tsEcr = e.tsRecent >>> 0;
      this.options.timestamps = this.timestamps;
    } else this.options.timestamps = undefined;
    this.counters.inc('tcp.time_wait_acks');
    this.opts.send(e.dstIp, e.guestIp, a);
  }

  private append(e: TimeWaitEntry): void {
    e.older = this.newest;
    e.newer = undefined;
    if (this.newest) this.newest.newer = e;
    else this.oldest = e;
    this.newest = e;
  }

  private unlinkAge(e: TimeWaitEntry): void {
    if (e.older) e.older.newer = e.newer;
    else if (this.oldest === e) this.oldest = e.newer;
    if (e.newer) e.newer.older = e.older;
    else if (this.newest === e) this.newest = e.older;
    e.older = e.newer = undefined;
  }
}
