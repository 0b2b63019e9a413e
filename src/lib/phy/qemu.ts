/**
 * QEMU stream transport (DESIGN §4): hnet listens, QEMU connects with
 * `-netdev stream,id=n0,server=off,addr.type=unix,addr.path=PATH` (or
 * addr.type=inet for qemu+tcp). Each frame on the byte stream is a 4-byte
 * big-endian length followed by the Ethernet frame (QEMU net/stream.c, the
 * same framing as the older `-netdev socket`).
 *
 * One Link per accepted connection. Frames split across reads are reassembled
 * (framing.ts); a zero length or a frame longer than mtu + 14 is dropped and
 * counted and the connection survives. A peer that disconnects fires
 * link.onClose. Writes of one event-loop turn are coalesced into one write.
 * A unix socket file left behind by a dead daemon is replaced; one with a live
 * listener is refused; the file is removed on close. qemu+tcp listens on
 * loopback unless the URI says `?allow-remote=1`.
 *
 * Reads use 'data' events: one Buffer per read (Node's slab), not per frame;
 * frames inside a read are views into it.
 */
import { mkdirSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { HnetError } from '../errors.js';
import type { Logger } from '../daemon/log.js';
import { BaseLink, countDrop, inInputBatch, maxFrameFor, nextLinkId, type Link, type Transport } from './link.js';
import { Deframer, FrameBatcher, QEMU_STREAM, type PrefixFormat } from './framing.js';

/** Above this many bytes queued toward a peer, further frames are dropped (counted). */
export const TX_HIGH_WATER = 4 * 1024 * 1024;

/** A Link over any connected byte stream with length-prefixed frames. */
export class StreamLink extends BaseLink {
  private readonly deframer: Deframer;
  private readonly pushChunk: (chunk: Buffer) => void;
  private readonly batcher: FrameBatcher;
  private readonly closedP: Promise<void>;

  constructor(
    kind: string,
    mtu: number,
    private readonly sock: Socket,
    fmt: PrefixFormat = QEMU_STREAM,
    readonly peer = '',
  ) {
    super(nextLinkId(kind), kind, mtu);
    this.deframer = new Deframer(fmt, maxFrameFor(mtu), (f) => this.deliver(f), (r) => countDrop(this.stats, r));
    this.pushChunk = (chunk) => this.deframer.push(chunk);
    this.batcher = new FrameBatcher(fmt, (chunk) => {
      if (this.sock.destroyed) return false;
      this.sock.write(chunk);
      return this.sock.writableLength === 0;
    });
    sock.setNoDelay?.(true);
    // One read's frames are answered together, at its end (InputBatch).
    sock.on('data', (chunk: Buffer) => inInputBatch(this.inputBatch, this.pushChunk, chunk));
    sock.on('error', () => countDrop(this.stats, 'io_error'));
    this.closedP = new Promise((res) =>
      sock.once('close', () => {
        const lost = this.batcher.discard();
        if (lost > 0) countDrop(this.stats, 'tx_closed');
        this.notifyClose();
        res();
      }),
    );
  }

  send(frame: Buffer): void {
    if (!this.admit(frame)) return;
    if (this.sock.destroyed || !this.sock.writable) return countDrop(this.stats, 'tx_closed');
    if (this.sock.writableLength + this.batcher.pending > TX_HIGH_WATER) return countDrop(this.stats, 'tx_backpressure');
    this.batcher.add(frame);
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
  }

  /** Write everything queued now instead of at the end of this loop turn. */
  flush(): void {
    this.batcher.flushNow();
  }

  async close(): Promise<void> {
    if (!this.sock.destroyed) {
      this.batcher.flushNow();
      this.sock.end();
      this.sock.destroySoon();
      const t = setTimeout(() => this.sock.destroy(), 1000);
      await this.closedP;
      clearTimeout(t);
    }
    await this.closedP;
  }
}

export type QemuAddress = { type: 'unix'; path: string } | { type: 'tcp'; host: string; port: number; allowRemote: boolean };

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Is something listening on this unix socket path? */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((res) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      res(true);
    });
    c.once('error', () => res(false));
  });
}

/** Remove a stale socket file; refuse a live one or a file that is not a socket. */
export async function replaceStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw new HnetError('HNET_BAD_SOCKET_PATH', `${path} exists and is not a socket`, [`move ${path} away or choose another --listen path`]);
  }
  if (await socketIsLive(path)) {
    throw new HnetError('HNET_SOCKET_IN_USE', `another process is listening on ${path}`, ['stop the other hnet daemon, or use another --home or --listen path']);
  }
  unlinkSync(path);
}

export class QemuStreamTransport implements Transport {
  onLink: ((link: Link) => void) | null = null;
  private server: Server | null = null;
  private readonly links = new Set<StreamLink>();
  private listening: string | null = null;

  constructor(
    readonly uri: string,
    private readonly addr: QemuAddress,
    private readonly opts: { mtu: number; log?: Logger; kind?: string },
  ) {}

  get kind(): string {
    return this.opts.kind ?? 'qemu';
  }

  /** Currently connected guests. */
  get activeLinks(): Link[] {
    return [...this.links];
  }

  async start(): Promise<void> {
    const addr = this.addr;
    if (addr.type === 'tcp' && !addr.allowRemote && !LOOPBACK.test(addr.host)) {
      throw new HnetError('HNET_BAD_SPEC', `refusing to listen for frames on ${addr.host}: not loopback`, [`use qemu+tcp://127.0.0.1:${addr.port}`, 'or add ?allow-remote=1 to expose it deliberately']);
    }
    if (addr.type === 'unix') {
      mkdirSync(dirname(addr.path), { recursive: true, mode: 0o700 });
      await replaceStaleSocket(addr.path);
    }
    const server = createServer((sock) => this.accept(sock));
    this.server = server;
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      if (addr.type === 'unix') server.listen(addr.path, () => res());
      else server.listen(addr.port, addr.host, () => res());
    });
    server.on('error', (err) => this.opts.log?.error('qemu transport error', { uri: this.uri, error: err.message }));
    const a = server.address();
    this.listening = typeof a === 'string' ? a : `${(a as AddressInfo).address}:${(a as AddressInfo).port}`;
    this.opts.log?.info('listening for QEMU', { uri: this.uri, address: this.listening });
  }

  /** The bound address: a socket path or HOST:PORT (the real port when 0 was asked). */
  address(): string | null {
    return this.listening;
  }

  private accept(sock: Socket): void {
    const peer = sock.remoteAddress ? `${sock.remoteAddress}:${sock.remotePort}` : 'unix';
    const link = new StreamLink(this.kind, this.opts.mtu, sock, QEMU_STREAM, peer);
    this.links.add(link);
    sock.once('close', () => {
      this.links.delete(link);
      this.opts.log?.info('guest disconnected', { link: link.id, peer });
    });
    this.opts.log?.info('guest connected', { link: link.id, peer });
    if (this.onLink) this.onLink(link);
    else {
      this.opts.log?.warn('no consumer for new link; closing', { link: link.id });
      void link.close();
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    await Promise.all([...this.links].map((l) => l.close()));
    if (server) await new Promise<void>((res) => server.close(() => res()));
    if (this.addr.type === 'unix') {
      try {
        unlinkSync(this.addr.path);
      } catch {
        // already gone
      }
    }
  }

  describe(): string {
    const where = this.listening ?? (this.addr.type === 'unix' ? this.addr.path : `${this.addr.host}:${this.addr.port}`);
    return `${this.kind} stream on ${where} (${this.links.size} connected)`;
  }
}
