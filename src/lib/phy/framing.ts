/**
 * Length-prefixed frame streams: QEMU's `-netdev stream` (4-byte big-endian
 * length, then the frame; QEMU net/stream.c) and hnet's stdio transport
 * (2-byte little-endian length, the vpnkit/hyperkit framing).
 *
 * Deframer: push() arbitrary byte chunks as they arrive. Frames that lie wholly
 * inside one chunk are delivered as views into that chunk (no copy); only a
 * frame split across reads is copied, once, into a preallocated reassembly
 * buffer. A declared length of zero or above maxFrame is dropped and counted
 * and its bytes skipped, so the stream stays in sync and the connection
 * survives. Views are valid only during the onFrame call.
 *
 * FrameBatcher: encodes outgoing frames with their header into one burst
 * buffer and hands the burst to `flush` once per tick (one write syscall for
 * all frames sent in the same turn of the event loop).
 */

export interface PrefixFormat {
  headerBytes: 2 | 4;
  bigEndian: boolean;
}

export const QEMU_STREAM: PrefixFormat = { headerBytes: 4, bigEndian: true };
export const STDIO_STREAM: PrefixFormat = { headerBytes: 2, bigEndian: false };

function readLen(fmt: PrefixFormat, buf: Buffer, off: number): number {
  if (fmt.headerBytes === 4) return fmt.bigEndian ? buf.readUInt32BE(off) : buf.readUInt32LE(off);
  return fmt.bigEndian ? buf.readUInt16BE(off) : buf.readUInt16LE(off);
}

function writeLen(fmt: PrefixFormat, buf: Buffer, off: number, len: number): void {
  if (fmt.headerBytes === 4) {
    if (fmt.bigEndian) buf.writeUInt32BE(len, off);
    else buf.writeUInt32LE(len, off);
  } else if (fmt.bigEndian) buf.writeUInt16BE(len, off);
  else buf.writeUInt16LE(len, off);
}

/** Largest frame a format can express at all. */
export function formatLimit(fmt: PrefixFormat): number {
  return fmt.headerBytes === 2 ? 0xffff : 0xffffffff;
}

export class Deframer {
  private readonly header: Buffer;
  private headerHave = 0;
  private readonly body: Buffer;
  /** Bytes of the current frame still expected (body); -1 = reading a header. */
  private want = -1;
  private bodyHave = 0;
  /** Bytes of a rejected frame still to skip. */
  private skip = 0;

  constructor(
    private readonly fmt: PrefixFormat,
    private readonly maxFrame: number,
    private readonly onFrame: (frame: Buffer) => void,
    private readonly onDrop: (reason: string) => void,
  ) {
    this.header = Buffer.alloc(fmt.headerBytes);
    this.body = Buffer.allocUnsafe(maxFrame);
  }

  /** True when no partial frame is pending. */
  get idle(): boolean {
    return this.want === -1 && this.headerHave === 0 && this.skip === 0;
  }

  push(chunk: Buffer): void {
    const h = this.fmt.headerBytes;
    let off = 0;
    const end = chunk.length;
    while (off < end) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, end - off);
        this.skip -= n;
        off += n;
        continue;
      }
      if (this.want === -1) {
        // Fast path: a whole header and a whole frame inside this chunk.
        if (this.headerHave === 0 && end - off >= h) {
          const len = readLen(this.fmt, chunk, off);
          if (!this.accept(len)) {
            off += h;
            continue;
          }
          if (end - off - h >= len) {
            this.onFrame(chunk.subarray(off + h, off + h + len));
            off += h + len;
            continue;
          }
          this.want = len;
          this.bodyHave = 0;
          off += h;
          continue;
        }
        // Slow path: the header itself is split.
        const n = Math.min(h - this.headerHave, end - off);
        chunk.copy(this.header, this.headerHave, off, off + n);
        this.headerHave += n;
        off += n;
        if (this.headerHave < h) continue;
        this.headerHave = 0;
        const len = readLen(this.fmt, this.header, 0);
        if (!this.accept(len)) continue;
        this.want = len;
        this.bodyHave = 0;
        continue;
      }
      const n = Math.min(this.want - this.bodyHave, end - off);
      chunk.copy(this.body, this.bodyHave, off, off + n);
      this.bodyHave += n;
      off += n;
      if (this.bodyHave === this.want) {
        const len = this.want;
        this.want = -1;
        this.onFrame(this.body.subarray(0, len));
      }
    }
  }

  /** Validate a declared length; on rejection arrange to skip its bytes. */
  private accept(len: number): boolean {
    if (len === 0) {
      this.onDrop('rx_zero_length');
      return false;
    }
    if (len > this.maxFrame) {
      this.onDrop('rx_oversized');
      this.skip = len;
      return false;
    }
    return true;
  }
}

/** Encode one frame with its header (for tests and one-off writes). */
export function encodeFrame(fmt: PrefixFormat, frame: Buffer): Buffer {
  const out = Buffer.allocUnsafe(fmt.headerBytes + frame.length);
  writeLen(fmt, out, 0, frame.length);
  frame.copy(out, fmt.headerBytes);
  return out;
}

/**
 * Collect frames sent during one tick into a burst buffer; flush once from
 * setImmediate (after the current I/O callbacks) or when the burst fills.
 */
export class FrameBatcher {
  private burst: Buffer | null = null;
  private used = 0;
  private scheduled = false;

  constructor(
    private readonly fmt: PrefixFormat,
    /** Write the burst; return true if the stream no longer holds it (written synchronously), so it can be reused. */
    private readonly flush: (chunk: Buffer) => boolean,
    private readonly burstBytes = 128 * 1024,
  ) {}

  /** Bytes queued but not yet flushed. */
  get pending(): number {
    return this.used;
  }

  add(frame: Buffer): void {
    const need = this.fmt.headerBytes + frame.length;
    if (this.burst && this.used + need > this.burst.length) this.flushNow();
    if (!this.burst) {
      this.burst = Buffer.allocUnsafe(Math.max(this.burstBytes, need));
      this.used = 0;
    }
    writeLen(this.fmt, this.burst, this.used, frame.length);
    frame.copy(this.burst, this.used + this.fmt.headerBytes);
    this.used += need;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flushNow();
      });
    }
  }

  flushNow(): void {
    if (!this.burst || this.used === 0) return;
    const burst = this.burst;
    const chunk = burst.subarray(0, this.used);
    // A chunk the stream still holds belongs to it now; start a fresh burst next time.
    this.burst = null;
    this.used = 0;
    if (this.flush(chunk) && burst.length === this.burstBytes) this.burst = burst;
  }

  /** Forget anything queued (peer gone). Returns the number of bytes dropped. */
  discard(): number {
    const n = this.used;
    this.burst = null;
    this.used = 0;
    return n;
  }
}
