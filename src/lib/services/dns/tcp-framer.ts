/**
 * DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8): every message is
 * preceded by its length as a 2-byte big-endian number.
 *
 * push(chunk) accepts stream data in arbitrary pieces and returns the
 * complete messages it now holds, in order. It buffers at most one
 * incomplete message (at most 65535 bytes plus the prefix), so a peer that
 * never finishes a message cannot make it grow. Zero-length messages carry
 * nothing to answer and are skipped (counted in `skipped`).
 */
export class DnsTcpFramer {
  private pending: Buffer = Buffer.alloc(0);
  skipped = 0;

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (buf.length < 2) break;
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      if (len === 0) this.skipped++;
      else out.push(Buffer.from(buf.subarray(2, 2 + len)));
      buf = buf.subarray(2 + len);
    }
    // copy the remainder so the caller's chunk is not retained
    this.pending = Buffer.from(buf);
    return out;
  }

  /** Bytes of an incomplete message held back. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Prefix `msg` with its length; throws RangeError above 65535 bytes (a caller bug). */
  static frame(msg: Buffer): Buffer {
    if (msg.length > 0xffff) throw new RangeError(`DNS message of ${msg.length} bytes cannot be framed`);
    const out = Buffer.alloc(2 + msg.length);
    out.writeUInt16BE(msg.length, 0);
    msg.copy(out, 2);
    return out;
  }

  frame(msg: Buffer): Buffer {
    return DnsTcpFramer.frame(msg);
  }
}
