/**
 * The control API server (DESIGN §5): HTTP/1.1 with JSON bodies over the unix
 * socket HOME/run/hnet.sock, serving a DaemonApi. It never imports the stack,
 * and it is never reachable from the guest network: it listens on nothing but
 * the unix socket (mode 0600, in the 0700 folder HOME/run).
 *
 * Contract:
 * - startControlServer() takes the pid lock (pidlock.ts: a second daemon on
 *   the same HOME gets HNET_ALREADY_RUNNING naming the pid; stale socket and
 *   pid files of a crashed daemon are replaced), then listens.
 * - Every answer is JSON except /metrics (Prometheus text 0.0.4) and
 *   /v1/capture (application/vnd.tcpdump.pcap, streamed); DELETE answers 204.
 *   /v1/connections streams its array a slice per event-loop turn
 *   (json-stream.ts): the listing can be 100 000 entries long, and this
 *   server shares its loop with every flow.
 * - Errors are ErrorBody with a stable code: unknown route 404 HNET_NOT_FOUND,
 *   known route with another method 405 HNET_METHOD_NOT_ALLOWED, bad JSON or a
 *   body of the wrong shape 400 HNET_BAD_REQUEST, a body over the limit 413
 *   HNET_BODY_TOO_LARGE, DaemonApi errors per httpStatusFor(), anything that is
 *   not an HnetError 500 HNET_INTERNAL (details go to the log, not the client).
 * - close() stops listening, drops open connections, removes socket and pid file.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { chmodSync, unlinkSync } from 'node:fs';
import type { HomePaths } from './home.js';
import type { Logger } from './log.js';
import { redact } from './log.js';
import { HnetError } from '../errors.js';
import { parseIpv4 } from '../wire/addr.js';
import { acquirePidLock } from './pidlock.js';
import { renderPrometheus, PROMETHEUS_CONTENT_TYPE, type GaugeSample } from './metrics.js';
import { sendJsonArray } from './json-stream.js';
import { CODES, CONNECTION_PROTOS, CONNECTION_STATES, PROTOS, connectionMatches, httpStatusFor, type ConnectionFilter, type DaemonApi, type PortForwardRequest, type Proto, type ProxyBody, type ProxyUpdate } from './control-types.js';

export interface ControlServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

export interface ControlServerOptions {
  /** Largest request body accepted, bytes. */
  bodyLimit?: number;
  /** Longest capture a client may ask for, seconds. */
  maxCaptureS?: number;
}

export const PCAP_CONTENT_TYPE = 'application/vnd.tcpdump.pcap';
const DEFAULT_BODY_LIMIT = 64 * 1024;
const DEFAULT_MAX_CAPTURE_S = 24 * 3600;

class RequestError extends HnetError {
  constructor(code: string, message: string, suggestions: string[] = []) {
    super(code, message, suggestions, 2);
  }
}
const badRequest = (message: string) => new RequestError(CODES.badRequest, message);

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[], url: URL) => Promise<void>;
interface Route {
  pattern: RegExp;
  methods: Record<string, Handler>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: HnetError, headers: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  sendJson(res, httpStatusFor(err), { error: err.toJSON() });
}

/** Read the whole body as JSON, refusing more than `limit` bytes. */
function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new RequestError(CODES.bodyTooLarge, `request body exceeds ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new RequestError(CODES.bodyTooLarge, `request body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => reject(err));
    req.on('end', () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(badRequest('request body is not valid JSON'));
      }
    });
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseProto(v: unknown): Proto {
  if (typeof v !== 'string' || !PROTOS.includes(v as Proto)) throw badRequest(`proto must be one of ${PROTOS.join(', ')}`);
  return v as Proto;
}

function parsePort(v: unknown, field: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) throw badRequest(`${field} must be an integer 1-65535`);
  return n;
}

function parseIp(v: unknown, field: string): string {
  if (typeof v !== 'string' || parseIpv4(v) === undefined) throw badRequest(`${field} must be an IPv4 address`);
  return v;
}

/** POST /v1/ports body; hostIp defaults to loopback (DESIGN §4). */
export function parsePortForwardRequest(body: unknown): PortForwardRequest {
  if (!isObject(body)) throw badRequest('body must be a JSON object');
  const req: PortForwardRequest = {
    proto: parseProto(body.proto ?? 'tcp'),
    hostIp: body.hostIp === undefined ? '127.0.0.1' : parseIp(body.hostIp, 'hostIp'),
    hostPort: parsePort(body.hostPort, 'hostPort'),
    guestPort: parsePort(body.guestPort, 'guestPort'),
  };
  if (body.guestIp !== undefined && body.guestIp !== null) req.guestIp = parseIp(body.guestIp, 'guestIp');
  return req;
}

function optionalUrl(v: unknown, field: string): string | null | undefined {
  if (v === undefined || v === null) return v;
  if (typeof v !== 'string') throw badRequest(`${field} must be a URL string or null`);
  return v;
}

/** PUT /v1/proxy body. */
export function parseProxyUpdate(body: unknown): ProxyUpdate {
  if (!isObject(body)) throw badRequest('body must be a JSON object');
  const up: ProxyUpdate = {};
  const http = optionalUrl(body.http, 'http');
  const https = optionalUrl(body.https, 'https');
  const pac = optionalUrl(body.pac, 'pac');
  if (http !== undefined) up.http = http;
  if (https !== undefined) up.https = https;
  if (pac !== undefined) up.pac = pac;
  if (body.noProxy !== undefined) {
    if (!Array.isArray(body.noProxy) || !body.noProxy.every((x) => typeof x === 'string')) throw badRequest('noProxy must be an array of strings');
    up.noProxy = body.noProxy as string[];
  }
  return up;
}

/**
 * A comma list from the query, each item matched case-insensitively against
 * `allowed` and returned in its canonical spelling; null when absent.
 */
function queryList(url: URL, name: string, allowed: readonly string[]): Set<string> | null {
  const raw = url.searchParams.getAll(name);
  if (raw.length === 0) return null;
  const byLower = new Map(allowed.map((a) => [a.toLowerCase(), a]));
  const out = new Set<string>();
  for (const item of raw.flatMap((r) => r.split(','))) {
    const canonical = byLower.get(item.trim().toLowerCase());
    if (canonical === undefined) throw badRequest(`${name} must be a comma list of ${allowed.join(', ')}; got "${item}"`);
    out.add(canonical);
  }
  return out;
}

/** GET /v1/connections?proto=...&state=...: which items to send. */
function connectionFilter(url: URL): ConnectionFilter {
  return { protos: queryList(url, 'proto', CONNECTION_PROTOS), states: queryList(url, 'state', CONNECTION_STATES) };
}

/** Credentials never leave the socket, whatever the daemon hands us (DESIGN §6). */
function redactProxy(p: ProxyBody): ProxyBody {
  const out: ProxyBody = { ...p, http: p.http === null ? null : redact(p.http), https: p.https === null ? null : redact(p.https) };
  if (p.pac !== undefined) out.pac = redact(p.pac);
  return out;
}

function gaugesOf(api: DaemonApi): GaugeSample[] {
  const s = api.status();
  return [
    { name: 'uptime_seconds', value: s.uptimeS, help: 'Seconds since the daemon started' },
    { name: 'guests', value: s.guests.length, help: 'Guests the switch has learned' },
    { name: 'transports', value: s.transports.length, help: 'Transports the daemon listens on' },
    { name: 'info', value: 1, help: 'Daemon version', labels: { version: s.version } },
    ...Object.entries(api.gauges?.() ?? {}).map(([name, value]) => ({ name, value })),
  ];
}

function routes(api: DaemonApi, opts: Required<ControlServerOptions>): Route[] {
  const json = (f: (req: IncomingMessage, url: URL) => unknown): Handler => async (req, res, _p, url) => sendJson(res, 200, await f(req, url));
  return [
    { pattern: /^\/v1\/status$/, methods: { GET: json(() => api.status()) } },
    {
      pattern: /^\/v1\/ports$/,
      methods: {
        GET: json(() => api.listPorts()),
        POST: async (req, res) => sendJson(res, 201, await api.addPort(parsePortForwardRequest(await readJson(req, opts.bodyLimit)))),
      },
    },
    {
      pattern: /^\/v1\/ports\/([^/]+)\/([^/]+)\/([^/]+)$/,
      methods: {
        DELETE: async (_req, res, [proto, hostIp, hostPort]) => {
          await api.removePort(parseProto(proto), parseIp(hostIp, 'hostIp'), parsePort(hostPort, 'hostPort'));
          res.writeHead(204).end();
        },
      },
    },
    {
      pattern: /^\/v1\/proxy$/,
      methods: {
        GET: json(() => redactProxy(api.getProxy())),
        PUT: async (req, res) => sendJson(res, 200, redactProxy(await api.putProxy(parseProxyUpdate(await readJson(req, opts.bodyLimit))))),
      },
    },
    { pattern: /^\/v1\/leases$/, methods: { GET: json(() => api.leases()) } },
    {
      pattern: /^\/v1\/connections$/,
      methods: {
        GET: async (_req, res, _p, url) => {
          const filter = connectionFilter(url);
          await sendJsonArray(res, api.connections(filter), (c) => connectionMatches(filter, c));
        },
      },
    },
    {
      pattern: /^\/v1\/diagnose\/dns$/,
      methods: {
        GET: json((_r, url) => {
          const name = url.searchParams.get('name') ?? '';
          const type = url.searchParams.get('type') ?? 'A';
          if (!/^[A-Za-z0-9_.-]{1,253}$/.test(name) || (type !== 'A' && type !== 'AAAA')) throw badRequest('name must be a DNS name and type A or AAAA');
          if (!api.probeDns) throw new HnetError(CODES.notFound, 'this daemon cannot probe its DNS');
          return api.probeDns(name, type);
        }),
      },
    },
    {
      pattern: /^\/v1\/diagnose\/connect$/,
      methods: {
        GET: json((_r, url) => {
          const host = url.searchParams.get('host') ?? '';
          if (!/^[A-Za-z0-9_.-]{1,253}$/.test(host)) throw badRequest('host must be a name or an IPv4 address');
          const port = parsePort(url.searchParams.get('port') ?? '', 'port');
          if (!api.probeConnect) throw new HnetError(CODES.notFound, 'this daemon cannot probe connections');
          return api.probeConnect(host, port);
        }),
      },
    },
    {
      pattern: /^\/v1\/capture$/,
      methods: {
        GET: async (_req, res, _p, url) => {
          const raw = url.searchParams.get('seconds') ?? '10';
          const seconds = /^\d+$/.test(raw) ? Number(raw) : NaN;
          if (!(seconds >= 1 && seconds <= opts.maxCaptureS)) throw badRequest(`seconds must be an integer 1-${opts.maxCaptureS}`);
          res.writeHead(200, { 'content-type': PCAP_CONTENT_TYPE, 'cache-control': 'no-store' });
          try {
            await api.capture(seconds, res);
          } finally {
            if (!res.writableEnded) res.end();
          }
        },
      },
    },
    {
      pattern: /^\/metrics$/,
      methods: {
        GET: async (_req, res) => {
          const text = renderPrometheus(api.counters(), gaugesOf(api));
          res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
          res.end(text);
        },
      },
    },
  ];
}

export async function startControlServer(paths: HomePaths, api: DaemonApi, log: Logger, options: ControlServerOptions = {}): Promise<ControlServer> {
  const opts: Required<ControlServerOptions> = { bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT, maxCaptureS: options.maxCaptureS ?? DEFAULT_MAX_CAPTURE_S };
  const table = routes(api, opts);
  const lock = await acquirePidLock(paths);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://hnet');
    const method = req.method ?? 'GET';
    for (const route of table) {
      const m = route.pattern.exec(url.pathname);
      if (!m) continue;
      const handler = route.methods[method];
      if (!handler) {
        const allow = Object.keys(route.methods).join(', ');
        sendError(res, new RequestError(CODES.methodNotAllowed, `${method} is not allowed on ${url.pathname}; use ${allow}`), { allow });
        return;
      }
      let params: string[];
      try {
        params = m.slice(1).map((p) => decodeURIComponent(p));
      } catch {
        throw badRequest('malformed percent-encoding in the path');
      }
      await handler(req, res, params, url);
      return;
    }
    sendError(res, new RequestError(CODES.notFound, `no such route: ${method} ${url.pathname}`, ['see DESIGN §5 for the routes']));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const known = err instanceof HnetError;
      if (!known) log.error('control request failed', { method: req.method, url: req.url, err: String(err) });
      else log.debug('control request refused', { method: req.method, url: req.url, code: err.code });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Drain an unread body so the connection stays usable.
      req.resume();
      sendError(res, known ? err : new HnetError(CODES.internal, 'the daemon failed to answer this request; see its log'));
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(paths.controlSocket, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(paths.controlSocket, 0o600);
  } catch (err) {
    lock.release();
    throw err;
  }
  log.info('control API listening', { socket: paths.controlSocket });

  let closed: Promise<void> | undefined;
  return {
    socketPath: paths.controlSocket,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).finally(() => {
        try {
          unlinkSync(paths.controlSocket);
        } catch {
          /* node may have removed it already */
        }
        lock.release();
      });
      return closed;
    },
  };
}
