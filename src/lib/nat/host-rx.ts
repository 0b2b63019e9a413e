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
 * A socket with a queue (its last read was DIRECT_READ_MIN or more: bulk
 * data) reads straight into a 256 KiB slab instead, so its bytes are never
 * copied at all: the relay names the next read's buffer after each read
 * (HostEvents.readBuffer; Node's onread takes a buffer for the next read).
 * Small reads keep the shared buffer, so an idle or request/response flow
 * pins no slab. Paired A/B, 2 s rounds: host→guest 1.08x the throughput at
 * MTU 1500 and 1.10x at 65520, the port forward 1.10x and 1.12x, for
 * 0.77-0.90x the CPU per GB.
 *
 * Contract of HostRxSlabs: `copyIn(buf, n, into)` takes buf[0, n) and calls
 * `into(view)` once per slab the bytes land in (a read of up to 256 KiB spans
 * up to five 64 KiB slabs; a view never straddles two). A read that landed in
 * the buffer the last `nextReadBuffer()` returned is taken where it lies, as
 * one view;
 * the views stay valid until `release(mark)` is called with a stream offset at
 * or past their end, after which their slab may be reused. `mark` is in the
 * same units as the bytes copied in (the TCP send queue's acknowledged
 * offset, when every byte the socket sends came through here).
 */
import net from 'node:net';
import { RetiredSlabs, SLAB_SIZE, SlabPool } from '../socket/tcp/slab-pool.js';

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

/**
 * A read of at least this much means the host socket had a queue (bulk data):
 * its next read goes straight into a slab (HostRxSlabs.nextReadBuffer).
 */
export const DIRECT_READ_MIN = 64 * 1024;

/**
 * Slabs that host reads land in directly: as large as the shared read buffer,
 * so reading in place costs no extra system calls or callbacks. At most 64 MiB
 * kept free for reuse (as the copy slabs' pool), 1 MiB once traffic stops.
 */
export const DIRECT_SLABS = new SlabPool(256, 4, 2000, HOST_READ_BUFFER.length);

export class HostRxSlabs {
  private slab: Buffer | null = null;
  private pos = 0;
  /** Bytes taken in so far (stream offset of the next byte). */
  private total = 0;
  private readonly retired: RetiredSlabs;
  private ended = false;
  /** The slab host reads land in directly, and the next free byte in it. */
  private direct: Buffer | null = null;
  private directPos = 0;
  private readonly directRetired: RetiredSlabs;
  /** The buffer last handed out by nextReadBuffer(): a read in it is taken where it lies. */
  private target: Buffer | null = null;

  constructor(
    private readonly pool: SlabPool,
    private readonly directPool: SlabPool = DIRECT_SLABS,
  ) {
    this.retired = new RetiredSlabs(pool);
    this.directRetired = new RetiredSlabs(directPool);
  }

  /**
   * Take the host's bytes buf[0, n). A read that landed in the buffer the last
   * nextReadBuffer() returned is taken where it lies (one view, no copy);
   * anything else is copied into the copy slabs.
   */
  copyIn(buf: Buffer, n: number, into: (view: Buffer) => void): void {
    if (this.ended) return;
    if (buf === this.target && this.direct !== null) {
      this.target = null;
      const view = this.direct.subarray(this.directPos, this.directPos + n);
      this.directPos += n;
      this.total += n;
      into(view);
      return;
    }
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
   * Where the host socket's next read should land, after a read of `lastRead`
   * bytes. After a read of DIRECT_READ_MIN or more (the socket had a queue):
   * the free tail of a direct slab, so the next bytes are never copied (a
   * fresh slab when less than DIRECT_READ_MIN is left). After a smaller read,
   * or once the host has ended: HOST_READ_BUFFER, and the direct slab is
   * retired, so an idle or request/response flow pins no 256 KiB slab.
   * The caller must make the returned buffer the socket's read buffer at once
   * (a read into a slab after it was retired could land in recycled memory).
   */
  nextReadBuffer(lastRead: number): Buffer {
    if (lastRead < DIRECT_READ_MIN || this.ended) {
      this.target = null;
      this.retireDirect();
      return HOST_READ_BUFFER;
    }
    if (this.direct === null || this.direct.length - this.directPos < DIRECT_READ_MIN) {
      this.retireDirect();
      this.direct = this.directPool.take();
      this.directPos = 0;
    }
    this.target = this.direct.subarray(this.directPos);
    return this.target;
  }

  private retireDirect(): void {
    if (this.direct === null) return;
    // Copy-slab bytes taken after it are released by the same marks; the
    // retired list only needs its marks in order, which `total` is.
    this.directRetired.retire(this.direct, this.total);
    this.direct = null;
  }

  /**
   * Every byte below stream offset `mark` is no longer referenced: recycle the
   * slabs wholly below it, and the current one too once every byte taken is
   * below the mark, so a connection's slab goes back as soon as its data is
   * acknowledged and an idle connection pins none (the next copyIn takes one
   * from the pool again).
   */
  release(mark: number): void {
    this.retired.release(mark);
    this.directRetired.release(mark);
    if (this.slab && mark >= this.total) {
      this.pool.give(this.slab);
      this.slab = null;
    }
  }

  /** The host socket will deliver no more bytes. */
  end(): void {
    this.ended = true;
    this.target = null;
    this.retireDirect();
  }

  /** The consumer is gone (its socket closed): every slab is free. */
  dispose(): void {
    this.end();
    this.release(Infinity);
  }
}

type ReadSink = (n: number, buf: Buffer) => boolean;
/** After a read of n bytes, the buffer the next read lands in (HostEvents.readBuffer). */
type ReadBufferChooser = (n: number) => Buffer;
interface Claim {
  sink: ReadSink;
  next?: ReadBufferChooser;
}
/** Accepted sockets that read through onread, with where their bytes go (null: not claimed, emitted as 'data'). */
const sinks = new WeakMap<net.Socket, Claim | null>();

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
    let lastRead = 0;
    const sock: net.Socket = new net.Socket({
      handle: client,
      readable: true,
      writable: true,
      onread: {
        // Node asks for the next read's buffer after every read (and once while the socket is built).
        buffer: () => (lastRead === 0 ? HOST_READ_BUFFER : (sinks.get(sock)?.next?.(lastRead) ?? HOST_READ_BUFFER)),
        callback: (n: number, buf: Uint8Array) => {
          lastRead = n;
          const claim = sinks.get(sock);
          // Unclaimed, the socket behaves as usual: a copy is pushed as 'data'.
          return claim ? claim.sink(n, buf as Buffer) : sock.push(Buffer.from(buf.subarray(0, n)));
        },
      },
    } as unknown as net.SocketConstructorOpts);
    sinks.set(sock, null);
    server.emit('connection', sock);
  };
  return true;
}

/**
 * Send `sock`'s reads to `sink` (null: let go of it), and with `next`, let it
 * choose where each next read lands; false when the socket does not read
 * through onread.
 */
export function setReadSink(sock: net.Socket, sink: ReadSink | null, next?: ReadBufferChooser): boolean {
  if (!sinks.has(sock)) return false;
  sinks.set(sock, sink === null ? null : { sink, next });
  return true;
}
