/**
 * The typed control API client (DESIGN §5): one method per route, HTTP/1.1 over
 * the unix socket HOME/run/hnet.sock. Commands use this; they never open
 * sockets themselves.
 *
 * Contract:
 * - No socket, or nothing listening on it (ENOENT, ECONNREFUSED), or no answer
 *   within the timeout → HnetError HNET_DAEMON_UNREACHABLE (exit 1) whose
 *   suggestion is `hnet start --home HOME`.
 * - An error answer (ErrorBody) is re-thrown as HnetError with the server's
 *   code, message and suggestions; 400 answers become usage errors (exit 2).
 * - An answer that is not the JSON we expect → HnetError HNET_BAD_RESPONSE.
 */
import { request, type IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HomePaths } from './home.js';
import { HnetError } from '../errors.js';
import {
  CODES,
  type Connection,
  type ConnectProbeBody,
  type DnsProbeBody,
  type Lease,
  type PortForward,
  type PortForwardRequest,
  type Proto,
  type ProxyBody,
  type ProxyUpdate,
  type StatusBody,
} from './control-types.js';

export interface ControlClientOptions {
  /** How long to wait for an answer (capture adds its duration), ms. */
  timeoutMs?: number;
}

/** What `hnet status` shows: the status body plus forwarded ports and leases. */
export interface StatusReport extends StatusBody {
  ports: PortForward[];
  leases: Lease[];
}

const MAX_RESPONSE = 16 * 1024 * 1024;

export class ControlClient {
  private readonly timeoutMs: number;

  constructor(
    readonly paths: HomePaths,
    options: ControlClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  status(): Promise<StatusBody> {
    return this.json('GET', '/v1/status');
  }

  /** GET /v1/status, /v1/ports and /v1/leases together. */
  async statusReport(): Promise<StatusReport> {
    const [status, ports, leases] = await Promise.all([this.status(), this.listPorts(), this.leases()]);
    return { ...status, ports, leases };
  }

  listPorts(): Promise<PortForward[]> {
    return this.json('GET', '/v1/ports');
  }

  addPort(p: PortForwardRequest): Promise<PortForward> {
    return this.json('POST', '/v1/ports', p);
  }

  async removePort(proto: Proto, hostIp: string, hostPort: number): Promise<void> {
    await this.json('DELETE', `/v1/ports/${encodeURIComponent(proto)}/${encodeURIComponent(hostIp)}/${hostPort}`);
  }

  getProxy(): Promise<ProxyBody> {
    return this.json('GET', '/v1/proxy');
  }

  putProxy(p: ProxyUpdate): Promise<ProxyBody> {
    return this.json('PUT', '/v1/proxy', p);
  }

  leases(): Promise<Lease[]> {
    return this.json('GET', '/v1/leases');
  }

  /** GET /v1/connections, narrowed to these protocols and states when given. */
  connections(filter: { proto?: readonly string[]; state?: readonly string[] } = {}): Promise<Connection[]> {
    const q = new URLSearchParams();
    if (filter.proto?.length) q.set('proto', filter.proto.join(','));
    if (filter.state?.length) q.set('state', filter.state.join(','));
    const query = q.toString();
    return this.json('GET', `/v1/connections${query ? `?${query}` : ''}`);
  }

  /** GET /v1/diagnose/dns: the daemon's own DNS answer for `name`. */
  probeDns(name: string, type: 'A' | 'AAAA' = 'A'): Promise<DnsProbeBody> {
    return this.json('GET', `/v1/diagnose/dns?name=${encodeURIComponent(name)}&type=${type}`);
  }

  /** GET /v1/diagnose/connect: TCP from the daemon to host:port under its egress policy. */
  probeConnect(host: string, port: number): Promise<ConnectProbeBody> {
    return this.json('GET', `/v1/diagnose/connect?host=${encodeURIComponent(host)}&port=${port}`);
  }

  /** The Prometheus text of GET /metrics. */
  async metrics(): Promise<string> {
    const res = await this.send('GET', '/metrics', undefined, this.timeoutMs);
    const body = await readBody(res);
    if (res.statusCode !== 200) throw errorFrom(res.statusCode ?? 0, body);
    return body.toString('utf8');
  }

  /** Stream `seconds` of pcap from GET /v1/capture into `out` (not ended by us unless `end`). */
  async capture(seconds: number, out: Writable, end = false): Promise<void> {
    const res = await this.send('GET', `/v1/capture?seconds=${encodeURIComponent(String(seconds))}`, undefined, this.timeoutMs + seconds * 1000);
    if (res.statusCode !== 200) throw errorFrom(res.statusCode ?? 0, await readBody(res));
    await pipeline(res, out, { end });
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, this.timeoutMs);
    const raw = await readBody(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw errorFrom(status, raw);
    if (status === 204 || raw.length === 0) return undefined as T;
    try {
      return JSON.parse(raw.toString('utf8')) as T;
    } catch {
      throw new HnetError(CODES.badResponse, `the daemon answered ${method} ${path} with something that is not JSON`);
    }
  }

  private unreachable(detail: string): HnetError {
    return new HnetError(CODES.unreachable, `no hnet daemon answers on ${this.paths.controlSocket} (${detail})`, [`hnet start --home ${this.paths.home}`]);
  }

  private send(method: string, path: string, body: unknown, timeoutMs: number): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (payload) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = payload.length;
      }
      const req = request({ socketPath: this.paths.controlSocket, method, path, headers, timeout: timeoutMs }, (res) => resolve(res));
      req.on('timeout', () => req.destroy(this.unreachable(`no answer within ${Math.round(timeoutMs / 1000)} s`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof HnetError) reject(err);
        else if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') reject(this.unreachable(err.code === 'ENOENT' ? 'the socket does not exist' : 'connection refused'));
        else if (err.code === 'EACCES') {
          reject(new HnetError(CODES.unreachable, `no permission to open ${this.paths.controlSocket}`, ['run as the user that started the daemon']));
        } else reject(this.unreachable(err.message));
      });
      req.end(payload);
    });
  }
}

function readBody(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_RESPONSE) {
        res.destroy(new HnetError(CODES.badResponse, `the daemon's answer exceeds ${MAX_RESPONSE} bytes`));
        return;
      }
      chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

/** An error answer as the HnetError the server threw. */
function errorFrom(status: number, raw: Buffer): HnetError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    /* handled below */
  }
  const e = (parsed as { error?: { code?: unknown; message?: unknown; suggestions?: unknown } } | undefined)?.error;
  if (!e || typeof e.code !== 'string' || typeof e.message !== 'string') {
    return new HnetError(CODES.badResponse, `the daemon answered HTTP ${status} without an error body`);
  }
  const suggestions = Array.isArray(e.suggestions) ? e.suggestions.filter((s): s is string => typeof s === 'string') : [];
  return new HnetError(e.code, e.message, suggestions, status === 400 || status === 413 ? 2 : 1);
}
