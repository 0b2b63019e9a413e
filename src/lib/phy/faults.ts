/**
 * Fault injection for tests of loss recovery (e.g. TCP retransmission,
 * RFC 9293 §3.8.1, RFC 6298): withFaults(link, { dropSendRate, dropRecvRate,
 * seed }) drops that share of the frames hnet sends (and optionally of the
 * frames it receives), chosen by a seeded PRNG so a failing run replays
 * exactly. Each injected drop is counted on the link as
 * `tx_fault_injected` / `rx_fault_injected`. Received frames can also be
 * reordered (held back and delivered after the next frame, or within 1 ms)
 * and duplicated: the impairments of `tc netem loss/reorder/duplicate`, for
 * kernels built without netem.
 */
import { ForwardingLink, countDrop, type Link } from './link.js';

export interface FaultOptions {
  /** Share of sent frames to drop, 0..1. */
  dropSendRate?: number;
  /** Share of received frames to drop, 0..1. */
  dropRecvRate?: number;
  /** Share of received frames delivered after the next one (reordering), 0..1. */
  reorderRecvRate?: number;
  /** Share of received frames delivered twice, 0..1. */
  duplicateRecvRate?: number;
  /** PRNG seed (32-bit); the same seed drops the same frame positions. */
  seed?: number;
}

/** mulberry32: a tiny, fast, seedable 32-bit PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function checkRate(name: string, rate: number): number {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`${name} must be between 0 and 1, got ${rate}`);
  return rate;
}

export class FaultyLink extends ForwardingLink {
  private readonly random: () => number;
  private readonly sendRate: number;
  private readonly recvRate: number;
  private readonly reorderRate: number;
  private readonly duplicateRate: number;
  private held: Buffer | null = null;
  private heldTimer: NodeJS.Timeout | null = null;

  constructor(inner: Link, opts: FaultOptions) {
    super(inner);
    this.random = mulberry32(opts.seed ?? 1);
    this.sendRate = checkRate('dropSendRate', opts.dropSendRate ?? 0);
    this.recvRate = checkRate('dropRecvRate', opts.dropRecvRate ?? 0);
    this.reorderRate = checkRate('reorderRecvRate', opts.reorderRecvRate ?? 0);
    this.duplicateRate = checkRate('duplicateRecvRate', opts.duplicateRecvRate ?? 0);
  }

  override send(frame: Buffer, gsoSize?: number, partialCsum?: boolean): void {
    if (this.sendRate > 0 && this.random() < this.sendRate) return countDrop(this.inner.stats, 'tx_fault_injected');
    this.inner.send(frame, gsoSize, partialCsum);
  }

  protected override received(frame: Buffer, deliver: (frame: Buffer) => void): void {
    if (this.recvRate > 0 && this.random() < this.recvRate) return countDrop(this.inner.stats, 'rx_fault_injected');
    const held = this.held;
    if (!held && this.reorderRate > 0 && this.random() < this.reorderRate) {
      // The frame is a view into a reused buffer: keep a copy until the next frame passes it.
      this.held = Buffer.from(frame);
      this.heldTimer = setTimeout(() => this.release(deliver), 1);
      return;
    }
    deliver(frame);
    if (this.duplicateRate > 0 && this.random() < this.duplicateRate) deliver(frame);
    if (held) this.release(deliver);
  }

  private release(deliver: (frame: Buffer) => void): void {
    const held = this.held;
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.held = null;
    this.heldTimer = null;
    if (held) deliver(held);
  }
}

export function withFaults(link: Link, opts: FaultOptions): Link {
  return new FaultyLink(link, opts);
}
