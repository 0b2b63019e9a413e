/**
 * An outgoing host TCP connection on libuv's TCP handle directly, without a
 * net.Socket: the relay needs bytes in and out, FIN both ways and errors, not
 * the stream machinery (Duplex state, events, nextTicks) a net.Socket builds
 * and tears down per connection. Measured on short connections (connect,
 * 1 byte each way, close; 16 in flight, client and server in one process):
 * 142-150 µs of CPU per connection against 190-236 µs with net.connect.
 *
 * The handle is process.binding('tcp_wrap'), through the same deprecated-but-stable
 * door fd-watch.ts uses for pipe_wrap (nodeBinding); the protocol spoken to it is Node 20's
 * (lib/net.js, lib/internal/stream_base_commons.js): reads land in one shared
 * user buffer (useUserBuffer) with the byte count or a negative libuv error
 * in streamBaseState; a write reports in streamBaseState whether it finished
 * at once or will complete through its request's oncomplete.
 *
 * Implements HostStream (host-stream.ts). Half-close is kept: the host's FIN
 * ends only the read side, and the handle closes itself once both sides have
 * ended (our shutdown done and the host's FIN seen), or on error or destroy().
 */
import type { HostEvents, HostStream } from './host-stream.js';
import { HOST_READ_BUFFER } from './host-rx.js';
import { SHUT_WR, libc } from '../phy/libc.js';
import { UV_EOF, nodeBinding, uvErrorName } from '../phy/fd-watch.js';
import { inInputBatch, type InputBatch } from '../phy/link.js';

interface Req {
  oncomplete: (this: Req, status: number, handle?: TcpHandle) => void;
  handle?: TcpHandle;
  /** Keeps the buffers of an asynchronous write alive until it completes. */
  chunks?: readonly Buffer[];
}

interface TcpHandle {
  readonly fd: number;
  /** The RawTcpHost, for the shared callbacks (cleared when the close callback runs). */
  owner?: RawTcpHost;
  /** Must always be a function (Node asserts it); called with the handle as `this`. */
  onread: (this: TcpHandle) => Buffer | undefined;
  connect(req: Req, address: string, port: number): number;
  setNoDelay(on: boolean): number;
  useUserBuffer(buf: Buffer): void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: Req, buf: Buffer): number;
  writev(req: Req, chunks: readonly Buffer[], allBuffers: boolean): number;
  shutdown(req: Req): number;
  close(cb: () => void): void;
}

interface Bindings {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => Req;
  SOCKET: number;
  WriteWrap: new () => Req;
  ShutdownWrap: new () => Req;
  state: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

let bindings: Bindings | null = null;

function load(): Bindings {
  if (bindings) return bindings;
  const tcp = nodeBinding('tcp_wrap') as { TCP: Bindings['TCP']; TCPConnectWrap: Bindings['TCPConnectWrap']; constants: { SOCKET: number } };
  const stream = nodeBinding('stream_wrap') as Omit<Bindings, 'state' | 'TCP' | 'TCPConnectWrap' | 'SOCKET'> & { streamBaseState: Int32Array };
  bindings = {
    TCP: tcp.TCP,
    TCPConnectWrap: tcp.TCPConnectWrap,
    SOCKET: tcp.constants.SOCKET,
    WriteWrap: stream.WriteWrap,
    ShutdownWrap: stream.ShutdownWrap,
    state: stream.streamBaseState,
    kReadBytesOrError: stream.kReadBytesOrError,
    kLastWriteWasAsync: stream.kLastWriteWasAsync,
  };
  return bindings;
}

const ignoreRead = (): undefined => undefined;

/**
 * A write request object no write has attached to yet. A write that the
 * kernel takes whole at once (stream_base.cc: DoTryWrite first) never makes
 * the C++ request, so the object comes back untouched and the next write of
 * any connection reuses it; only an asynchronous write keeps its own. Saves
 * an object with internal fields, built through a C++ constructor, on
 * nearly every host write.
 */
let spareWriteReq: Req | null = null;

/*
 * Node calls a handle's callbacks with the handle (or the request) as `this`
 * and, for a connect, the handle as an argument, so one function each serves
 * every connection, through handle.owner: no closures to allocate (and
 * lazily compile on first call) per connection.
 */
function onConnectDone(this: Req, status: number, handle?: TcpHandle): void {
  const owner = handle?.owner;
  if (owner) inInputBatch(owner.batch, ownerConnected, owner, status);
}
const ownerConnected = (owner: RawTcpHost, status: number): void => owner.afterConnect(status);

function onHandleRead(this: TcpHandle): Buffer | undefined {
  const owner = this.owner;
  return owner ? inInputBatch(owner.batch, ownerRead, owner) : undefined;
}
const ownerRead = (owner: RawTcpHost): Buffer | undefined => owner.onRead();

/**
 * The close callback: a closed handle is freed only by a full GC (Node keeps
 * it until then), so it lets go of the owner here, or every short connection
 * would be copied and promoted by the young-generation GC.
 */
function onHandleClosed(this: TcpHandle): void {
  const owner = this.owner;
  this.owner = undefined;
  owner?.handleClosed();
}

export interface RawConnectHooks {
  /** The connect finished: null on success, else the error's name (ECONNREFUSED, ...). Not called once destroyed. */
  connected(err: string | null): void;
  /** The handle is closed (once, whatever the reason). */
  handleClosed?(): void;
  /** Brackets each read and the connect's completion (the daemon's Scheduler: the relay's answer goes out at the callback's end). */
  batch?: InputBatch;
}

export class RawTcpHost implements HostStream {
  readonly kernel = true;
  pendingBytes = 0;
  readEnded = false;
  closed = false;
  private readonly b = load();
  private readonly handle: TcpHandle;
  private events: HostEvents | null = null;
  private hooks: RawConnectHooks | null;
  private connected = false;
  private paused = false;
  private shutdownDone = false;
  private ending = false;
  /** Brackets the libuv callbacks (RawConnectHooks.batch). @internal for the shared callbacks above. */
  readonly batch: InputBatch | null;
  /** The buffer reads land in now (HostEvents.readBuffer may change it after each read). */
  private readBuf: Buffer = HOST_READ_BUFFER;

  /** Start connecting to an IPv4 address literal (the relay is IPv4 only). */
  constructor(address: string, port: number, hooks: RawConnectHooks) {
    const b = this.b;
    this.hooks = hooks;
    this.batch = hooks.batch ?? null;
    this.handle = new b.TCP(b.SOCKET);
    this.handle.owner = this;
    const req = new b.TCPConnectWrap();
    req.oncomplete = onConnectDone;
    const err = this.handle.connect(req, address, port);
    // Reported from the loop, as the contract promises, never from inside the constructor.
    if (err !== 0) setImmediate(() => this.afterConnect(err));
    else this.startReading();
  }

  /**
   * Reading starts with the connect, not after it: libuv then registers the
   * socket once for POLLIN|POLLOUT and modifies it when the connect completes.
   * Started in the connect callback, it found the fd still registered for the
   * connect (EPOLL_CTL_ADD failing with EEXIST, then MOD): one system call
   * more per connection. No byte can arrive before the connect completes, and
   * the relay attaches within the connect callback.
   */
  private startReading(): void {
    const h = this.handle;
    h.useUserBuffer(HOST_READ_BUFFER);
    // What onread returns becomes the handle's read buffer from the next read on (Node 20's
    // CustomBufferJSListener::OnStreamRead); undefined keeps the current one.
    h.onread = onHandleRead;
    h.readStart();
  }

  /** @internal (onConnectDone) */
  afterConnect(status: number): void {
    if (this.closed) return;
    if (status !== 0) {
      const name = uvErrorName(status);
      const hooks = this.hooks;
      this.destroy();
      hooks?.connected(name);
      return;
    }
    this.connected = true;
    this.handle.setNoDelay(true);
    this.hooks?.connected(null);
  }

  /** Reading already runs (it started with the connect); the events get what it reads. */
  attach(events: HostEvents): void {
    this.events = events;
  }

  /** Handle one read; returns the buffer the next read must land in, if it changes. @internal (onHandleRead) */
  onRead(): Buffer | undefined {
    const n = this.b.state[this.b.kReadBytesOrError];
    if (this.closed) return;
    // Unreachable while the relay attaches in the connect callback; unattached, nobody wants the bytes.
    if (this.events === null) {
      this.destroy();
      return;
    }
    if (n > 0) {
      const buf = this.readBuf;
      const more = this.events.data(buf, n);
      if (this.closed) return;
      if (!more) this.pause();
      const next = this.events.readBuffer?.(n);
      if (next === undefined || next === buf) return;
      return (this.readBuf = next);
    }
    if (n === UV_EOF) {
      this.readEnded = true;
      this.handle.readStop();
      this.events.end();
      if (this.shutdownDone) this.destroy();
      return;
    }
    if (n < 0) this.fail(n);
  }

  write(chunks: readonly Buffer[]): void {
    if (this.closed || this.ending || chunks.length === 0) return;
    const b = this.b;
    const req = spareWriteReq ?? new b.WriteWrap();
    spareWriteReq = null;
    req.handle = this.handle;
    const err = chunks.length === 1 ? this.handle.writeBuffer(req, chunks[0]) : this.handle.writev(req, chunks, true);
    if (err !== 0) {
      setImmediate(() => this.fail(err));
      return;
    }
    if (!b.state[b.kLastWriteWasAsync]) {
      req.handle = undefined;
      spareWriteReq = req;
      return;
    }
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    this.pendingBytes += bytes;
    req.chunks = chunks.slice();
    req.oncomplete = (status) => {
      this.pendingBytes -= bytes;
      req.chunks = undefined;
      if (this.closed) return;
      if (status < 0) return this.fail(status);
      if (this.pendingBytes === 0) this.events?.drain();
    };
  }

  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    // Nothing queued: shutdown(2) now. libuv's shutdown would wait for the
    // socket to poll writable first (two epoll_ctl and a loop turn) and then
    // report through a request callback, on every connection.
    if (this.connected && this.pendingBytes === 0 && process.platform === 'linux') {
      const c = libc();
      if (c.shutdown(this.handle.fd, SHUT_WR) === 0) {
        this.shutdownDone = true;
        if (this.readEnded) this.destroy(); // its close is reported from the loop
        return;
      }
      const errno = c.errno();
      setImmediate(() => this.fail(-errno));
      return;
    }
    const req = new this.b.ShutdownWrap();
    req.handle = this.handle;
    req.oncomplete = (status) => {
      if (this.closed) return;
      if (status < 0) return this.fail(status);
      this.shutdownDone = true;
      if (this.readEnded) this.destroy();
    };
    const err = this.handle.shutdown(req);
    if (err !== 0) setImmediate(() => this.fail(err));
  }

  pause(): void {
    this.paused = true;
    if (!this.closed) this.handle.readStop();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.connected && !this.closed && !this.readEnded && this.events) this.handle.readStart();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.onread = ignoreRead;
    this.handle.close(onHandleClosed);
  }

  /** The handle's close completed: tell, then let go of the relay's objects. */
  handleClosed(): void {
    const { events, hooks } = this;
    this.events = null;
    this.hooks = null;
    events?.close();
    hooks?.handleClosed?.();
  }

  private fail(status: number): void {
    if (this.closed) return;
    this.events?.error(uvErrorName(status));
    this.destroy();
  }
}
