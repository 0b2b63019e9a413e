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
 * `into(view)` once per slab the bytes land in (a read of up to 256 KiB spans
 * up to five 64 KiB slabs; a view never straddles two);
 * the views stay valid until `release(mark)` is called with a stream offset at
 * or past their end, after which their slab may be reused. `mark` is in the
 * same units as the bytes copied in (the TCP send queue's acknowledged
 * offset, when every byte the socket sends came through here).
 */
import net from 'node:net';
import { RetiredSlabs, SLAB_SIZE, type SlabPool } from '../socket/tcp/slab-pool.js';

/**
 * The one read buffer shared by every relayed host socket. 256 KiB, not
 * Node's default 64: a loopback or LAN peer often has more than 64 KiB
 * queued, and each read costs a system call and a callback into JavaScript.
 * Host-to-guest iperf3 at MTU 65520, medians of 4 interleaved 3 s runs
 * against 64 KiB: 1 stream 12.96 against 9.91 Gbit/s, 4 streams 8.46 against
 * 7.64, through a port forward 12.85 against 11.19; 512 KiB was no better
 * (12.83 against 13.19 for 1 stream), and at MTU 1500 the size made no
 * difference (7.13 against 7.20).
 */
export const HOST_READ_BUFFER = Buffer.allocUnsafeSlow(256 * 1024);

export class HostRxSlabs {
  private slab: Buffer | null = null;
  private pos = 0;
  /** Bytes copied in so far (stream offset of the next byte). */
  private total = 0;
  private readonly retired: RetiredSlabs;
  private ended = false;

  constructor(private readonly pool: SlabPool) {
    this.retired = new RetiredSlabs(pool);
  }

  copyIn(buf: Buffer, n: number, into: (view: Buffer) => void): void {
    if (this.ended) return;
    let off = 0;
    while (off < n) {
      if (!this.slab || this.pos === SLAB_SIZE) {
        if (this.slab) this.retired.retire(this.slab, this.total);
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
    this.retired.release(mark);
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

type ReadSink = (n: number, buf: Buffer) => boolean;
/** Accepted sockets that read through onread, with where their bytes go (null: not claimed, emitted as 'data'). */
const sinks = new WeakMap<net.Socket, ReadSink | null>();

/**
 * Make `server`'s accepted sockets read through onread into HOST_READ_BUFFER
 * like the relay's own connections; claim their bytes with setReadSink().
 * Node's Server has no onread option, so the listening handle's connection
 * callback (lib/net.js onconnection, Node 20) is replaced by one that builds
 * the Socket with onread; the server then does not count these connections
 * (server.close() does not wait for them: the forward manager destroys its
 * connections itself). Returns false, changing nothing, when the handle does
 * not look as expected.
 */
export function acceptWithOnread(server: net.Server): boolean {
  const handle = (server as unknown as { _handle?: { onconnection?: unknown } })._handle;
  if (!handle || typeof handle.onconnection !== 'function') return false;
  const original = handle.onconnection as (err: number, client: unknown) => void;
  handle.onconnection = function onconnection(this: unknown, err: number, client: unknown) {
    if (err || !client) return original.call(this, err, client);
    const sock: net.Socket = new net.Socket({
      handle: client,
      readable: true,
      writable: true,
      onread: {
        buffer: HOST_READ_BUFFER,
        // Unclaimed, the socket behaves as usual: a copy is pushed as 'data'.
        callback: (n: number, buf: Uint8Array) => sinks.get(sock)?.(n, buf as Buffer) ?? sock.push(Buffer.from(buf.subarray(0, n))),
      },
    } as unknown as net.SocketConstructorOpts);
    sinks.set(sock, null);
    server.emit('connection', sock);
  };
  return true;
}

/** Send `sock`'s reads to `sink` (null: let go of it); false when the socket does not read through onread. */
export function setReadSink(sock: net.Socket, sink: ReadSink | null): boolean {
  if (!sinks.has(sock)) return false;
  sinks.set(sock, sink);
  return true;
}
