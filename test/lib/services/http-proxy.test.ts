/**
 * The guest-facing proxy as a gateway service, driven through the same
 * duplex the TCP NAT would hold, against real loopback servers: a fake
 * upstream proxy that requires Basic auth, an origin HTTP server and a TCP
 * echo server. Direct destinations use host.hnet.internal (-> 127.0.0.1).
 */
import { expect } from 'chai';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Counters } from '../../../src/lib/counters.js';
import { buildStackConfig } from '../../../src/lib/iface/config.js';
import { silentLogger } from '../../../src/lib/daemon/log.js';
import { ProxyState } from '../../../src/lib/daemon/proxy-state.js';
import { HttpProxy, endToEndHeaders, parseAuthority } from '../../../src/lib/services/http-proxy/server.js';
import type { Duplex } from 'node:stream';

const CTX = { subnet: '192.168.65.0/24', gateway: '192.168.65.1' };
const AUTH = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;

interface Seen {
  method: string;
  url: string;
  auth?: string;
  headers: IncomingMessage['headers'];
}

function listen(server: Server | net.Server): Promise<number> {
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res((server.address() as AddressInfo).port)));
}

/** A fake upstream proxy: 407 without the right Basic credentials; answers absolute-form itself; CONNECT to 127.0.0.1 ports. */
async function fakeUpstream(): Promise<{ port: number; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, auth: req.headers['proxy-authorization'], headers: req.headers });
    if (req.headers['proxy-authorization'] !== AUTH) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="corp"' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`upstream saw ${req.method} ${req.url}`);
  });
  server.on('connect', (req: IncomingMessage, sock: Duplex) => {
    seen.push({ method: 'CONNECT', url: req.url!, auth: req.headers['proxy-authorization'], headers: req.headers });
    if (req.headers['proxy-authorization'] !== AUTH) return sock.end('HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n');
    const port = Number(req.url!.split(':').pop());
    const out = net.connect(port, '127.0.0.1', () => {
      sock.write('HTTP/1.1 200 OK\r\n\r\n');
      out.pipe(sock);
      sock.pipe(out);
    });
    out.on('error', () => sock.destroy());
  });
  return { port: await listen(server), seen, server };
}

/** An HTTP request through the proxy, as a guest would send it over the gateway connection. */
function viaProxy(proxy: HttpProxy, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: IncomingMessage['headers'] }> {
  return new Promise((resolve, reject) => {
    const conn = proxy.service()({ guest: '192.168.65.2:40000' });
    const req = request({ createConnection: () => conn as unknown as net.Socket, path, headers, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** CONNECT through the proxy; resolves with the status line and the open guest-side duplex. */
function connectVia(proxy: HttpProxy, target: string): Promise<{ statusLine: string; conn: Duplex; rest: string }> {
  return new Promise((resolve) => {
    const conn = proxy.service()({ guest: '192.168.65.2:40001' });
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      conn.off('data', onData);
      resolve({ statusLine: text.split('\r\n')[0], conn, rest: text.slice(end + 4) });
    };
    conn.on('data', onData);
    conn.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\nproxy-authorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n\r\n`);
  });
}

describe('guest-facing HTTP proxy (gateway:3128)', function () {
  this.timeout(20_000);
  const cfg = buildStackConfig({ allowEgress: ['127.0.0.0/8'] });
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  let origin: Server;
  let originPort: number;
  let echo: net.Server;
  let echoPort: number;
  let originSeen: Seen[];

  before(async () => {
    upstream = await fakeUpstream();
    originSeen = [];
    origin = createServer((req, res) => {
      originSeen.push({ method: req.method!, url: req.url!, auth: req.headers['proxy-authorization'], headers: req.headers });
      res.writeHead(200, { connection: 'x-secret-hop', 'x-secret-hop': 'drop me', 'x-kept': 'yes' }).end(`origin ${req.url}`);
    });
    originPort = await listen(origin);
    echo = net.createServer((s) => s.pipe(s));
    echoPort = await listen(echo);
  });

  after(() => {
    upstream.server.closeAllConnections();
    upstream.server.close();
    origin.closeAllConnections();
    origin.close();
    echo.close();
  });

  function make(settings: { http?: string; https?: string; noProxy?: string[] }): HttpProxy {
    const state = ProxyState.fromConfig(CTX, { ...settings, source: 'test' });
    return new HttpProxy({ cfg, state, counters: new Counters(), log: silentLogger, connectTimeoutMs: 2000 });
  }

  it('forwards absolute-form requests to the upstream with hnet\'s Basic credentials, never the guest\'s', async () => {
    const proxy = make({ http: `http://alice:s3cret@127.0.0.1:${upstream.port}` });
    const before = upstream.seen.length;
    const res = await viaProxy(proxy, 'http://corp.example:8080/a?b=1', { 'proxy-authorization': 'Basic Z3Vlc3Q6Z3Vlc3Q=' });
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('upstream saw GET http://corp.example:8080/a?b=1');
    const seen = upstream.seen.slice(before);
    expect(seen).to.have.length(1);
    expect(seen[0].auth).to.equal(AUTH);
    expect(seen[0].headers.host).to.equal('corp.example:8080');
  });

  it('turns a 407 from the upstream into a 502 that names the problem and shows no credentials', async () => {
    const proxy = make({ http: `http://alice:wrong@127.0.0.1:${upstream.port}` });
    const res = await viaProxy(proxy, 'http://corp.example/');
    expect(res.status).to.equal(502);
    expect(res.body).to.match(/rejected hnet's credentials \(407\)/);
    expect(res.body).not.to.contain('wrong');
    expect(res.headers['proxy-authenticate']).to.equal(undefined);
  });

  it('goes direct for a no_proxy destination, in origin-form, without hop-by-hop headers', async () => {
    const proxy = make({ http: `http://alice:s3cret@127.0.0.1:${upstream.port}`, noProxy: ['.hnet.internal'] });
    const before = upstream.seen.length;
    const res = await viaProxy(proxy, `http://host.hnet.internal:${originPort}/direct`, { 'proxy-authorization': 'Basic Z3Vlc3Q6Z3Vlc3Q=', connection: 'keep-alive, x-guest-hop', 'x-guest-hop': '1' });
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('origin /direct');
    expect(upstream.seen.length).to.equal(before);
    const last = originSeen[originSeen.length - 1];
    expect(last.url).to.equal('/direct');
    expect(last.auth).to.equal(undefined);
    expect(last.headers['x-guest-hop']).to.equal(undefined);
    expect(res.headers['x-secret-hop']).to.equal(undefined);
    expect(res.headers['x-kept']).to.equal('yes');
  });

  it('goes direct when no upstream is set', async () => {
    const res = await viaProxy(make({}), `http://host.hnet.internal:${originPort}/none`);
    expect(res.body).to.equal('origin /none');
  });

  it('answers 502 with a reason, not a hang, when the upstream is unreachable', async () => {
    const dead = net.createServer();
    const port = await listen(dead);
    await new Promise((r) => dead.close(r));
    const res = await viaProxy(make({ http: `http://alice:s3cret@127.0.0.1:${port}`, https: `http://alice:s3cret@127.0.0.1:${port}` }), 'http://corp.example/');
    expect(res.status).to.equal(502);
    expect(res.body).to.match(/cannot reach upstream proxy http:\/\/\*\*\*@127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    const t = await connectVia(make({ https: `http://alice:s3cret@127.0.0.1:${port}` }), 'corp.example:443');
    expect(t.statusLine).to.match(/^HTTP\/1\.1 502 /);
    expect(t.rest).to.contain('ECONNREFUSED');
    expect(t.rest).not.to.contain('s3cret');
  });

  it('refuses destinations guests may not reach (the gateway, loopback by name) with 403', async () => {
    const res = await viaProxy(make({}), `http://192.168.65.1:${originPort}/`);
    expect(res.status).to.equal(403);
    const lo = await viaProxy(make({}), `http://127.0.0.1:${originPort}/`);
    expect(lo.status).to.equal(403);
  });

  it('tunnels CONNECT through the upstream with credentials, and direct for no_proxy', async () => {
    const proxy = make({ https: `http://alice:s3cret@127.0.0.1:${upstream.port}`, noProxy: ['host.docker.internal'] });
    for (const target of [`corp.example:${echoPort}`, `host.docker.internal:${echoPort}`]) {
      const before = upstream.seen.length;
      const t = await connectVia(proxy, target);
      expect(t.statusLine, target).to.match(/^HTTP\/1\.1 200 /);
      const echoed = await new Promise<string>((res) => {
        t.conn.once('data', (d: Buffer) => res(d.toString()));
        t.conn.write('ping through the tunnel');
      });
      expect(echoed).to.equal('ping through the tunnel');
      t.conn.destroy();
      const seen = upstream.seen.slice(before);
      if (target.startsWith('corp')) expect(seen.map((s) => [s.method, s.url, s.auth])).to.deep.equal([['CONNECT', target, AUTH]]);
      else expect(seen).to.deep.equal([]);
    }
  });

  it('applies new settings to the next request while an open tunnel keeps going', async () => {
    const state = ProxyState.fromConfig(CTX, { https: `http://alice:s3cret@127.0.0.1:${upstream.port}`, source: 'test' });
    const proxy = new HttpProxy({ cfg, state, counters: new Counters(), log: silentLogger });
    const t = await connectVia(proxy, `corp.example:${echoPort}`);
    expect(t.statusLine).to.match(/ 200 /);
    state.apply({ https: 'http://alice:s3cret@127.0.0.1:1' });
    const again = await connectVia(proxy, `corp.example:${echoPort}`);
    expect(again.statusLine).to.match(/ 502 /);
    const echoed = await new Promise<string>((res) => {
      t.conn.once('data', (d: Buffer) => res(d.toString()));
      t.conn.write('still here');
    });
    expect(echoed).to.equal('still here');
    t.conn.destroy();
  });
});

describe('http-proxy helpers', () => {
  it('parses CONNECT authority-form targets (RFC 9112 §3.2.3)', () => {
    expect(parseAuthority('example.com:443')).to.deep.equal({ host: 'example.com', port: 443 });
    expect(parseAuthority('[::1]:8443')).to.deep.equal({ host: '::1', port: 8443 });
    expect(parseAuthority('example.com')).to.equal(undefined);
    expect(parseAuthority('example.com:0')).to.equal(undefined);
    expect(parseAuthority('user@example.com:443')).to.equal(undefined);
  });

  it('drops hop-by-hop headers and those named by Connection (RFC 9110 §7.6.1)', () => {
    const out = endToEndHeaders({ connection: 'close, x-a', 'x-a': '1', 'x-b': '2', 'proxy-authorization': 'Basic x', te: 'trailers', 'keep-alive': 'timeout=5' });
    expect(out).to.deep.equal({ 'x-b': '2' });
  });
});
