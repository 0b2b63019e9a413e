/**
 * Let libuv's event loop watch a file descriptor Node has no handle type for
 * (a tap, a unix datagram socket, an ICMP socket): uv_pipe_open accepts any
 * pollable fd, and a net.Socket over that handle reads it with `onread` into
 * one reused buffer — no threadpool hop per read. process.binding('pipe_wrap')
 * is the legacy (documented, deprecated) way to reach that handle; there is no
 * public API to poll an arbitrary fd, so this is the one place to change if it goes.
 */
import { getSystemErrorName } from 'node:util';
import { HnetError } from '../errors.js';

/** One of Node's internal bindings (pipe_wrap, tcp_wrap, stream_wrap) through the legacy door. */
export function nodeBinding(name: string): unknown {
  return (process as unknown as { binding(name: string): unknown }).binding(name);
}

export interface PipeHandle {
  open(fd: number): number;
}

export function pipeHandle(fd: number, what: string): PipeHandle {
  const binding = nodeBinding('pipe_wrap') as {
    Pipe: new (type: number) => PipeHandle;
    constants: { SOCKET: number };
  };
  const h = new binding.Pipe(binding.constants.SOCKET);
  const rc = h.open(fd);
  if (rc !== 0) throw new HnetError('HNET_FD_WATCH', `cannot poll ${what} (uv error ${rc})`, ['this Node.js build cannot watch raw file descriptors; use Node.js 20 or 22']);
  return h;
}

/** libuv's UV_EOF: a stream handle's read reports the end this way. */
export const UV_EOF = -4095;

interface ReadingPipe extends PipeHandle {
  onread: () => void;
  useUserBuffer(buf: Buffer): void;
  readStart(): number;
  close(cb: () => void): void;
}

let readState: { state: Int32Array; kReadBytesOrError: number } | null = null;

/** Where libuv stream handles report each read's byte count (stream_wrap's shared state). */
function streamReadState(): { state: Int32Array; kReadBytesOrError: number } {
  if (readState) return readState;
  const b = nodeBinding('stream_wrap') as { streamBaseState: Int32Array; kReadBytesOrError: number };
  return (readState = { state: b.streamBaseState, kReadBytesOrError: b.kReadBytesOrError });
}

export interface FdReader {
  /** Stop reading and close the fd (once; later calls return the same promise). */
  close(): Promise<void>;
}

/**
 * Read `fd` in the event loop straight into `buffer`: `onData(n)` gets each
 * read's length (the bytes are buffer[0, n), valid until it returns);
 * `onStop` is called once when reading ends by itself, with null at EOF or
 * the error's code, after which the caller closes. Unlike a net.Socket with
 * `onread`, no stream state machine runs per read: one call into JavaScript,
 * no timers, no byte accounting (a tap delivers every frame this way).
 */
export function readFd(fd: number, what: string, buffer: Buffer, onData: (n: number) => void, onStop: (err: string | null) => void): FdReader {
  const h = pipeHandle(fd, what) as ReadingPipe;
  const rs = streamReadState();
  let closing: Promise<void> | null = null;
  let stopped = false;
  h.useUserBuffer(buffer);
  h.onread = () => {
    const n = rs.state[rs.kReadBytesOrError];
    if (n > 0) return onData(n);
    if (n === 0 || stopped || closing) return; // 0: nothing this time (EAGAIN)
    stopped = true;
    onStop(n === UV_EOF ? null : uvErrorName(n));
  };
  const rc = h.readStart();
  if (rc !== 0) throw new HnetError('HNET_FD_WATCH', `cannot read ${what} (uv error ${rc})`);
  return {
    close: () => (closing ??= new Promise<void>((res) => h.close(res))),
  };
}

/** The code of a libuv error status (ECONNREFUSED, ...). */
export function uvErrorName(status: number): string {
  try {
    return getSystemErrorName(status);
  } catch {
    return `UV${status}`;
  }
}
