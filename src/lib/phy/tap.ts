/**
 * Linux tap transport: `tap:NAME[?netns=NS]` (root or CAP_NET_ADMIN).
 *
 * Opens /dev/net/tun and issues TUNSETIFF with IFF_TAP|IFF_NO_PI
 * (Documentation/networking/tuntap.rst): this creates the tap, or attaches to
 * an existing persistent one. With netns=NS the open and the ioctl happen
 * inside that namespace: the calling thread enters /run/netns/NS with
 * setns(2) and always returns to the namespace it came from (opened first as
 * /proc/self/ns/net), even when creation fails. The tap device belongs to the
 * namespace of the thread that opened /dev/net/tun. Then `ip link set NAME mtu
 * N up`. A tap we created is not persistent: it disappears when we close its
 * fd. A pre-existing persistent tap is left in place.
 *
 * Reading: the fd is read by libuv's event loop through a Pipe handle
 * opened on it (fd-watch.ts readFd: no net.Socket, so no stream state
 * machine per frame). Each read() on a tap returns exactly one frame;
 * each wakeup drains the queue (see drain()) into ONE reused buffer, so there is no
 * threadpool hop and no allocation per frame (fs.read would cost one
 * threadpool round trip per frame).
 * Writing: one fs.writeSync per frame on the non-blocking fd; EAGAIN (queue
 * full) and EIO (device down) are counted as drops, never thrown.
 *
 * Offload (on unless `tap:NAME?offload=0`): the tap is opened with
 * IFF_VNET_HDR, TUNSETVNETHDRSZ 10 and TUNSETOFFLOAD TUN_F_CSUM|TUN_F_TSO4, so
 * the guest kernel hands us TCP super-segments (up to 64 KiB, one read) with
 * partial checksums instead of MTU-sized frames. Each read strips the
 * virtio-net header (vnet-hdr.ts) and completes a partial checksum in place;
 * each write goes out as writev([header, frame]) - no extra copy. The link
 * reports `tso`: the stack may then send TCP segments over the MTU with a
 * gsoSize (header gso TCPV4), which the guest kernel takes as one GRO'd train.
 */
import { closeSync, openSync, writeSync, writevSync } from 'node:fs';
import { constants } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { HnetError, PermissionError } from '../errors.js';
import type { Logger } from '../daemon/log.js';
import { BaseLink, countDrop, inInputBatch, nextLinkId, type Link, type Transport } from './link.js';
import { segmentTcpFrame } from './gso.js';
import { readFd, type FdReader } from './fd-watch.js';
import { CLONE_NEWNET, IFF_NO_PI, IFF_TAP, IFREQ_SIZE, O_NONBLOCK, O_RDWR, TUNSETIFF, libc } from './libc.js';
import {
  IFF_VNET_HDR, TUNSETOFFLOAD, TUNSETVNETHDRSZ, TUN_F_CSUM, TUN_F_TSO4, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4, VNET_HDR_LEN, TCP_CSUM_OFFSET, completeChecksum, completedTcpCopy, tcpCsumStart, tcpPayloadLength,
} from './vnet-hdr.js';
import { put16le, u16le } from '../wire/bytes.js';
import { ReusedView } from '../wire/reused-view.js';

/** Frames read per wakeup before yielding to the event loop. */
const DRAIN_BATCH = 64;
/** See TapLink.shouldDrain. DRAIN_PROBE is a power of two. */
const IDLE_DRAINS = 8;
const DRAIN_PROBE = 8;
const SMALL_FRAME = 512;
/** Frames up to this size are sent with one write(2) (TapLink.sendSmall). */
const SMALL_TX_FRAME = 2048;

const execFileP = promisify(execFile);

/** Largest MTU hnet offers (DESIGN §1); the tap read buffer holds one such frame. */
export const MAX_MTU = 65520;

export interface TapSpec {
  name: string;
  netns?: string;
  /** virtio-net header with checksum + TSO4 offload (default true). */
  offload?: boolean;
}

/** Largest IPv4 datagram (RFC 791 total length) plus Ethernet: a TSO super-segment. */
const MAX_GSO_FRAME = 65535 + 14;

/** Valid Linux interface name: 1-15 bytes, no '/', whitespace or ':' (net/core/dev.c dev_valid_name). */
export function validIfName(name: string): boolean {
  return /^[A-Za-z0-9_.-]{1,15}$/.test(name) && name !== '.' && name !== '..';
}

async function ip(netns: string | undefined, args: string[]): Promise<string> {
  const full = netns ? ['-n', netns, ...args] : args;
  const { stdout } = await execFileP('ip', full, { timeout: 15_000 });
  return stdout;
}

async function linkExists(name: string, netns?: string): Promise<boolean> {
  try {
    await ip(netns, ['-o', 'link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Open (creating if needed) the tap inside `netns` (or the current namespace)
 * and return its non-blocking fd. The thread's namespace is always restored.
 */
export function openTapFd(name: string, netns?: string, offload = false): number {
  const c = libc();
  const ifr = Buffer.alloc(IFREQ_SIZE);
  ifr.write(name, 0, 15, 'ascii');
  put16le(ifr, 16, IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0));
  let home = -1;
  let target = -1;
  let tun = -1;
  let failure: unknown;
  try {
    if (netns) {
      home = openSync('/proc/self/ns/net', 'r');
      try {
        target = openSync(`/run/netns/${netns}`, 'r');
      } catch {
        throw new HnetError('HNET_NO_NETNS', `network namespace ${netns} does not exist`, [`create it: ip netns add ${netns}`]);
      }
      if (c.setns(target, CLONE_NEWNET) !== 0) {
        const e = c.errno();
        if (e === 1) throw new PermissionError(`entering network namespace ${netns}`);
        throw new HnetError('HNET_NETNS', `cannot enter network namespace ${netns} (errno ${e})`);
      }
    }
    try {
      tun = openSync('/dev/net/tun', O_RDWR | O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') throw new PermissionError(`opening /dev/net/tun for tap ${name}`);
      throw new HnetError('HNET_NO_TUN', `cannot open /dev/net/tun: ${code ?? (err as Error).message}`, ['load the tun module: modprobe tun']);
    }
    if (c.ioctl(tun, TUNSETIFF, ifr) !== 0) {
      const e = c.errno();
      closeSync(tun);
      tun = -1;
      if (e === 1) throw new PermissionError(`creating tap ${name}`);
      if (e === 16) throw new HnetError('HNET_TAP_BUSY', `tap ${name} is already attached to another process`, ['stop the other user of the device, or choose another tap name']);
      throw new HnetError('HNET_TAP', `TUNSETIFF on ${name} failed (errno ${e}); is ${name} an existing non-tap device?`, ['choose another tap name']);
    }
    if (offload && !setOffload(tun)) {
      const e = c.errno();
      closeSync(tun);
      tun = -1;
      throw new HnetError('HNET_TAP', `cannot enable offload on tap ${name} (errno ${e})`, [`attach without it: tap:${name}?offload=0`]);
    }
  } catch (err) {
    failure = err;
  }
  if (home !== -1) {
    const back = target !== -1 ? c.setns(home, CLONE_NEWNET) : 0;
    closeSync(home);
    if (target !== -1) closeSync(target);
    // Staying in the wrong namespace would send every later host socket
    // into the guest's network: fail loudly and stop.
    if (back !== 0) {
      if (tun !== -1) closeSync(tun);
      throw new Error(`FATAL: could not return to the original network namespace (errno ${c.errno()})`);
    }
  }
  if (failure !== undefined) throw failure;
  return tun;
}

/** TUNSETVNETHDRSZ 10 (pointer to int), then TUNSETOFFLOAD CSUM|TSO4 (by value), per if_tun.h / tun.c. */
function setOffload(tun: number): boolean {
  const c = libc();
  const arg = Buffer.alloc(4);
  arg.writeInt32LE(VNET_HDR_LEN, 0);
  return c.ioctl(tun, TUNSETVNETHDRSZ, arg) === 0 && c.ioctlValue(tun, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) === 0;
}

/** errno names by number (os.constants.errno), for koffi's raw errno; the first name wins (EAGAIN, not its alias EWOULDBLOCK). */
const ERRNO_NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(constants.errno)) if (!ERRNO_NAMES.has(n)) ERRNO_NAMES.set(n, name);

/**
 * The drop a failed tap write counts, from Node's error code or koffi's raw
 * errno: EAGAIN the queue is full, EIO the device is down, EBADF closed.
 */
export function txDropReason(code: string | number | undefined): string {
  if (typeof code === 'number') code = ERRNO_NAMES.get(code);
  return code === 'EAGAIN' ? 'tx_queue_full' : code === 'EIO' ? 'tx_link_down' : code === 'EBADF' ? 'tx_closed' : 'tx_error';
}

/**
 * The virtio-net header in front of a frame hnet sends. A partial TCP checksum
 * goes out as NEEDS_CSUM (virtio 1.1 §5.1.6.2): the guest kernel takes it as
 * CHECKSUM_PARTIAL and, delivering locally, never sums the payload. Otherwise
 * the full checksum is in the frame: flags 0, no offsets. `gsoSize` > 0 marks
 * a TCPv4 super-segment. hdr_len stays 0 (a hint only). No object per frame.
 */
function writeTxVnetHdr(h: Buffer, frame: Buffer, gsoSize: number, partialCsum: boolean): void {
  h[0] = partialCsum ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0;
  h[1] = gsoSize > 0 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_NONE;
  put16le(h, 2, 0);
  put16le(h, 4, gsoSize);
  put16le(h, 6, partialCsum ? tcpCsumStart(frame) : 0);
  put16le(h, 8, partialCsum ? TCP_CSUM_OFFSET : 0);
}

export class TapLink extends BaseLink {
  private readonly reader: FdReader;
  private closedP: Promise<void> = Promise.resolve();
  /** The virtio-net header written in front of every frame (offload only); reused. */
  private readonly txHdr = Buffer.alloc(VNET_HDR_LEN);
  private readonly txIov: Buffer[] = [this.txHdr, this.txHdr];
  /** Header and a small frame copied together: one write(2) instead of fs.writevSync. */
  private readonly txSmall = Buffer.allocUnsafeSlow(VNET_HDR_LEN + SMALL_TX_FRAME);
  /** The received frame (after the virtio-net header, with offload) as a view of the read buffer. */
  private readonly rxFrame: ReusedView;

  constructor(
    readonly name: string,
    readonly netns: string | undefined,
    private readonly fd: number,
    mtu: number,
    private readonly created: boolean,
    private readonly log?: Logger,
    /** The fd carries virtio-net headers with CSUM|TSO4 offload (see the module comment). */
    readonly offload = false,
  ) {
    super(nextLinkId('tap'), 'tap', mtu);
    const readBuf = Buffer.allocUnsafe(Math.max(MAX_MTU, MAX_GSO_FRAME) + VNET_HDR_LEN + 64);
    this.rxFrame = new ReusedView(readBuf, offload ? VNET_HDR_LEN : 0);
    const readBatch = (n: number): void => this.readBatch(readBuf, n);
    this.reader = readFd(
      fd,
      'the tap fd',
      readBuf,
      (n) => inInputBatch(this.inputBatch, readBatch, n),
      (err) => {
        if (err) {
          countDrop(this.stats, 'io_error');
          this.log?.warn('tap read failed', { tap: name, error: err });
        }
        void this.close();
      },
    );
  }

  /** One wakeup: the frame libuv read, then what the queue holds behind it. */
  private readBatch(buf: Buffer, n: number): void {
    this.receive(buf, n);
    if (this.shouldDrain(buf, n)) this.drain(buf);
  }

  /**
   * libuv stops reading after any short read, and every tap read is short
   * (one frame), so each wakeup would yield one frame and one turn of the event
   * loop. Read on synchronously (non-blocking fd, no thread hop) until the
   * queue is empty or a batch is full: the stack then answers a whole batch
   * with one flush (one ACK, one coalesced host write).
   */
  private drain(buf: Buffer): void {
    const c = libc();
    for (let i = 1; i < DRAIN_BATCH && !this.closed; i++) {
      // -1 is EAGAIN, the queue is empty (other errors resurface on libuv's next read).
      const n = c.read(this.fd, buf, buf.length);
      if (n <= 0) {
        this.emptyDrains = i === 1 ? this.emptyDrains + 1 : 0;
        return;
      }
      this.receive(buf, n);
    }
    this.emptyDrains = 0;
  }

  /** Drains in a row that found the queue already empty. */
  private emptyDrains = 0;
  private wakeups = 0;

  /**
   * Request/response traffic brings one small frame per wakeup, and the drain
   * then only costs a read(2) that says EAGAIN on every request. After
   * IDLE_DRAINS such drains in a row, a small frame carrying data is taken
   * alone, with a drain every DRAIN_PROBE wakeups to notice a queue building
   * up again; a skipped frame still queued is only read on the next turn
   * (epoll is level-triggered), never lost. Large frames (bulk data) and pure
   * ACKs (which arrive in runs behind bulk data toward the guest, where one
   * batch means one dispatch) always drain.
   */
  private shouldDrain(buf: Buffer, nread: number): boolean {
    if (nread > SMALL_FRAME || this.emptyDrains < IDLE_DRAINS) return true;
    if (!(tcpPayloadLength(buf, this.offload ? VNET_HDR_LEN : 0, nread) > 0)) return true;
    return (++this.wakeups & (DRAIN_PROBE - 1)) === 0;
  }

  /**
   * Leave a NEEDS_CSUM frame's checksum partial for the consumer, who either
   * trusts it (the stack: the guest kernel built it, nothing crossed a wire)
   * or calls completeRxChecksum during onFrame (anything that passes the frame
   * on or records it). Set by the daemon when no wrapper sees raw frames.
   */
  deferRxChecksum = false;
  private pendingCsumStart = -1;
  private pendingCsumOffset = 0;

  /** With offload the frame follows a virtio-net header: strip it; complete a partial checksum unless deferred. */
  private receive(buf: Buffer, n: number): void {
    if (!this.offload) return this.deliver(this.rxFrame.to(n));
    if (n < VNET_HDR_LEN) return countDrop(this.stats, 'rx_runt');
    const frame = this.rxFrame.to(n);
    const partial = (buf[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0;
    if (partial) {
      const start = u16le(buf, 6);
      const offset = u16le(buf, 8);
      if (this.deferRxChecksum && start < frame.length && start + offset + 2 <= frame.length) {
        this.pendingCsumStart = start;
        this.pendingCsumOffset = offset;
      } else if (!completeChecksum(frame, start, offset)) {
        return countDrop(this.stats, 'rx_bad_vnet_hdr');
      }
    }
    this.rxChecksumValid = partial;
    this.deliver(frame);
    this.rxChecksumValid = false;
    this.pendingCsumStart = -1;
  }

  /** During onFrame: finish a checksum left partial by deferRxChecksum (a no-op otherwise). */
  completeRxChecksum(frame: Buffer): void {
    if (this.pendingCsumStart < 0) return;
    completeChecksum(frame, this.pendingCsumStart, this.pendingCsumOffset);
    this.pendingCsumStart = -1;
  }

  /** With offload a frame may be a TSO super-segment up to the IPv4 maximum. */
  override get maxFrame(): number {
    return this.offload ? Math.max(MAX_GSO_FRAME, super.maxFrame) : super.maxFrame;
  }

  /**
   * With offload, a frame longer than the MTU is a TCP super-segment the guest
   * kernel takes as one (gso TCPV4, `gsoSize` bytes per piece on a real wire).
   */
  get tso(): boolean {
    return this.offload;
  }

  send(frame: Buffer, gsoSize = 0, partialCsum = false): void {
    if (!this.admit(frame)) return;
    // A super-segment without a gso size (forwarded from another guest): cut it here.
    if (gsoSize === 0 && frame.length > super.maxFrame) {
      if (partialCsum) frame = completedTcpCopy(frame);
      if (!segmentTcpFrame(frame, this.mtu, (piece) => this.send(piece))) countDrop(this.stats, 'tx_oversized');
      return;
    }
    try {
      if (!this.offload) writeSync(this.fd, partialCsum ? completedTcpCopy(frame) : frame);
      else {
        const big = gsoSize > 0 && frame.length > super.maxFrame;
        if (!big && frame.length <= SMALL_TX_FRAME) return this.sendSmall(frame, partialCsum);
        writeTxVnetHdr(this.txHdr, frame, big ? gsoSize : 0, partialCsum);
        this.txIov[1] = frame;
        writevSync(this.fd, this.txIov);
      }
    } catch (err) {
      countDrop(this.stats, txDropReason((err as NodeJS.ErrnoException).code));
      return;
    }
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
  }

  /**
   * Offload only: the frame is `head` (its headers) followed by the `tail`
   * views, written with its virtio-net header in one writev(2) without
   * copying the payload (the stack's zero-copy send, interface.ts).
   */
  sendv(head: Buffer, tail: readonly Buffer[], gsoSize: number, partialCsum: boolean): void {
    let len = head.length;
    for (const t of tail) len += t.length;
    if (this.closed) return countDrop(this.stats, 'tx_closed');
    if (!this.offload || len > this.maxFrame || (gsoSize === 0 && len > super.maxFrame)) return countDrop(this.stats, 'tx_oversized');
    writeTxVnetHdr(this.txHdr, head, gsoSize > 0 && len > super.maxFrame ? gsoSize : 0, partialCsum);
    try {
      writevSync(this.fd, [this.txHdr, head, ...tail]);
    } catch (err) {
      countDrop(this.stats, txDropReason((err as NodeJS.ErrnoException).code));
      return;
    }
    this.stats.txFrames++;
    this.stats.txBytes += len;
  }

  /**
   * A frame of at most SMALL_TX_FRAME bytes (ACKs, requests, handshakes) goes
   * out with its virtio-net header in one write(2) through koffi: copying ~100
   * bytes is cheaper than fs.writevSync's two-buffer path (see libc.ts).
   */
  private sendSmall(frame: Buffer, partialCsum: boolean): void {
    const b = this.txSmall;
    writeTxVnetHdr(b, frame, 0, partialCsum);
    frame.copy(b, VNET_HDR_LEN);
    const c = libc();
    if (c.write(this.fd, b, VNET_HDR_LEN + frame.length) < 0) {
      countDrop(this.stats, txDropReason(c.errno()));
      return;
    }
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      // Closes the fd; a non-persistent tap we created disappears with it.
      this.closedP = this.reader.close().then(() => this.notifyClose());
    }
    await this.closedP;
    if (this.created && (await linkExists(this.name, this.netns))) {
      await ip(this.netns, ['link', 'del', 'dev', this.name]).catch(() => undefined);
    }
  }
}

export class TapTransport implements Transport {
  onLink: ((link: Link) => void) | null = null;
  private link: TapLink | null = null;

  constructor(
    readonly uri: string,
    private readonly spec: TapSpec,
    private readonly opts: { mtu: number; log?: Logger },
  ) {}

  async start(): Promise<void> {
    const { name, netns } = this.spec;
    if (process.platform !== 'linux') throw new HnetError('HNET_UNSUPPORTED', 'tap devices need Linux', ['use qemu:// or vfkit:// on this OS']);
    if (!validIfName(name)) throw new HnetError('HNET_BAD_SPEC', `invalid interface name ${JSON.stringify(name)}`, ['use 1-15 letters, digits, "-", "_" or "."']);
    if (this.opts.mtu > MAX_MTU || this.opts.mtu < 68) throw new HnetError('HNET_BAD_SPEC', `mtu ${this.opts.mtu} out of range 68-${MAX_MTU}`);
    const existed = await linkExists(name, netns);
    const offload = this.spec.offload ?? true;
    const fd = openTapFd(name, netns, offload);
    const link = new TapLink(name, netns, fd, this.opts.mtu, !existed, this.opts.log, offload);
    try {
      await ip(netns, ['link', 'set', 'dev', name, 'mtu', String(this.opts.mtu), 'up']);
    } catch (err) {
      await link.close();
      throw new HnetError('HNET_TAP', `cannot bring ${name} up: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`);
    }
    this.link = link;
    this.opts.log?.info('tap attached', { tap: name, netns: netns ?? '(host)', created: !existed, mtu: this.opts.mtu, offload });
    if (this.onLink) this.onLink(link);
  }

  async close(): Promise<void> {
    await this.link?.close();
  }

  describe(): string {
    const { name, netns } = this.spec;
    return `tap ${name}${netns ? ` in netns ${netns}` : ''}`;
  }
}
