/**
 * Views into one reused frame buffer (a link's read buffer, the interface's
 * transmit buffer): `to(end)` returns buf[start, end) as a Buffer, the same
 * view object as last time while the end stays the same. Request/response
 * traffic brings frames of one or two sizes, and a new Buffer view costs an
 * allocation and a subclass constructor call on every frame (in the daemon's
 * cpu profile under ping-pong, Buffer views were 13-15% of its JavaScript).
 *
 * Contract: the bytes are the buffer's either way, valid until the buffer is
 * written again; whoever keeps a frame copies it (Link contract), so handing
 * out the same view object twice changes nothing a consumer can see.
 */
export class ReusedView {
  private view: Buffer;

  constructor(
    private readonly buf: Buffer,
    private readonly start = 0,
  ) {
    this.view = buf.subarray(start, start);
  }

  /** buf[start, end). */
  to(end: number): Buffer {
    if (this.view.length !== end - this.start) this.view = this.buf.subarray(this.start, end);
    return this.view;
  }
}
