/**
 * The proxy's host-side connections: direct TCP to a destination a guest may
 * reach, or a CONNECT tunnel through the upstream proxy with hnet's Basic
 * credentials (RFC 9110 §9.3.6 CONNECT, RFC 9110 §11.7.1 Proxy-Authorization,
 * RFC 7617 Basic). Every failure becomes a ProxyFailure with the HTTP status
 * the guest should get and a reason naming what failed, never a hang: connects
 * have a deadline. Reasons never carry credentials (redactProxyUrl).
 *
 * Direct destinations obey the same rules as guest TCP (nat/egress.ts): the
 * host address and host.hnet.internal mean the host's 127.0.0.1 (unless
 * --no-host-loopback); the gateway, the guest subnet and loopback by other
 * names are refused; --allow-egress applies. Names are resolved by the host
 * (getaddrinfo, IPv4), then checked.
 */
import net from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import { request } from 'node:http';
import type { StackConfig } from '../../iface/config.js';
import { egressFor } from '../../nat/egress.js';
import { ipv4ToString, parseIpv4 } from '../../wire/addr.js';
import { redactProxyUrl, type ProxyUrl } from '../../host/proxy/types.js';

export class ProxyFailure extends Error {
  constructor(
    readonly status: 403 | 502 | 504,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'ProxyFailure';
  }
}

export type Lookup = (host: string) => Promise<string>;

export const hostLookup: Lookup = async (host) => (await dnsLookup(host, { family: 4 })).address;

const HOST_NAMES = new Set(['host.hnet.internal', 'host.docker.internal']);

/** `host:port`, with brackets for IPv6 literals (RFC 9110 §7.2). */
export function authority(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The Proxy-Authorization value for an upstream with credentials, else undefined. */
export function basicAuth(u: ProxyUrl): string | undefined {
  if (u.username === undefined && u.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${u.username ?? ''}:${u.password ?? ''}`).toString('base64')}`;
}

/** The host address to connect to for a direct request to `host`, or a ProxyFailure. */
export async function directAddress(cfg: StackConfig, host: string, lookup: Lookup = hostLookup): Promise<string> {
  const name = host.toLowerCase().replace(/\.$/, '').replace(/^\[(.*)\]$/, '$1');
  let ip: number | undefined;
  if (HOST_NAMES.has(name)) ip = cfg.hostIp;
  else ip = parseIpv4(name);
  if (ip === undefined) {
    if (name.includes(':')) throw new ProxyFailure(502, `hnet: ${host} is an IPv6 address; the gateway proxy reaches IPv4 only`);
    let address: string;
    try {
      address = await lookup(name);
    } catch (err) {
      throw new ProxyFailure(502, `hnet: cannot resolve ${host} (${(err as NodeJS.ErrnoException).code ?? 'lookup failed'})`);
    }
    ip = parseIpv4(address);
    if (ip === undefined) throw new ProxyFailure(502, `hnet: ${host} resolved to ${address}, not IPv4`);
  }
  const egress = egressFor(cfg, ip);
  if (!egress.ok) throw new ProxyFailure(403, `hnet: guests may not reach ${host} (${ipv4ToString(ip)}) through the proxy: ${egress.reason}`);
  return egress.hostAddress;
}

/** A TCP connection to address:port within timeoutMs. */
export function connectTcp(address: string, port: number, timeoutMs: number, what = authority(address, port)): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: address, port, noDelay: true });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ProxyFailure(504, `hnet: ${what} did not answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ProxyFailure(502, `hnet: cannot connect to ${what} (${err.code ?? err.message})`));
    });
  });
}

/** Open a CONNECT tunnel to target through `upstream`; resolves with the socket and any bytes read past the answer. */
export function connectViaUpstream(upstream: ProxyUrl, host: string, port: number, timeoutMs: number): Promise<{ socket: net.Socket; head: Buffer }> {
  const target = authority(host, port);
  const name = redactProxyUrl(upstream);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: target };
    const auth = basicAuth(upstream);
    if (auth) headers['proxy-authorization'] = auth;
    const req = request({ host: upstream.host, port: upstream.port, method: 'CONNECT', path: target, headers, agent: false });
    let settled = false;
    const fail = (f: ProxyFailure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(f);
    };
    const timer = setTimeout(() => {
      fail(new ProxyFailure(504, `hnet: upstream proxy ${name} did not answer within ${Math.round(timeoutMs / 1000)} s`));
      req.destroy();
    }, timeoutMs);
    req.once('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return fail(new ProxyFailure(502, upstreamRefusal(name, res.statusCode ?? 0, res.statusMessage ?? '', `CONNECT ${target}`)));
      }
      if (settled) return socket.destroy();
      settled = true;
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve({ socket, head });
    });
    req.once('error', (err: NodeJS.ErrnoException) => fail(new ProxyFailure(502, `hnet: cannot reach upstream proxy ${name} (${err.code ?? err.message})`)));
    req.end();
  });
}

/** The reason text for an upstream's non-success answer. */
export function upstreamRefusal(name: string, status: number, message: string, what: string): string {
  if (status === 407) return `hnet: upstream proxy ${name} rejected hnet's credentials (407) for ${what}; run hnet proxy sync after fixing them`;
  return `hnet: upstream proxy ${name} answered ${status} ${message} to ${what}`;
}

/** Splice two streams both ways; ends pass through (half-close), an error or reset on either side tears down both. */
export function splice(a: NodeJS.ReadWriteStream & { destroy(err?: Error): void }, b: NodeJS.ReadWriteStream & { destroy(err?: Error): void }): void {
  a.pipe(b);
  b.pipe(a);
  const kill = () => {
    a.destroy();
    b.destroy();
  };
  a.once('error', kill);
  b.once('error', kill);
  // A side that closed without passing on its end (a reset) resets the other.
  a.once('close', () => {
    if (!(b as unknown as { writableEnded: boolean }).writableEnded) b.destroy();
  });
  b.once('close', () => {
    if (!(a as unknown as { writableEnded: boolean }).writableEnded) a.destroy();
  });
}
