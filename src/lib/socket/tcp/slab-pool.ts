/**
 * Recycled 64 KiB slabs for received TCP data.
 *
 * Why: every in-order byte a guest sends is copied once, out of the link's
 * reused read buffer into a slab (recv-buffer.ts). A fresh slab per 64 KiB is
 * fresh memory: the copy page-faults on every 4 KiB page (measured: ~1 minor
 * fault per 4 KiB moved, the copy was ~20% of the daemon's CPU at MTU 65520),
 * and the garbage collector has to find the slabs again. A consumer that
 * knows when the bytes it read are no longer referenced (the NAT relay: when
 * the host socket's write completed) hands the slabs back, and the next copy
 * lands in memory that is already mapped and cache-warm.
 *
 * Contract: take() returns a slab the caller owns exclusively; give(slab)
 * returns ownership and the caller must not touch the slab (or any view of
 * it) again. At most `maxFree` slabs are kept, the rest left to the GC; and
 * the pool trims itself back to `keepFree` once traffic stops: every
 * `trimEveryMs` (an unref'd timer, running only while more than keepFree are
 * held) it drops the slabs that sat unused the whole period (fewest free
 * since the last trim), coldest first. So bulk transfers recycle up to
 * maxFree slabs (4 host-to-guest streams at MTU 65520 can have 256 in
 * flight, 4 MiB of send buffer each: with only 128 kept, fresh slabs made the
 * GC's old-generation marking about a quarter of the daemon's CPU), and an
 * idle daemon holds keepFree * SLAB_SIZE bytes here within two periods (the
 * dropped ones are freed by the full GC a drop asks for, reclaim.ts).
 */
import { memoryReclaim } from '../../reclaim.js';

export const SLAB_SIZE = 64 * 1024;

export class SlabPool {
  private readonly free: Buffer[] = [];
  /** Slabs handed out by take() that came from the free list (for tests and stats). */
  reused = 0;
  /** The fewest free slabs since the last trim: that many were not needed all period. */
  private lowWater = 0;
  private trimTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly maxFree = 1024,
    private readonly keepFree = 16,
    /** 0: no timer; the owner calls trim(). */
    private readonly trimEveryMs = 2000,
    /** Every slab of this pool has this size; a buffer of another size given back is left to the GC. */
    readonly slabSize = SLAB_SIZE,
    /** Called when trim() drops slabs: their memory comes back only through a GC (reclaim.ts). */
    private readonly onDrop: () => void = () => memoryReclaim.request(),
  ) {}

  take(): Buffer {
    const slab = this.free.pop();
    if (slab) {
      this.reused++;
      if (this.free.length < this.lowWater) this.lowWater = this.free.length;
      return slab;
    }
    this.lowWater = 0;
    // allocUnsafeSlow: a slab of its own, never a view into Node's shared pool.
    return Buffer.allocUnsafeSlow(this.slabSize);
  }

  give(slab: Buffer): void {
    if (slab.length !== this.slabSize || slab.byteOffset !== 0) return;
    if (this.free.length >= this.maxFree) return;
    this.free.push(slab);
    if (this.free.length > this.keepFree && this.trimTimer === null && this.trimEveryMs > 0) {
      this.trimTimer = setInterval(() => this.trim(), this.trimEveryMs);
      this.trimTimer.unref();
    }
  }

  /** Drop the slabs unused since the last trim, down to keepFree; returns how many. */
  trim(): number {
    const drop = Math.max(0, Math.min(this.lowWater, this.free.length - this.keepFree));
    // The bottom of the stack is the coldest: the most recently given are on top.
    if (drop > 0) {
      this.free.splice(0, drop);
      this.onDrop();
    }
    this.lowWater = this.free.length;
    if (this.free.length <= this.keepFree && this.trimTimer !== null) {
      clearInterval(this.trimTimer);
      this.trimTimer = null;
    }
    return drop;
  }

  get idle(): number {
    return this.free.length;
  }
}

/**
 * Full slabs a consumer may still reference, each with the stream offset one
 * past its last byte, in stream order: release(mark) gives back to the pool
 * every slab wholly below `mark` (the consumer's "nothing below here is
 * referenced"). Shared by the receive buffer and the host-read slabs.
 */
export class RetiredSlabs {
  private readonly list: Array<{ slab: Buffer; endMark: number }> = [];

  constructor(readonly pool: SlabPool) {}

  retire(slab: Buffer, endMark: number): void {
    this.list.push({ slab, endMark });
  }

  release(mark: number): void {
    let n = 0;
    while (n < this.list.length && this.list[n].endMark <= mark) this.pool.give(this.list[n++].slab);
    if (n > 0) this.list.splice(0, n);
  }
}
