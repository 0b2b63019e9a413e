/**
 * vfkit transport (`vfkit:///abs.sock`): a unix DATAGRAM socket hnet binds;
 * each datagram is one Ethernet frame. vfkit (`--device
 * virtio-net,unixSocketPath=`) and QEMU (`-netdev dgram,local.type=unix,
 * remote.type=unix,remote.path=SOCK`) both send from their own bound socket.
 * vfkit opens with a 4-byte "VFKT" datagram, which is not a frame and is skipped.
 *
 * Node has no unix datagram sockets, so the socket is made with koffi
 * (socket(2), bind(2), recvfrom(2), connect(2)). The peer's address is learned
 * from its first datagram with recvfrom; after that the socket is connect()ed
 * to the peer, so plain read()/write() carry its frames and the kernel
 * filters out anyone else (unix(7): a connected datagram socket only
 * receives from its peer). Reading then uses the same libuv pipe_wrap path as
 * the tap (tap.ts: one reused buffer, up to 32 datagrams per wakeup, no
 * threadpool hop). read() loses the sender address, which is why the
 * first datagram goes through recvfrom: while no peer is known the socket is
 * polled with non-blocking recvfrom on a 20 ms timer (idle cost only; libuv
 * exposes no readiness-only poll to JS). When the peer goes away (send gets
 * ECONNREFUSED/ENOENT or reads fail), the link closes and the transport
 * waits for the next peer the same way.
 * Caveat: libuv treats a zero-length read as EOF, so a zero-length datagram
 * from the peer ends the link (the peer may reconnect).
 */
import { closeSync, lstatSync, mkdirSync, unlinkSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { dirname } from 'node:path';
import { HnetError } from '../errors.js';
import type { Logger } from '../daemon/log.js';
import { BaseLink, countDrop, inInputBatch, nextLinkId, type Link, type Transport } from './link.js';
import { AF_UNIX, EAGAIN, ECONNREFUSED, ENOENT, MSG_DONTWAIT, SOCKADDR_UN_SIZE, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, libc, sockaddrUn, sockaddrUnPath } from './libc.js';
import { MAX_MTU } from './tap.js';
import { pipeHandle } from './fd-watch.js';

const VFKT = Buffer.from('VFKT');
const POLL_MS = 20;

/** Open an unbound-peer unix datagram socket bound at `path`; returns the fd. */
export function bindUnixDgram(path: string): number {
  const c = libc();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new HnetError('HNET_SOCKET', `socket(AF_UNIX, SOCK_DGRAM) failed (errno ${c.errno()})`);
  const { addr, len } = sockaddrUn(path);
  if (c.bind(fd, addr, len) !== 0) {
    const e = c.errno();
    c.close(fd);
    throw new HnetError('HNET_SOCKET', `cannot bind ${path} (errno ${e})`, ['check the folder exists and is writable']);
  }
  return fd;
}

/** Is some process bound to this datagram socket path? */
function dgramIsLive(path: string): boolean {
  const c = libc();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const { addr, len } = sockaddrUn(path);
  const ok = c.connect(fd, addr, len) === 0;
  c.close(fd);
  return ok;
}


export class VfkitLink extends BaseLink {
  private readonly sock: Socket;
  private readonly closedP: Promise<void>;
  private readonly deliverFn = (frame: Buffer): void => this.deliver(frame);

  constructor(
    private readonly fd: number,
    mtu: number,
    readonly peer: string,
    private readonly onGone: () => void = () => undefined,
  ) {
    super(nextLinkId('vfkit'), 'vfkit', mtu);
    this.sock = new Socket({
      handle: pipeHandle(fd, 'the datagram socket'),
      readable: true,
      writable: false,
      onread: {
        buffer: Buffer.allocUnsafe(MAX_MTU + 14 + 64),
        callback: (nread: number, buf: Uint8Array) => {
          const frame = (buf as Buffer).subarray(0, nread);
          if (nread === 4 && frame.equals(VFKT)) return;
          // Answered at the end of this callback, not a loop turn later (InputBatch).
          inInputBatch(this.inputBatch, this.deliverFn, frame);
        },
      },
    } as unknown as ConstructorParameters<typeof Socket>[0]);
    this.sock.on('error', () => countDrop(this.stats, 'io_error'));
    this.closedP = new Promise((res) =>
      this.sock.once('close', () => {
        this.notifyClose();
        this.onGone();
        res();
      }),
    );
  }

  /** Deliver the datagram that revealed the peer (read by recvfrom before the link existed). */
  first(frame: Buffer): void {
    if (frame.length === 4 && frame.equals(VFKT)) return;
    this.deliver(frame);
  }

  send(frame: Buffer): void {
    if (!this.admit(frame)) return;
    try {
      writeSync(this.fd, frame);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ENOTCONN') {
        countDrop(this.stats, 'tx_peer_gone');
        void this.close();
      } else countDrop(this.stats, code === 'EAGAIN' || code === 'ENOBUFS' ? 'tx_queue_full' : 'tx_error');
      return;
    }
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (!this.sock.destroyed) this.sock.destroy(); // closes the fd
    await this.closedP;
  }
}

export class VfkitTransport implements Transport {
  onLink: ((link: Link) => void) | null = null;
  private fd = -1;
  private timer: NodeJS.Timeout | null = null;
  private link: VfkitLink | null = null;
  private stopped = false;
  private readonly rxBuf = Buffer.allocUnsafe(MAX_MTU + 14 + 64);
  private readonly addrBuf = Buffer.alloc(SOCKADDR_UN_SIZE);
  private readonly addrLen = new Int32Array(1);

  constructor(
    readonly uri: string,
    private readonly path: string,
    private readonly opts: { mtu: number; log?: Logger },
  ) {}

  async start(): Promise<void> {
    if (process.platform !== 'linux') throw new HnetError('HNET_UNSUPPORTED', 'the vfkit transport is implemented for Linux hosts only so far');
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    try {
      const st = lstatSync(this.path);
      if (!st.isSocket()) throw new HnetError('HNET_BAD_SOCKET_PATH', `${this.path} exists and is not a socket`, [`move ${this.path} away`]);
      if (dgramIsLive(this.path)) throw new HnetError('HNET_SOCKET_IN_USE', `another process is bound to ${this.path}`, ['stop the other hnet daemon, or use another --home']);
      unlinkSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.listen();
    this.opts.log?.info('listening for vfkit', { uri: this.uri, path: this.path });
  }

  /** (Re)open the socket unconnected and wait for a peer's first datagram. */
  private listen(): void {
    if (this.stopped) return;
    if (this.fd === -1) {
      try {
        unlinkSync(this.path);
      } catch {
        // not there
      }
      this.fd = bindUnixDgram(this.path);
    }
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.timer.unref?.();
  }

  private poll(): void {
    const c = libc();
    this.addrLen[0] = SOCKADDR_UN_SIZE;
    const n = c.recvfrom(this.fd, this.rxBuf, this.rxBuf.length, MSG_DONTWAIT, this.addrBuf, this.addrLen);
    if (n < 0) {
      const e = c.errno();
      if (e !== EAGAIN) this.opts.log?.warn('vfkit recvfrom failed', { errno: e });
      return;
    }
    const peerPath = sockaddrUnPath(this.addrBuf, this.addrLen[0]);
    if (peerPath === '') return; // an unnamed (unbound) sender cannot be answered: ignored
    if (c.connect(this.fd, this.addrBuf, this.addrLen[0]) !== 0) {
      const e = c.errno();
      if (e === ECONNREFUSED || e === ENOENT) return;
      this.opts.log?.warn('vfkit connect to peer failed', { peer: peerPath, errno: e });
      return;
    }
    clearInterval(this.timer!);
    this.timer = null;
    const fd = this.fd;
    const link = new VfkitLink(fd, this.opts.mtu, peerPath, () => {
      // The link owned and closed the fd; bind a fresh socket for the next peer.
      if (this.fd === fd) this.fd = -1;
      this.link = null;
      this.opts.log?.info('vfkit peer gone', { link: link.id });
      this.listen();
    });
    this.link = link;
    this.opts.log?.info('vfkit peer connected', { link: link.id, peer: peerPath });
    if (this.onLink) this.onLink(link);
    link.first(this.rxBuf.subarray(0, n));
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const link = this.link;
    if (link) await link.close();
    else if (this.fd !== -1) closeSync(this.fd);
    this.fd = -1;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  describe(): string {
    return `vfkit datagram socket ${this.path}${this.link ? ` (peer ${this.link.peer})` : ' (no peer yet)'}`;
  }
}
