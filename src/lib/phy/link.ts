/**
 * The frame-port contract between transports and the stack (DESIGN §2, §3).
 *
 * A Transport (tap, qemu stream server, stdio, vfkit) produces Links: a tap
 * gives one link, a qemu stream server one link per connected VM. A Link moves
 * whole Ethernet frames (no FCS):
 *  - send(frame) writes or enqueues synchronously; the frame is copied if it
 *    must outlive the call. It never throws on a dead peer or a full queue:
 *    the frame is dropped and counted in stats.drops.
 *  - onFrame(frame) receives a VIEW valid only during the call: transports
 *    reuse their read buffers. Copy what must outlive it.
 *  - onClose fires once when the peer goes away or close() finishes.
 * `mtu` is the L3 MTU; the largest frame a link accepts is mtu + 14
 * (the Ethernet header, IEEE 802.3 clause 3.1.1, without FCS).
 */
import { segmentTcpFrame } from './gso.js';

export interface LinkStats {
  rxFrames: number;
  txFrames: number;
  rxBytes: number;
  txBytes: number;
  /** Dropped frames by reason, e.g. { rx_oversized: 2, tx_closed: 1 }. */
  drops: Record<string, number>;
}

export interface Link {
  readonly id: string;
  readonly kind: string;
  readonly mtu: number;
  /**
   * `gsoSize` > 0 marks `frame` as a TCP super-segment longer than the MTU,
   * to be cut into pieces of gsoSize payload bytes by the peer (only sent to
   * links whose `tso` is true: tap with virtio-net offload).
   */
  /**
   * `partialCsum` marks an IPv4/TCP frame whose TCP checksum field holds only
   * the pseudo-header sum, for the peer to complete or trust (only sent to
   * links whose `tso` is true; see partialTcpChecksum in vnet-hdr.ts).
   */
  send(frame: Buffer, gsoSize?: number, partialCsum?: boolean): void;
  /** The link takes TCP super-segments and partial TCP checksums (see send). */
  readonly tso?: boolean;
  /**
   * Optional (a tap with offload): send the frame made of `head` and then the
   * `tail` views, as send() would, without copying them together. Wrappers
   * that need the whole frame (pcap, faults) do not have it, so the stack
   * falls back to send() through them.
   */
  sendv?(head: Buffer, tail: readonly Buffer[], gsoSize: number, partialCsum: boolean): void;
  /**
   * True while onFrame runs for a frame whose transport checksum the link
   * computed itself (a tap completing a virtio NEEDS_CSUM frame): verifying
   * it again would only repeat the same sum.
   */
  readonly rxChecksumValid?: boolean;
  /**
   * During onFrame, when rxChecksumValid: write the checksum into the frame if
   * the link left it partial (TapLink.deferRxChecksum). Whoever passes the
   * frame on or records it calls this first; the stack alone need not.
   */
  completeRxChecksum?(frame: Buffer): void;
  onFrame: ((frame: Buffer) => void) | null;
  onClose: (() => void) | null;
  close(): Promise<void>;
  readonly stats: LinkStats;
}

/**
 * Brackets the frames one read callback delivers (the daemon's Scheduler):
 * the output they cause is flushed when the callback ends, not a loop turn later.
 */
export interface InputBatch {
  beginInput(): void;
  endInput(): void;
}

/**
 * Call fn(a, b) inside `batch`'s bracket (closed even if fn throws) and
 * return its result; without a batch, just call it. `fn` is a function made
 * once, not per call: this runs on every read.
 */
export function inInputBatch<R, A, B = undefined>(batch: InputBatch | null, fn: (a: A, b: B) => R, a: A, b?: B): R {
  if (batch === null) return fn(a, b as B);
  batch.beginInput();
  try {
    return fn(a, b as B);
  } finally {
    batch.endInput();
  }
}

export interface Transport {
  readonly uri: string;
  start(): Promise<void>;
  onLink: ((link: Link) => void) | null;
  close(): Promise<void>;
  describe(): string;
}

/** Ethernet header length: destination, source, EtherType. */
export const ETH_HEADER = 14;

/** Largest frame (no FCS) a link with this L3 MTU carries. */
export function maxFrameFor(mtu: number): number {
  return mtu + ETH_HEADER;
}

export function newStats(): LinkStats {
  return { rxFrames: 0, txFrames: 0, rxBytes: 0, txBytes: 0, drops: {} };
}

export function countDrop(stats: LinkStats, reason: string): void {
  stats.drops[reason] = (stats.drops[reason] ?? 0) + 1;
}

/** Smallest frame worth passing up: an Ethernet header. Shorter input is dropped as runt. */
export const MIN_FRAME = ETH_HEADER;

let nextId = 1;
/** Process-unique link ids: `${kind}:${n}`. */
export function nextLinkId(kind: string): string {
  return `${kind}:${nextId++}`;
}

/**
 * Helpers shared by link implementations: delivery with rx accounting, once-only
 * close notification.
 */
export abstract class BaseLink implements Link {
  readonly stats: LinkStats = newStats();
  rxChecksumValid = false;
  onFrame: ((frame: Buffer) => void) | null = null;
  onClose: (() => void) | null = null;
  /** Set by the consumer; links that read in batches (tap) bracket each batch with it. */
  inputBatch: InputBatch | null = null;
  protected closed = false;
  private closeNotified = false;

  constructor(
    readonly id: string,
    readonly kind: string,
    readonly mtu: number,
  ) {}

  get maxFrame(): number {
    return maxFrameFor(this.mtu);
  }

  abstract send(frame: Buffer): void;
  abstract close(): Promise<void>;

  /** Pass a received frame up; runts and oversized frames are dropped and counted. */
  protected deliver(frame: Buffer): void {
    if (frame.length < MIN_FRAME) return countDrop(this.stats, 'rx_runt');
    if (frame.length > this.maxFrame) return countDrop(this.stats, 'rx_oversized');
    this.stats.rxFrames++;
    this.stats.rxBytes += frame.length;
    const cb = this.onFrame;
    if (cb) cb(frame);
    else countDrop(this.stats, 'rx_no_consumer');
  }

  /** Fire onClose exactly once. */
  protected notifyClose(): void {
    this.closed = true;
    if (this.closeNotified) return;
    this.closeNotified = true;
    this.onClose?.();
  }

  /**
   * Common send-side checks; returns false (after counting) when the frame
   * must not go out. An oversized TCP super-segment (from a TSO guest, via the
   * switch) is cut into MTU-sized frames and sent as those instead (gso.ts).
   */
  protected admit(frame: Buffer): boolean {
    if (this.closed) {
      countDrop(this.stats, 'tx_closed');
      return false;
    }
    if (frame.length > this.maxFrame) {
      if (!segmentTcpFrame(frame, this.mtu, (piece) => this.send(piece))) countDrop(this.stats, 'tx_oversized');
      return false;
    }
    return true;
  }
}

/**
 * A Link that forwards everything to an inner link; middleware (pcap, fault
 * injection) overrides send() and/or tap() to observe or alter frames. Stats
 * are the inner link's, so the middleware's drops show up where people look.
 */
export class ForwardingLink implements Link {
  onClose: (() => void) | null = null;
  private handler: ((frame: Buffer) => void) | null = null;

  constructor(protected readonly inner: Link) {
    inner.onClose = () => this.onClose?.();
  }

  get id(): string {
    return this.inner.id;
  }
  get kind(): string {
    return this.inner.kind;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  get stats(): LinkStats {
    return this.inner.stats;
  }
  get tso(): boolean {
    return this.inner.tso === true;
  }
  get rxChecksumValid(): boolean {
    return this.inner.rxChecksumValid === true;
  }
  completeRxChecksum(frame: Buffer): void {
    this.inner.completeRxChecksum?.(frame);
  }

  get onFrame(): ((frame: Buffer) => void) | null {
    return this.handler;
  }
  set onFrame(fn: ((frame: Buffer) => void) | null) {
    this.handler = fn;
    this.inner.onFrame = fn ? (frame) => this.received(frame, fn) : null;
  }

  /** A frame from the peer; forward it (overridable). */
  protected received(frame: Buffer, deliver: (frame: Buffer) => void): void {
    deliver(frame);
  }

  send(frame: Buffer, gsoSize?: number, partialCsum?: boolean): void {
    this.inner.send(frame, gsoSize, partialCsum);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
