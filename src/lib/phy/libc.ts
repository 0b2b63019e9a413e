/**
 * The few libc calls the Linux transports need, through koffi (loaded lazily,
 * so importing this module on macOS costs nothing): ioctl for TUNSETIFF
 * (linux/if_tun.h), setns for entering a network namespace (setns(2)), and
 * the unix-datagram socket calls Node lacks (socket(2), bind(2), recvfrom(2),
 * sendto(2)), shutdown(2) for a relayed host socket with nothing left to
 * write, and read(2)/write(2) for a tap: fs.readSync reports EAGAIN by
 * throwing, which costs ~8.6 us against ~1.6 us here (measured on an empty
 * pipe) on every wakeup of a link that drains, and fs.writevSync costs ~0.9 us
 * more per frame than one write(2). Every wrapper returns the raw result and
 * reads errno right after the call; callers turn failures into HnetErrors or
 * counted drops. mallocTrim() (glibc's malloc_trim(3)) is bound on its own,
 * so a libc without it breaks nothing else.
 */
import koffi, { type LibraryHandle } from 'koffi';

export const O_RDWR = 2;
export const O_NONBLOCK = 0o4000;
export const CLONE_NEWNET = 0x40000000;
export const TUNSETIFF = 0x400454ca;
export const IFF_TAP = 0x0002;
export const IFF_NO_PI = 0x1000;
export const IFNAMSIZ = 16;
/** sizeof(struct ifreq) on Linux. */
export const IFREQ_SIZE = 40;
export const AF_UNIX = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_DONTWAIT = 0x40;
/** sizeof(struct sockaddr_un): sa_family (2) + sun_path (108). */
export const SOCKADDR_UN_SIZE = 110;
export const EAGAIN = 11;
export const EINTR = 4;
export const ECONNREFUSED = 111;
export const ENOENT = 2;
export const AF_UNSPEC = 0;
/** shutdown(2): no more sends. */
export const SHUT_WR = 1;

export interface Libc {
  ioctl(fd: number, req: number, arg: Buffer): number;
  /** ioctl whose argument is a value, not a pointer (e.g. TUNSETOFFLOAD). */
  ioctlValue(fd: number, req: number, value: number): number;
  setns(fd: number, nstype: number): number;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  recvfrom(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrLen: Int32Array): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrLen: number): number;
  close(fd: number): number;
  shutdown(fd: number, how: number): number;
  /** read(2): bytes read, 0 at EOF, -1 with errno set (EAGAIN on an empty non-blocking fd). */
  read(fd: number, buf: Buffer, len: number): number;
  /** write(2): bytes written, or -1 with errno set. */
  write(fd: number, buf: Buffer, len: number): number;
  errno(): number;
}

let cached: Libc | null = null;
let library: LibraryHandle | null = null;

/** glibc itself, loaded once for every binding here. */
function libcLibrary(): LibraryHandle {
  if (process.platform !== 'linux') throw new Error('libc bindings are only used on Linux');
  return (library ??= koffi.load('libc.so.6'));
}

export function libc(): Libc {
  if (cached) return cached;
  const lib = libcLibrary();
  // ioctl is variadic in C; bind it with its real prototype and pass the pointer as a variadic argument.
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, ...)');
  const setns = lib.func('int setns(int fd, int nstype)');
  const socket = lib.func('int socket(int domain, int type, int protocol)');
  const bind = lib.func('int bind(int fd, const uint8_t *addr, uint32_t len)');
  const connect = lib.func('int connect(int fd, const uint8_t *addr, uint32_t len)');
  const recvfrom = lib.func('intptr_t recvfrom(int fd, _Out_ uint8_t *buf, size_t len, int flags, _Out_ uint8_t *addr, _Inout_ int32_t *addrlen)');
  const sendto = lib.func('intptr_t sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *addr, uint32_t addrlen)');
  const close = lib.func('int close(int fd)');
  const shutdown = lib.func('int shutdown(int fd, int how)');
  const read = lib.func('intptr_t read(int fd, uint8_t *buf, size_t len)');
  const write = lib.func('intptr_t write(int fd, const uint8_t *buf, size_t len)');
  cached = {
    ioctl: (fd, req, arg) => ioctl(fd, req, 'uint8_t *', arg) as number,
    ioctlValue: (fd, req, value) => ioctl(fd, req, 'unsigned long', value) as number,
    setns: (fd, t) => setns(fd, t) as number,
    socket: (d, t, p) => socket(d, t, p) as number,
    bind: (fd, a, l) => bind(fd, a, l) as number,
    connect: (fd, a, l) => connect(fd, a, l) as number,
    recvfrom: (fd, b, l, f, a, al) => Number(recvfrom(fd, b, l, f, a, al)),
    sendto: (fd, b, l, f, a, al) => Number(sendto(fd, b, l, f, a, al)),
    close: (fd) => close(fd) as number,
    shutdown: (fd, how) => shutdown(fd, how) as number,
    read: (fd, b, l) => Number(read(fd, b, l)),
    write: (fd, b, l) => Number(write(fd, b, l)),
    errno: () => koffi.errno(),
  };
  return cached;
}

let trim: ((pad: number) => number) | null | undefined;

/**
 * glibc's malloc_trim(0): hand the free pages inside malloc's heap back to the
 * system. False where there is none (not Linux, not glibc), changing nothing.
 */
export function mallocTrim(): boolean {
  if (trim === undefined) {
    try {
      trim = libcLibrary().func('int malloc_trim(size_t pad)') as (pad: number) => number;
    } catch {
      trim = null;
    }
  }
  if (!trim) return false;
  trim(0);
  return true;
}

/** Encode a struct sockaddr_un for `path`; throws if the path does not fit sun_path. */
export function sockaddrUn(path: string): { addr: Buffer; len: number } {
  const p = Buffer.from(path);
  if (p.length >= SOCKADDR_UN_SIZE - 2) throw new Error(`socket path too long (${p.length} bytes, max 107): ${path}`);
  const addr = Buffer.alloc(SOCKADDR_UN_SIZE);
  addr.writeUInt16LE(AF_UNIX, 0);
  p.copy(addr, 2);
  return { addr, len: 2 + p.length + 1 };
}

/** Decode the path of a struct sockaddr_un of `len` bytes ('' for unnamed/abstract). */
export function sockaddrUnPath(addr: Buffer, len: number): string {
  if (len <= 2) return '';
  const raw = addr.subarray(2, len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? raw.length : nul).toString();
}
