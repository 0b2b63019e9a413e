/**
 * The receive side's storage (RFC 9293 §3.8.6.2, §3.10.7.4 "seventh, process
 * the segment text"): in-order bytes copied out of the caller's frame into
 * owned slabs (one allocation per 64 KiB, not per segment), handed out by
 * `read()`; and the out-of-order queue of owned copies, disjoint and sorted,
 * merged into the in-order stream as holes fill. The socket only ever offers
 * data inside its advertised window, so unread + out-of-order bytes never
 * exceed the receive buffer. `maxOooSegments` bounds the queue's entry count
 * against floods of tiny segments.
 *
 * Slab recycling (optional, `usePool`): a consumer that reads and later knows
 * the bytes it read are no longer referenced calls `release(mark)` with the
 * `readTotal` it saw; every full slab whose bytes all lie below the mark goes
 * back to the pool (slab-pool.ts says why). Without release() nothing is
 * recycled and slabs are left to the GC, as with no pool.
 */
import { RetiredSlabs, SLAB_SIZE, type SlabPool } from './slab-pool.js';
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from './seq.js';

/** The slab before the first byte (shared: an empty Buffer per connection was an allocation each). */
const NO_SLAB = Buffer.alloc(0);

interface OooSegment {
  seq: number;
  data: Buffer;
}

export class ReceiveBuffer {
  /** In-order bytes not yet read by the application. */
  unread = 0;
  /** Bytes held in the out-of-order queue. */
  oooBytes = 0;
  private ready: Buffer[] = [];
  private readyHead = 0;
  private slab: Buffer = NO_SLAB;
  private readPos = 0;
  private writePos = 0;
  private ooo: OooSegment[] = [];
  /** In-order bytes ever pushed / ever handed out by read(); marks for release(). */
  private pushedTotal = 0;
  readTotal = 0;
  /** Recycling (usePool): full slabs the reader may still reference. */
  private retired: RetiredSlabs | null = null;

  constructor(private readonly maxOooSegments = 1024) {}

  get hasOoo(): boolean {
    return this.ooo.length > 0;
  }

  /** Take slabs from `pool`; they go back through release(). */
  usePool(pool: SlabPool): void {
    this.retired = new RetiredSlabs(pool);
  }

  /** Copy in-order bytes out of the frame. */
  pushInOrder(data: Buffer): void {
    let off = 0;
    while (off < data.length) {
      if (this.writePos === this.slab.length) {
        if (this.writePos > this.readPos) this.ready.push(this.slab.subarray(this.readPos, this.writePos));
        const retired = this.retired;
        if (retired && this.slab.length === SLAB_SIZE) retired.retire(this.slab, this.pushedTotal);
        this.slab = retired ? retired.pool.take() : Buffer.allocUnsafe(SLAB_SIZE);
        this.readPos = 0;
        this.writePos = 0;
      }
      const n = Math.min(data.length - off, this.slab.length - this.writePos);
      data.copy(this.slab, this.writePos, off, off + n);
      this.writePos += n;
      this.pushedTotal += n;
      off += n;
    }
    this.unread += data.length;
  }

  /**
   * The consumer no longer references any byte it read below stream offset
   * `mark` (a past `readTotal`): full slabs wholly below it return to the pool,
   * and so does the current one once every byte pushed is read and below the
   * mark; the next push takes a slab from the pool again. So an idle
   * connection holds no slab (it held its partly filled one until it closed:
   * after bulk traffic a pooled slab is resident, so up to 64 KiB each).
   */
  release(mark: number): void {
    const retired = this.retired;
    if (!retired) return;
    retired.release(mark);
    // A mark is a past readTotal: at or past every byte pushed, nothing is unread either.
    if (mark >= this.pushedTotal && this.slab.length === SLAB_SIZE) {
      retired.pool.give(this.slab);
      this.slab = NO_SLAB;
      this.readPos = this.writePos = 0;
    }
  }

  /**
   * The consumer is done with this buffer and references nothing it read
   * (its host socket closed): every slab wholly read goes back to the pool,
   * the current one included; unread bytes stay where they are, and later
   * data (if any) goes to fresh memory.
   */
  releaseAll(): void {
    this.release(this.readTotal);
    this.retired = null; // any later slab is fresh memory, never recycled
  }

  /** The next owned chunk of in-order data, or null. */
  read(): Buffer | null {
    let chunk: Buffer | null = null;
    if (this.readyHead < this.ready.length) {
      chunk = this.ready[this.readyHead++];
      if (this.readyHead === this.ready.length) {
        this.ready.length = 0;
        this.readyHead = 0;
      }
    } else if (this.writePos > this.readPos) {
      chunk = this.slab.subarray(this.readPos, this.writePos);
      this.readPos = this.writePos;
    }
    if (chunk) {
      this.unread -= chunk.length;
      this.readTotal += chunk.length;
    }
    return chunk;
  }

  /**
   * Queue [seq, seq+data.length), which lies above rcvNxt and inside the
   * window, keeping only the parts not already held. Returns false when the
   * queue is full and the segment was dropped.
   */
  insertOoo(seq: number, data: Buffer): boolean {
    const end = seqAdd(seq, data.length);
    const list = this.ooo;
    const last = list[list.length - 1];
    if (!last || seqGe(seq, seqAdd(last.seq, last.data.length))) {
      // Common case: the next segment above everything held so far.
      if (list.length >= this.maxOooSegments) return false;
      list.push(this.piece(data, seq, seq, end));
      this.oooBytes += data.length;
      return true;
    }
    let i = 0;
    while (i < list.length && seqLe(seqAdd(list[i].seq, list[i].data.length), seq)) i++;
    let cur = seq;
    let j = i;
    const pieces: OooSegment[] = [];
    while (j < list.length && seqLt(list[j].seq, end)) {
      if (seqLt(cur, list[j].seq)) pieces.push(this.piece(data, seq, cur, list[j].seq));
      const segEnd = seqAdd(list[j].seq, list[j].data.length);
      if (seqGt(segEnd, cur)) cur = segEnd;
      j++;
    }
    if (seqLt(cur, end)) pieces.push(this.piece(data, seq, cur, end));
    if (pieces.length === 0) return true;
    if (list.length + pieces.length > this.maxOooSegments) return false;
    // Insert pieces in order among the existing entries from index i.
    let k = i;
    for (const p of pieces) {
      while (k < list.length && seqLt(list[k].seq, p.seq)) k++;
      list.splice(k, 0, p);
      this.oooBytes += p.data.length;
      k++;
    }
    return true;
  }

  private piece(data: Buffer, base: number, from: number, to: number): OooSegment {
    const s = seqSub(from, base);
    return { seq: from, data: Buffer.from(data.subarray(s, s + seqSub(to, from))) };
  }

  /** Move out-of-order data that now starts at or below rcvNxt into the stream; returns the new rcvNxt. */
  drain(rcvNxt: number): number {
    let n = 0;
    while (n < this.ooo.length && seqLe(this.ooo[n].seq, rcvNxt)) {
      const seg = this.ooo[n];
      const skip = seqSub(rcvNxt, seg.seq);
      if (skip < seg.data.length) {
        this.pushInOrder(seg.data.subarray(skip));
        rcvNxt = seqAdd(rcvNxt, seg.data.length - skip);
      }
      this.oooBytes -= seg.data.length;
      n++;
    }
    if (n > 0) this.ooo.splice(0, n);
    return rcvNxt;
  }

  /**
   * Fill `out` with up to `max` SACK blocks (RFC 2018 §4): the block holding
   * `recent` first, then the others in sequence order. Returns the count.
   */
  sackBlocks(out: Array<[number, number]>, max: number, recent: number): number {
    // Two passes over the merged runs, no allocation: first the run holding
    // `recent`, then the others in order.
    let count = 0;
    let recentLeft = -1;
    for (let pass = 0; pass < 2; pass++) {
      let i = 0;
      while (i < this.ooo.length && count < max) {
        const left = this.ooo[i].seq;
        let right = seqAdd(left, this.ooo[i].data.length);
        i++;
        while (i < this.ooo.length && this.ooo[i].seq === right) {
          right = seqAdd(right, this.ooo[i].data.length);
          i++;
        }
        const holdsRecent = seqLe(left, recent) && seqLt(recent, right);
        if (pass === 0 ? holdsRecent : left !== recentLeft) {
          out[count][0] = left;
          out[count][1] = right;
          count++;
          if (pass === 0) recentLeft = left;
        }
      }
    }
    return count;
  }

  /** Highest sequence held out of order (for tests and stats), or undefined. */
  oooEnd(): number | undefined {
    const last = this.ooo[this.ooo.length - 1];
    return last ? seqAdd(last.seq, last.data.length) : undefined;
  }
}
