/**
 * The send queue: application chunks held by reference (no copy) from SND.UNA
 * to the last queued byte. Bytes are addressed by stream offset (bytes since
 * the start of the connection, a plain number that never wraps); the socket
 * maps sequence numbers to offsets. `view()` returns a subarray of one chunk
 * when the range lies inside it, else copies into a caller-supplied scratch
 * buffer (segments straddling two chunks); `views()` returns the range as
 * views of the chunks it spans, copying nothing. A cursor makes sequential
 * reads O(1) instead of scanning from the head each time.
 */

export class SendQueue {
  private chunks: Buffer[] = [];
  /** Stream offset of chunks[i][0]. */
  private starts: number[] = [];
  private head = 0;
  /** Stream offset of the first unacknowledged byte. */
  private begin = 0;
  /** Stream offset one past the last queued byte. */
  private end = 0;
  private cursor = 0;

  /** Bytes queued and not yet acknowledged (sent or not). */
  get length(): number {
    return this.end - this.begin;
  }

  /** Stream offset of the first unacknowledged byte. */
  get beginOffset(): number {
    return this.begin;
  }

  get endOffset(): number {
    return this.end;
  }

  push(data: Buffer): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.starts.push(this.end);
    this.end += data.length;
  }

  /** Drop `n` acknowledged bytes from the front. */
  ack(n: number): void {
    this.begin = Math.min(this.end, this.begin + n);
    while (this.head < this.chunks.length && this.starts[this.head] + this.chunks[this.head].length <= this.begin) {
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.starts = this.starts.slice(this.head);
      this.cursor = Math.max(0, this.cursor - this.head);
      this.head = 0;
    }
    if (this.cursor < this.head) this.cursor = this.head;
  }

  /**
   * The bytes [offset, offset+len) (which must be queued): a view into a chunk
   * when possible, otherwise copied into `scratch` (at least `len` bytes).
   */
  view(offset: number, len: number, scratch: Buffer): Buffer {
    let i = this.seek(offset);
    const chunk = this.chunks[i];
    const rel = offset - this.starts[i];
    if (rel + len <= chunk.length) return chunk.subarray(rel, rel + len);
    let copied = 0;
    while (copied < len) {
      const c = this.chunks[i];
      const from = offset + copied - this.starts[i];
      const n = Math.min(c.length - from, len - copied);
      c.copy(scratch, copied, from, from + n);
      copied += n;
      i++;
    }
    return scratch.subarray(0, len);
  }

  /**
   * The bytes [offset, offset+len) (which must be queued) as views of the
   * chunks they span, no copy: the first is returned, any further ones are
   * pushed to `rest` in order.
   */
  views(offset: number, len: number, rest: Buffer[]): Buffer {
    let i = this.seek(offset);
    const rel = offset - this.starts[i];
    const first = this.chunks[i].subarray(rel, Math.min(this.chunks[i].length, rel + len));
    let got = first.length;
    while (got < len) {
      const c = this.chunks[++i];
      const n = Math.min(c.length, len - got);
      rest.push(n === c.length ? c : c.subarray(0, n));
      got += n;
    }
    return first;
  }

  /** The index of the chunk holding stream offset `offset`; moves the cursor there. */
  private seek(offset: number): number {
    let i = this.cursor;
    if (i >= this.chunks.length || i < this.head || this.starts[i] > offset) i = this.head;
    while (i < this.chunks.length - 1 && this.starts[i] + this.chunks[i].length <= offset) i++;
    this.cursor = i;
    return i;
  }
}
