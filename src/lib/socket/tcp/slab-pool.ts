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
 * it) again. At most `maxFree` slabs are kept; the rest are left to the GC, so
 * an idle daemon holds at most maxFree * SLAB_SIZE bytes here.
 */
export const SLAB_SIZE = 64 * 1024;

export class SlabPool {
  private readonly free: Buffer[] = [];
  /** Slabs handed out by take() that came from the free list (for tests and stats). */
  reused = 0;

  constructor(private readonly maxFree = 128) {}

  take(): Buffer {
    const slab = this.free.pop();
    if (slab) {
      this.reused++;
      return slab;
    }
    // allocUnsafeSlow: a slab of its own, never a view into Node's shared pool.
    return Buffer.allocUnsafeSlow(SLAB_SIZE);
  }

  give(slab: Buffer): void {
    if (slab.length !== SLAB_SIZE || slab.byteOffset !== 0) return;
    if (this.free.length < this.maxFree) this.free.push(slab);
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
