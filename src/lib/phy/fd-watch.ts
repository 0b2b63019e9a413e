/**
 * Let libuv's event loop watch a file descriptor Node has no handle type for
 * (a tap, a unix datagram socket, an ICMP socket): uv_pipe_open accepts any
 * pollable fd, and a net.Socket over that handle reads it with `onread` into
 * one reused buffer — no threadpool hop per read. process.binding('pipe_wrap')
 * is the legacy (documented, deprecated) way to reach that handle; there is no
 * public API to poll an arbitrary fd, so this is the one place to change if it goes.
 */
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
