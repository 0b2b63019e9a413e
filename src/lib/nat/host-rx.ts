/**
 * Host-socket reads without a buffer per read.
 *
 * A net.Socket in flowing mode allocates a fresh 64 KiB buffer for every
 * read and passes it through the Readable machinery; for host->guest bulk
 * data that is garbage-collector work and a page fault per 4 KiB on every
 * read (measured on the daemon: ~11% of its CPU in GC at MTU 65520). Instead
 * the relay's host sockets are created with Node's `onread` option: every
 * read lands in one shared buffer (safe: Node calls back synchronously per
 * read, and the bytes are copied out before it returns), and `HostRxSlabs`
 * copies them into recycled slabs (slab-pool.ts) that the TCP send queue
 * holds by reference until the guest acknowledges them.
 *
 * Contract of HostRxSlabs: `copyIn(buf, n, into)` copies buf[0, n) and calls
 * `into(view)` once or twice (a read may straddle two slabs; views never do);
 * the views stay valid until `release(mark)` is called with a stream offset at
 * or past their end, after which their slab may be reused. `mark` is in the
 * same units as the bytes copied in (the TCP send queue's acknowledged
 * offset, when every byte the socket sends came through here).
 */
import { SLAB_SIZE, type SlabPool } from '../socket/tcp/slab-pool.js';

/** The one read buffer shared by every relayed host socket (Node's default read size). */
export const HOST_READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

export class HostRxSlabs {
  private slab: Buffer | null = null;
  private pos = 0;
  /** Bytes copied in so far (stream offset of the next byte). */
  private total = 0;
  private readonly retired: Array<{ slab: Buffer; endMark: number }> = [];
  private ended = false;

  constructor(private readonly pool: SlabPool) {}

  copyIn(buf: Buffer, n: number, into: (view: Buffer) => void): void {
    if (this.ended) return;
    let off = 0;
    while (off < n) {
      if (!this.slab || this.pos === SLAB_SIZE) {
        if (this.slab) this.retired.push({ slab: this.slab, endMark: this.total });
        this.slab = this.pool.take();
        this.pos = 0;
      }
      const len = Math.min(n - off, SLAB_SIZE - this.pos);
      buf.copy(this.slab, this.pos, off, off + len);
      const view = this.slab.subarray(this.pos, this.pos + len);
      this.pos += len;
      this.total += len;
      off += len;
      into(view);
    }
  }

  /**
   * Every byte below stream offset `mark` is no longer referenced: recycle the
   * slabs wholly below it, and the current one too once the host has sent its
   * last byte (end()) and that is below the mark, so a short connection's
   * slab goes back as soon as its data is acknowledged.
   */
  release(mark: number): void {
    let n = 0;
    while (n < this.retired.length && this.retired[n].endMark <= mark) this.pool.give(this.retired[n++].slab);
    if (n > 0) this.retired.splice(0, n);
    if (this.ended && this.slab && mark >= this.total) {
      this.pool.give(this.slab);
      this.slab = null;
    }
  }

  /** The host socket will deliver no more bytes. */
  end(): void {
    this.ended = true;
  }

  /** The consumer is gone (its socket closed): every slab is free. */
  dispose(): void {
    this.ended = true;
    this.release(Infinity);
  }
}
