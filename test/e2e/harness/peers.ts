/**
 * Host-side peers for e2e tests, bound to 127.0.0.1 only (ephemeral ports):
 * a UDP echo server and an HTTP server that records requests. Each returns
 * close(); pass a Cleanup to have it closed in `after`. freePorts() picks
 * TCP ports for a test to bind or forward later.
 */
import { createSocket } from 'node:dgram';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cleanup } from './env.js';

export interface UdpEchoServer {
  address: string;
  port: number;
  /** Datagrams echoed so far. */
  received: number;
  close(): Promise<void>;
}

export async function udpEchoServer(opts: { host?: string; cleanup?: Cleanup } = {}): Promise<UdpEchoServer> {
  const sock = createSocket('udp4');
  await new Promise<void>((res, rej) => {
    sock.once('error', rej);
    sock.bind(0, opts.host ?? '127.0.0.1', () => res());
  });
  const { address, port } = sock.address();
  const server: UdpEchoServer = {
    address,
    port,
    received: 0,
    close: () => new Promise<void>((res) => sock.close(() => res())),
  };
  sock.on('message', (msg, rinfo) => {
    server.received++;
    sock.send(msg, rinfo.port, rinfo.address);
  });
  opts.cleanup?.add(`udp echo ${port}`, () => server.close());
  return server;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  remoteAddress: string;
}

export interface TestHttpServer {
  address: string;
  port: number;
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * An HTTP server on 127.0.0.1. Default handler answers 200 with body
 * `hello from host <method> <url>`; pass `handler` for anything else.
 */
export async function httpServer(
  opts: { host?: string; cleanup?: Cleanup; handler?: (req: RecordedRequest, res: ServerResponse) => void } = {},
): Promise<TestHttpServer> {
  const requests: RecordedRequest[] = [];
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), remoteAddress: req.socket.remoteAddress ?? '' };
      requests.push(rec);
      if (opts.handler) return opts.handler(rec, res);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`hello from host ${rec.method} ${rec.url}\n`);
    });
  });
  await new Promise<void>((res, rej) => {
    srv.once('error', rej);
    srv.listen(0, opts.host ?? '127.0.0.1', () => res());
  });
  const { address, port } = srv.address() as AddressInfo;
  const server: TestHttpServer = {
    address,
    port,
    url: `http://${address}:${port}`,
    requests,
    close: () =>
      new Promise<void>((res) => {
        srv.closeAllConnections();
        srv.close(() => res());
      }),
  };
  opts.cleanup?.add(`http ${port}`, () => server.close());
  return server;
}

/**
 * `n` distinct free TCP ports on 127.0.0.1, picked together (bench/lib/proc.ts):
 * one at a time, the kernel may hand back the port it just freed, and two
 * roles sharing a port break each other's checks.
 */
export { freePorts } from '../../../bench/lib/proc.js';
