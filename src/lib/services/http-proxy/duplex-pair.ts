/**
 * Two connected in-memory Duplex streams: what one end writes, the other
 * reads. The TCP NAT holds one end (it is the GatewayService's Duplex) and the
 * proxy's node:http server the other, as if it were a socket.
 *
 * Contract:
 * - Backpressure is end to end: a write is acknowledged only when the peer's
 *   readable buffer accepts it, or once the peer is read again.
 * - end() on one side ends the peer's readable side (half-close, like a TCP FIN).
 * - destroy() on one side destroys the other (like a TCP RST), passing the error.
 * - Each end carries the socket-like no-ops node:http may call (setTimeout,
 *   setNoDelay, setKeepAlive) and `remoteAddress` for logs.
 */
import { Duplex } from 'node:stream';

export class PairEnd extends Duplex {
  peer!: PairEnd;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  private waiting: (() => void) | null = null;

  constructor() {
    super({ allowHalfOpen: true });
  }

  override _read(): void {
    const w = this.peer.waiting;
    if (w) {
      this.peer.waiting = null;
      w();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.peer.destroyed) return callback(new Error('peer closed'));
    if (this.peer.push(chunk)) callback();
    else this.waiting = callback;
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
    if (!this.peer.destroyed) this.peer.destroy(err ?? undefined);
    callback(err);
  }

  setTimeout(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }
}

/** A connected pair: [the NAT's end, the service's end]. */
export function duplexPair(): [PairEnd, PairEnd] {
  const a = new PairEnd();
  const b = new PairEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
