/**
 * The guest-facing HTTP proxy on gateway:3128 (http.hnet.internal:3128,
 * DESIGN §1), a TcpNat GatewayService: every guest connection is one end of
 * an in-memory duplex pair fed to a node:http server.
 *
 * Contract:
 * - Absolute-form requests (RFC 9112 §3.2.2, `GET http://host/path`) are
 *   forwarded; CONNECT (RFC 9110 §9.3.6) opens a tunnel. Origin-form requests
 *   are accepted only on connections handed over by transparent mode, which
 *   knows the original destination and uses the Host header (RFC 9110 §7.2).
 * - Each new request or tunnel asks ProxyState.route() once: through the
 *   upstream proxy with hnet's Basic credentials added (RFC 7617), or direct
 *   when no_proxy matches or no upstream is set. Settings changed later do not
 *   touch requests and tunnels already under way.
 * - Guests never see the upstream's credentials: a guest's own
 *   Proxy-Authorization is dropped, the upstream's Proxy-Authenticate is
 *   dropped, a 407 from the upstream becomes a 502 naming the problem.
 * - Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded either way.
 * - Failures answer 502 (unreachable, refused, resolution failed), 504 (no
 *   answer within the connect deadline) or 403 (a destination guests may not
 *   reach), with a one-line text reason; nothing hangs.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Counters } from '../../counters.js';
import type { StackConfig } from '../../iface/config.js';
import type { Logger } from '../../daemon/log.js';
import type { ProxyState } from '../../daemon/proxy-state.js';
import type { GatewayService } from '../../nat/tcp.js';
import { redactProxyUrl } from '../../host/proxy/types.js';
import { duplexPair, type PairEnd } from './duplex-pair.js';
import { ProxyFailure, authority, basicAuth, connectTcp, connectViaUpstream, directAddress, hostLookup, splice, upstreamRefusal, type Lookup } from './tunnel.js';

export const HTTP_PROXY_PORT = 3128;

export interface HttpProxyOptions {
  cfg: StackConfig;
  state: ProxyState;
  counters: Counters;
  log: Logger;
  lookup?: Lookup;
  /** Deadline for each host-side connect (upstream or direct), ms. */
  connectTimeoutMs?: number;
}

/** Where a transparently intercepted connection was going. */
export interface OriginalDestination {
  address: string;
  port: number;
}

const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

/** Drop hop-by-hop headers, including those the Connection header names. */
export function endToEndHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(h.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  return out;
}

/** Split a CONNECT request-target (authority-form, RFC 9112 §3.2.3). */
export function parseAuthority(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^\s:[\]/@]+)):(\d{1,5})$/i.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  return port >= 1 && port <= 65535 ? { host: (m[1] ?? m[2]).toLowerCase(), port } : undefined;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 502: 'Bad Gateway', 504: 'Gateway Timeout' };

export class HttpProxy {
  private readonly server: Server;
  private readonly origins = new WeakMap<object, OriginalDestination>();
  private readonly lookup: Lookup;
  private readonly connectTimeoutMs: number;

  constructor(private readonly opts: HttpProxyOptions) {
    this.lookup = opts.lookup ?? hostLookup;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.server = createServer({ requireHostHeader: false }, (req, res) => void this.onRequest(req, res));
    this.server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.onConnect(req, socket, head));
    this.server.on('clientError', (_err, socket: Duplex) => {
      this.opts.counters.inc('proxy.client_errors');
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /** The GatewayService for TcpNat.services (port 3128). */
  service(): GatewayService {
    return ({ guest }) => {
      const [nat, mine] = duplexPair();
      mine.remoteAddress = guest;
      this.accept(mine);
      return nat;
    };
  }

  /** Serve HTTP on `socket`; with `origin`, origin-form requests go to that destination (transparent mode). */
  accept(socket: PairEnd, origin?: OriginalDestination): void {
    if (origin) this.origins.set(socket, origin);
    this.server.emit('connection', socket);
  }

  /** Drop every connection (daemon stop). */
  close(): void {
    this.server.closeAllConnections();
  }

  private fail(res: ServerResponse, f: ProxyFailure | Error): void {
    const failure = f instanceof ProxyFailure ? f : new ProxyFailure(502, `hnet: ${f.message}`);
    this.opts.counters.inc(`proxy.failures.${failure.status}`);
    this.opts.log.info('proxy request failed', { status: failure.status, reason: failure.reason });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = `${failure.reason}\n`;
    res.writeHead(failure.status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body);
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.opts.counters.inc('proxy.requests');
    const origin = this.origins.get(req.socket);
    const url = req.url ?? '';
    let target: URL;
    try {
      if (/^http:\/\//i.test(url)) target = new URL(url);
      else if (origin && url.startsWith('/')) target = new URL(`http://${req.headers.host ?? authority(origin.address, origin.port)}${url}`);
      else throw new Error('bad target');
    } catch {
      const body = /^https:\/\//i.test(url) ? 'hnet: use CONNECT for https:// URLs\n' : 'hnet: this is a proxy: send absolute-form requests (GET http://host/path) or CONNECT\n';
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body);
      return;
    }
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(target.port || 80);
    const route = this.opts.state.route('http', host, port);
    const headers = endToEndHeaders(req.headers);
    headers.host = target.host;
    let options: { host: string; port: number; path: string };
    let name: string;
    if (route.via === 'upstream') {
      const auth = basicAuth(route.upstream);
      if (auth) headers['proxy-authorization'] = auth;
      options = { host: route.upstream.host, port: route.upstream.port, path: target.href };
      name = `upstream proxy ${redactProxyUrl(route.upstream)}`;
      this.opts.counters.inc('proxy.via_upstream');
    } else {
      try {
        const address = origin ? origin.address : await directAddress(this.opts.cfg, host, this.lookup);
        options = { host: address, port: origin ? origin.port : port, path: `${target.pathname}${target.search}` };
      } catch (err) {
        req.resume();
        return this.fail(res, err as Error);
      }
      name = authority(host, port);
      this.opts.counters.inc('proxy.direct');
    }
    this.opts.log.debug('proxy request', { guest: req.socket.remoteAddress, method: req.method, host: target.host, via: route.via });
    const up = request({ ...options, method: req.method, headers, agent: false, setHost: false });
    let connectTimer: NodeJS.Timeout | undefined;
    up.once('socket', (s) => {
      if (!s.connecting) return;
      connectTimer = setTimeout(() => up.destroy(new ProxyFailure(504, `hnet: ${name} did not answer within ${Math.round(this.connectTimeoutMs / 1000)} s`)), this.connectTimeoutMs);
      s.once('connect', () => clearTimeout(connectTimer));
    });
    up.once('response', (upRes) => {
      if (route.via === 'upstream' && upRes.statusCode === 407) {
        upRes.resume();
        return this.fail(res, new ProxyFailure(502, upstreamRefusal(name.replace('upstream proxy ', ''), 407, '', `${req.method} ${target.host}`)));
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, endToEndHeaders(upRes.headers));
      upRes.pipe(res);
      upRes.once('error', () => res.destroy());
    });
    up.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      if (err instanceof ProxyFailure) return this.fail(res, err);
      const what = route.via === 'upstream' ? `cannot reach ${name}` : `cannot connect to ${name}`;
      this.fail(res, new ProxyFailure(502, `hnet: ${what} (${err.code ?? err.message})`));
    });
    res.once('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }

  private async onConnect(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    this.opts.counters.inc('proxy.tunnels');
    const target = parseAuthority(req.url ?? '');
    if (!target) {
      socket.end(rawAnswer(400, `hnet: CONNECT needs host:port, not ${JSON.stringify(req.url ?? '')}`));
      return;
    }
    socket.on('error', () => undefined);
    try {
      const upstream = await this.openTunnel(target.host, target.port);
      if (socket.destroyed) {
        upstream.socket.destroy();
        return;
      }
      socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (head.length > 0) upstream.socket.write(head);
      if (upstream.head.length > 0) socket.write(upstream.head);
      splice(socket, upstream.socket);
    } catch (err) {
      const f = err instanceof ProxyFailure ? err : new ProxyFailure(502, `hnet: ${(err as Error).message}`);
      this.opts.counters.inc(`proxy.failures.${f.status}`);
      this.opts.log.info('proxy tunnel failed', { status: f.status, reason: f.reason });
      if (!socket.destroyed) socket.end(rawAnswer(f.status, f.reason));
    }
  }

  /**
   * A byte tunnel to host:port for CONNECT and transparent TLS: through the
   * https upstream unless no_proxy matches (or `alsoDirectIf` does), else direct.
   */
  async openTunnel(host: string, port: number, direct?: OriginalDestination): Promise<{ socket: Duplex; head: Buffer; via: 'upstream' | 'direct' }> {
    let route = this.opts.state.route('connect', host, port);
    if (direct && route.via === 'upstream' && this.opts.state.route('connect', direct.address, port).via === 'direct') route = { via: 'direct', why: 'no_proxy' };
    if (route.via === 'upstream') {
      this.opts.counters.inc('proxy.via_upstream');
      const t = await connectViaUpstream(route.upstream, host, port, this.connectTimeoutMs);
      return { ...t, via: 'upstream' };
    }
    this.opts.counters.inc('proxy.direct');
    const address = direct ? direct.address : await directAddress(this.opts.cfg, host, this.lookup);
    const socket = await connectTcp(address, direct ? direct.port : port, this.connectTimeoutMs, authority(host, port));
    return { socket, head: Buffer.alloc(0), via: 'direct' };
  }
}

/** A complete HTTP/1.1 answer with a text reason, for sockets no longer owned by node:http. */
function rawAnswer(status: number, reason: string): string {
  const body = `${reason}\n`;
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
