/**
 * The host-side peer of tools/tcp-tool.mjs: a TCP server on 127.0.0.1 (or a
 * corp address) speaking its 16-byte-header protocol. Downloads stream the
 * AES-CTR keystream; uploads are hashed and the hex sha256 sent back; 'H'
 * echoes after the client's FIN; 'R' sends some data then resets. It records
 * the remote address of every connection and the bytes it moved.
 */
import net from 'node:net';
import { createHash, createCipheriv } from 'node:crypto';
import type { Cleanup } from './harness/index.js';

export function keystream(): () => Buffer {
  const c = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(256 * 1024);
  return () => c.update(zeros);
}

/** sha256 of the first `size` bytes of the keystream. */
export function expectedSha256(size: number): string {
  const next = keystream();
  const hash = createHash('sha256');
  let left = size;
  while (left > 0) {
    const c = next();
    hash.update(left >= c.length ? c : c.subarray(0, left));
    left -= c.length;
  }
  return hash.digest('hex');
}

export interface BlastServer {
  port: number;
  remotes: string[];
  open(): number;
  close(): Promise<void>;
  /** Stop reading uploads (a slow host-side reader) while true. */
  stallUploads: boolean;
  /** Stop stalling and read every paused upload again. */
  resumeUploads(): void;
}

export async function blastServer(host = '127.0.0.1', cleanup?: Cleanup): Promise<BlastServer> {
  const sockets = new Set<net.Socket>();
  const state: BlastServer = {
    port: 0,
    remotes: [],
    open: () => sockets.size,
    close: async () => undefined,
    stallUploads: false,
    resumeUploads: () => {
      state.stallUploads = false;
      for (const s of sockets) s.resume();
    },
  };
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    state.remotes.push(s.remoteAddress ?? '?');
    let head = Buffer.alloc(0);
    const onHead = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      if (head.length < 16) return;
      s.off('data', onHead);
      const mode = String.fromCharCode(head[0]);
      const size = Number(head.readBigUInt64BE(8));
      const rest = head.subarray(16);
      if (mode === 'D') return download(s, size);
      if (mode === 'U' || mode === 'H') return upload(s, size, rest, mode === 'H');
      if (mode === 'R') {
        s.write(Buffer.alloc(64 * 1024, 1), () => setTimeout(() => s.resetAndDestroy(), 50));
      }
    };
    s.on('data', onHead);
  });
  const download = (s: net.Socket, size: number) => {
    const next = keystream();
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        let c = next();
        if (c.length > size - sent) c = c.subarray(0, size - sent);
        sent += c.length;
        if (!s.write(c)) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
  };
  const upload = (s: net.Socket, size: number, first: Buffer, echoAfterEnd: boolean) => {
    const hash = createHash('sha256');
    let got = 0;
    const take = (d: Buffer) => {
      hash.update(d);
      got += d.length;
      if (state.stallUploads) s.pause();
    };
    take(first);
    s.on('data', take);
    const finish = () => {
      if (echoAfterEnd) return download(s, got);
      s.end(hash.digest('hex'));
    };
    if (echoAfterEnd) s.on('end', finish);
    else {
      s.on('end', () => {
        if (got < size) s.end(); // the client gave up early: close our side too
      });
      const check = () => {
        if (got >= size) {
          s.off('data', check);
          finish();
        }
      };
      s.on('data', check);
      check();
    }
  };
  await new Promise<void>((res) => server.listen(0, host, res));
  state.port = (server.address() as net.AddressInfo).port;
  state.close = () =>
    new Promise<void>((res) => {
      for (const s of sockets) s.destroy();
      server.close(() => res());
    });
  cleanup?.add(`blast server :${state.port}`, () => state.close());
  return state;
}
