/**
 * The host side of a relayed TCP flow, as the relay (tcp.ts) sees it: a
 * kernel socket it connected itself (raw-tcp.ts), or any Duplex — a gateway
 * service, or a port forward's accepted net.Socket (DuplexHost below).
 *
 * Contract: events fire from the event loop, never from inside a call the
 * relay makes (write, end, pause, resume, destroy). `data(buf, n)` hands over
 * buf[0, n); when `kernel` is true buf is a shared read buffer, valid only
 * during the call, and chunks given to write() are no longer referenced once
 * `pendingBytes` is 0 (so their memory may be recycled). Returning false from
 * `data` stops reading until resume(). `close` fires once, last.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { setReadSink } from './host-rx.js';
import { inInputBatch, type InputBatch } from '../phy/link.js';

export interface HostEvents {
  data(buf: Buffer, n: number): boolean;
  /** Every byte written so far has been handed to the host. */
  drain(): void;
  /** The host will send no more (FIN). */
  end(): void;
  error(code: string): void;
  close(): void;
  /**
   * Optional, asked by a kernel host after each read of `n` bytes: the buffer
   * its next read should land in (HOST_READ_BUFFER, or a region the consumer
   * owns and recognises when data() hands it back). Applied before any
   * further read.
   */
  readBuffer?(n: number): Buffer;
}

export interface HostStream {
  readonly kernel: boolean;
  /** Bytes given to write() that the host has not taken yet. */
  readonly pendingBytes: number;
  /** The host's end() arrived before close. */
  readonly readEnded: boolean;
  readonly closed: boolean;
  /** Start delivering events (reading starts here). */
  attach(events: HostEvents): void;
  /** Write the chunks in order, in as few syscalls as the host allows; the array itself is not kept. */
  write(chunks: readonly Buffer[]): void;
  /** No more writes: FIN once everything written has gone. */
  end(): void;
  pause(): void;
  resume(): void;
  /** Close now; pending writes are dropped. */
  destroy(): void;
}

/**
 * A Duplex as a HostStream; a net.Socket made by acceptWithOnread reads
 * through its shared buffer. With a `batch`, each data event is bracketed as
 * RawTcpHost brackets its reads: the relay answers it before the event returns.
 */
export class DuplexHost implements HostStream {
  readonly kernel: boolean;

  constructor(
    private readonly duplex: Duplex,
    private readonly batch: InputBatch | null = null,
  ) {
    this.kernel = duplex instanceof net.Socket;
  }

  get pendingBytes(): number {
    return this.duplex.writableLength;
  }

  get readEnded(): boolean {
    return this.duplex.readableEnded;
  }

  get closed(): boolean {
    return this.duplex.destroyed;
  }

  attach(ev: HostEvents): void {
    const d = this.duplex;
    const data = (buf: Buffer, n: number): boolean => ev.data(buf, n);
    const viaOnread = d instanceof net.Socket && setReadSink(d, (n, buf) => inInputBatch(this.batch, data, buf, n), ev.readBuffer?.bind(ev));
    const onData = (chunk: Buffer) => {
      if (!inInputBatch(this.batch, data, chunk, chunk.length)) d.pause();
    };
    const onDrain = () => ev.drain();
    const onEnd = () => ev.end();
    const onError = (err: NodeJS.ErrnoException) => ev.error(err.code ?? 'unknown');
    if (!viaOnread) d.on('data', onData);
    d.on('drain', onDrain);
    d.on('end', onEnd);
    d.on('error', onError);
    d.once('close', () => {
      ev.close();
      // A closed socket's handle lives until a full GC and reaches the socket:
      // through these listeners it kept the whole flow (see raw-tcp.ts).
      if (viaOnread) setReadSink(d as net.Socket, null);
      d.off('data', onData);
      d.off('drain', onDrain);
      d.off('end', onEnd);
      d.off('error', onError);
    });
  }

  write(chunks: readonly Buffer[]): void {
    const d = this.duplex;
    if (d.destroyed) return;
    d.cork();
    for (const c of chunks) d.write(c);
    d.uncork();
  }

  end(): void {
    if (!this.duplex.destroyed) this.duplex.end();
  }

  pause(): void {
    this.duplex.pause();
  }

  resume(): void {
    this.duplex.resume();
  }

  destroy(): void {
    this.duplex.destroy();
  }
}
