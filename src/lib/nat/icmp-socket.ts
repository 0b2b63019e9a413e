/**
 * ICMP echo sockets on the host, for guest pings to addresses beyond the
 * gateway. Node has no ICMP sockets, so socket(2)/connect(2) come from libc
 * through koffi. An unprivileged "ping socket" (SOCK_DGRAM, IPPROTO_ICMP;
 * allowed by net.ipv4.ping_group_range) is tried first; as root a raw socket
 * (SOCK_RAW) is used when ping sockets are not allowed. Each socket is
 * connect()ed to one destination, so the kernel hands it only that peer's
 * replies. Reads go through libuv's event loop (the fd wrapped as a pipe
 * handle, see readFd), one read per datagram, no threadpool hop.
 */
import koffi from 'koffi';
import net from 'node:net';
import { closeSync, writeSync } from 'node:fs';
import { pipeHandle } from '../phy/fd-watch.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_ICMP = 1;

let libc: { socket: (d: number, t: number, p: number) => number; connect: (fd: number, addr: Buffer, len: number) => number; errno: () => number } | null = null;

function lib() {
  if (libc) return libc;
  const l = koffi.load('libc.so.6');
  const errnoLocation = l.func('int *__errno_location()');
  libc = {
    socket: l.func('int socket(int domain, int type, int protocol)'),
    connect: l.func('int connect(int fd, const uint8_t *addr, uint32_t len)'),
    errno: () => koffi.decode(errnoLocation(), 'int') as number,
  };
  return libc;
}

export type IcmpSocketKind = 'ping' | 'raw';

export interface IcmpSocket {
  kind: IcmpSocketKind;
  fd: number;
  /** Send one ICMP message (header + data) to the connected peer. */
  send(msg: Buffer): boolean;
  close(): void;
}

let preferred: IcmpSocketKind | null = null;

/**
 * Open an ICMP socket connected to `dst` (dotted quad). `onMessage` receives
 * each datagram: for ping sockets the ICMP message, for raw sockets the IP
 * packet (header included). Throws an Error with `code` when neither kind is allowed.
 */
export function openIcmpSocket(dst: string, onMessage: (data: Buffer) => void): IcmpSocket {
  const c = lib();
  let kind: IcmpSocketKind = preferred ?? 'ping';
  let fd = c.socket(AF_INET, (kind === 'ping' ? SOCK_DGRAM : SOCK_RAW) | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (fd < 0 && kind === 'ping') {
    kind = 'raw';
    fd = c.socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
  }
  if (fd < 0) {
    const err = new Error('no ICMP socket: ping sockets are not allowed (net.ipv4.ping_group_range) and raw sockets need root') as NodeJS.ErrnoException;
    err.code = 'EACCES';
    throw err;
  }
  preferred = kind;
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(AF_INET, 0);
  for (const [i, part] of dst.split('.').entries()) addr[4 + i] = Number(part);
  if (c.connect(fd, addr, 16) < 0) {
    const errno = c.errno();
    closeSync(fd);
    const err = new Error(`connect ICMP socket to ${dst} failed (errno ${errno})`) as NodeJS.ErrnoException;
    err.code = errno === 101 ? 'ENETUNREACH' : errno === 113 ? 'EHOSTUNREACH' : 'EIO';
    throw err;
  }
  const reader = readFd(fd, onMessage);
  let closed = false;
  return {
    kind,
    fd,
    send(msg: Buffer): boolean {
      if (closed) return false;
      try {
        writeSync(fd, msg);
        return true;
      } catch {
        return false;
      }
    },
    close(): void {
      if (closed) return;
      closed = true;
      reader.destroy(); // closes the fd with the handle
    },
  };
}

/** Read a datagram-like fd in libuv's event loop (see phy/fd-watch.ts), one datagram per read. */
export function readFd(fd: number, onMessage: (data: Buffer) => void): net.Socket {
  const handle = pipeHandle(fd, 'an ICMP socket');
  const buffer = Buffer.allocUnsafe(65536 + 64);
  const sock = new net.Socket({
    handle,
    readable: true,
    writable: false,
    onread: { buffer, callback: (n: number, buf: Buffer) => void onMessage(buf.subarray(0, n)) },
  } as unknown as net.SocketConstructorOpts);
  sock.on('error', () => sock.destroy());
  return sock;
}
