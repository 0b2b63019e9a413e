/**
 * The control API end to end: a real server on a real unix socket in a temp
 * HOME, a fake DaemonApi behind it, and the typed client in front (DESIGN §5).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { homePaths, type HomePaths } from '../../../src/lib/daemon/home.js';
import { silentLogger } from '../../../src/lib/daemon/log.js';
import { startControlServer, PCAP_CONTENT_TYPE, type ControlServer } from '../../../src/lib/daemon/control-server.js';
import { ControlClient } from '../../../src/lib/daemon/control-client.js';
import { HnetError, UsageError } from '../../../src/lib/errors.js';
import { CONNECTION_STATES, type Connection, type DaemonApi, type Lease, type PortForward, type PortForwardRequest, type Proto, type ProxyBody, type ProxyUpdate, type StatusBody } from '../../../src/lib/daemon/control-types.js';
import { TcpState } from '../../../src/lib/socket/tcp/types.js';

export class FakeDaemon implements DaemonApi {
  ports: PortForward[] = [];
  proxy: ProxyBody = { http: 'http://alice:s3cret@proxy.corp:8080', https: null, noProxy: ['localhost'], source: 'env' };
  leaseList: Lease[] = [{ mac: '02:00:00:00:00:02', ip: '192.168.65.2', hostname: 'vm1', expiresAt: '2030-01-01T00:00:00.000Z' }];
  conns: Connection[] = [{ proto: 'tcp', guest: '192.168.65.2:40000', remote: '10.0.0.1:443', state: 'ESTABLISHED', bytesIn: 10, bytesOut: 20 }];
  counterValues: Record<string, number> = { 'drop.ipv4_bad_checksum': 3, 'tcp.flows': 7, 'frames.in': 100 };
  /** Set to make the next call throw this. */
  failWith?: unknown;
  captureGate?: Promise<void>;
  captureClosed = false;
  captureOutClosed?: Promise<void>;
  captureSeconds?: number;

  status(): StatusBody {
    this.maybeFail();
    return {
      version: '0.1.0',
      pid: process.pid,
      uptimeS: 42,
      subnet: '192.168.65.0/24',
      gateway: '192.168.65.1',
      hostIp: '192.168.65.254',
      mtu: 1500,
      transports: [{ uri: 'qemu:///tmp/q.sock', kind: 'qemu', clients: 1 }],
      guests: [{ mac: '02:00:00:00:00:02', ip: '192.168.65.2', hostname: 'vm1', transport: 'qemu:///tmp/q.sock' }],
      counters: this.counterValues,
    };
  }
  listPorts(): PortForward[] {
    return this.ports;
  }
  async addPort(p: PortForwardRequest): Promise<PortForward> {
    this.maybeFail();
    if (this.ports.some((x) => x.proto === p.proto && x.hostIp === p.hostIp && x.hostPort === p.hostPort)) {
      throw new HnetError('HNET_PORT_IN_USE', `${p.hostIp}:${p.hostPort}/${p.proto} is already forwarded`, ['hnet ports list']);
    }
    const fwd: PortForward = { proto: p.proto, hostIp: p.hostIp ?? '?', hostPort: p.hostPort, guestIp: p.guestIp ?? '192.168.65.2', guestPort: p.guestPort };
    this.ports.push(fwd);
    return fwd;
  }
  async removePort(proto: Proto, hostIp: string, hostPort: number): Promise<void> {
    const i = this.ports.findIndex((x) => x.proto === proto && x.hostIp === hostIp && x.hostPort === hostPort);
    if (i < 0) throw new HnetError('HNET_NOT_FOUND', `no forward ${hostIp}:${hostPort}/${proto}`);
    this.ports.splice(i, 1);
  }
  getProxy(): ProxyBody {
    return this.proxy;
  }
  async putProxy(p: ProxyUpdate): Promise<ProxyBody> {
    this.proxy = { ...this.proxy, ...p, source: 'config' } as ProxyBody;
    return this.proxy;
  }
  leases(): Lease[] {
    return this.leaseList;
  }
  connections(): Connection[] {
    return this.conns;
  }
  counters(): Record<string, number> {
    return this.counterValues;
  }
  gauges(): Record<string, number> {
    return { 'tcp.open': 2 };
  }
  async capture(seconds: number, out: Writable): Promise<void> {
    this.captureSeconds = seconds;
    this.captureOutClosed = new Promise((resolve) => out.on('close', () => resolve()));
    out.on('close', () => (this.captureClosed = true));
    out.write(PCAP_HEADER);
    if (this.captureGate) await this.captureGate;
    if (!out.destroyed) out.write(PCAP_RECORD);
  }
  private maybeFail(): void {
    const f = this.failWith;
    this.failWith = undefined;
    if (f !== undefined) throw f;
  }
}

/** pcap global header (LINKTYPE_ETHERNET) and one 14-byte record, little-endian. */
const PCAP_HEADER = Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex');
const PCAP_RECORD = Buffer.concat([Buffer.from('01000000000000000e0000000e000000', 'hex'), Buffer.alloc(14, 0xab)]);

export function tempHome(): HomePaths {
  return homePaths(mkdtempSync(join(tmpdir(), 'hnt-ctl-')));
}

/** A raw request, for what the typed client does not send. */
export function raw(paths: HomePaths, method: string, path: string, body?: string | Buffer): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: paths.controlSocket, method, path, headers: body ? { 'content-type': 'application/json' } : {} });
    // Wait for our body to be flushed too, so closing the server cannot cut it (EPIPE).
    const sent = new Promise((ok) => req.once('finish', ok));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => void sent.then(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') })));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function rejection(p: Promise<unknown>): Promise<HnetError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(HnetError);
    return err as HnetError;
  }
  throw new Error('expected a rejection');
}

describe('control API server and client', () => {
  let paths: HomePaths;
  let fake: FakeDaemon;
  let server: ControlServer | undefined;
  let client: ControlClient;

  beforeEach(async () => {
    paths = tempHome();
    fake = new FakeDaemon();
    server = await startControlServer(paths, fake, silentLogger);
    client = new ControlClient(paths);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(paths.home, { recursive: true, force: true });
  });

  describe('the socket', () => {
    it('is a 0600 socket in a 0700 folder', () => {
      const sock = statSync(paths.controlSocket);
      expect(sock.isSocket()).to.equal(true);
      expect(sock.mode & 0o777).to.equal(0o600);
      expect(statSync(paths.runDir).mode & 0o777).to.equal(0o700);
    });

    it('writes our pid to HOME/run/hnet.pid', () => {
      expect(Number(readFileSync(paths.pidFile, 'utf8'))).to.equal(process.pid);
    });

    it('removes socket and pid file on close', async () => {
      await server!.close();
      server = undefined;
      expect(existsSync(paths.controlSocket)).to.equal(false);
      expect(existsSync(paths.pidFile)).to.equal(false);
    });

    it('refuses a second server on the same HOME, naming the pid that holds it', async () => {
      const err = await rejection(startControlServer(paths, fake, silentLogger));
      expect(err.code).to.equal('HNET_ALREADY_RUNNING');
      expect(err.message).to.contain(`pid ${process.pid}`);
      // and the first one still answers
      expect((await client.status()).pid).to.equal(process.pid);
    });
  });

  describe('GET /v1/status', () => {
    it('round-trips the status body', async () => {
      expect(await client.status()).to.deep.equal(fake.status());
    });

    it('adds ports and leases for the status report', async () => {
      await client.addPort({ proto: 'tcp', hostPort: 8080, guestPort: 80 });
      const report = await client.statusReport();
      expect(report.version).to.equal('0.1.0');
      expect(report.ports).to.have.length(1);
      expect(report.leases).to.deep.equal(fake.leaseList);
    });
  });

  describe('/v1/ports', () => {
    it('adds a forward bound to 127.0.0.1 by default and answers 201', async () => {
      const res = await raw(paths, 'POST', '/v1/ports', JSON.stringify({ proto: 'tcp', hostPort: 2222, guestPort: 22 }));
      expect(res.status).to.equal(201);
      expect(JSON.parse(res.body)).to.include({ hostIp: '127.0.0.1', hostPort: 2222, guestPort: 22 });
      expect(await client.listPorts()).to.deep.equal([JSON.parse(res.body)]);
    });

    it('answers 409 HNET_PORT_IN_USE for a forward that exists', async () => {
      await client.addPort({ proto: 'udp', hostIp: '127.0.0.2', hostPort: 53, guestPort: 53 });
      const res = await raw(paths, 'POST', '/v1/ports', JSON.stringify({ proto: 'udp', hostIp: '127.0.0.2', hostPort: 53, guestPort: 5353 }));
      expect(res.status).to.equal(409);
      expect(JSON.parse(res.body).error).to.deep.equal({ code: 'HNET_PORT_IN_USE', message: '127.0.0.2:53/udp is already forwarded', suggestions: ['hnet ports list'] });
      const err = await rejection(client.addPort({ proto: 'udp', hostIp: '127.0.0.2', hostPort: 53, guestPort: 1 }));
      expect(err.code).to.equal('HNET_PORT_IN_USE');
      expect(err.suggestions).to.deep.equal(['hnet ports list']);
      expect(err.exitCode).to.equal(1);
    });

    it('removes a forward by proto, host IP and port', async () => {
      await client.addPort({ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 9000, guestPort: 90 });
      const res = await raw(paths, 'DELETE', '/v1/ports/tcp/127.0.0.1/9000');
      expect(res.status).to.equal(204);
      expect(await client.listPorts()).to.deep.equal([]);
    });

    it('answers 404 HNET_NOT_FOUND when removing a forward that does not exist', async () => {
      const err = await rejection(client.removePort('tcp', '127.0.0.1', 9001));
      expect(err.code).to.equal('HNET_NOT_FOUND');
      expect((await raw(paths, 'DELETE', '/v1/ports/tcp/127.0.0.1/9001')).status).to.equal(404);
    });

    it('answers 400 HNET_BAD_REQUEST to a port out of range or a bad address, before the daemon sees it', async () => {
      for (const body of [{ proto: 'tcp', hostPort: 0, guestPort: 80 }, { proto: 'sctp', hostPort: 1, guestPort: 1 }, { proto: 'tcp', hostIp: '300.1.1.1', hostPort: 1, guestPort: 1 }, [1, 2]]) {
        const res = await raw(paths, 'POST', '/v1/ports', JSON.stringify(body));
        expect(res.status, JSON.stringify(body)).to.equal(400);
        expect(JSON.parse(res.body).error.code).to.equal('HNET_BAD_REQUEST');
      }
      expect(fake.ports).to.deep.equal([]);
      expect((await raw(paths, 'DELETE', '/v1/ports/tcp/127.0.0.1/70000')).status).to.equal(400);
    });

    it('maps a usage error of the daemon (HNET_BAD_SPEC) to 400 and exit code 2', async () => {
      fake.failWith = new UsageError('HNET_BAD_SPEC', 'guest port range and host port range differ in length');
      const err = await rejection(client.addPort({ proto: 'tcp', hostPort: 1000, guestPort: 1000 }));
      expect(err.code).to.equal('HNET_BAD_SPEC');
      expect(err.exitCode).to.equal(2);
    });
  });

  describe('/v1/proxy', () => {
    it('never sends proxy credentials, even if the daemon hands them over', async () => {
      const res = await raw(paths, 'GET', '/v1/proxy');
      expect(res.body).not.to.contain('s3cret');
      expect(res.body).not.to.contain('alice');
      expect((await client.getProxy()).http).to.equal('http://***@proxy.corp:8080');
    });

    it('applies a PUT and answers the new settings', async () => {
      const body = await client.putProxy({ http: null, https: 'http://proxy2:3128', noProxy: ['.corp'] });
      expect(body).to.deep.equal({ http: null, https: 'http://proxy2:3128', noProxy: ['.corp'], source: 'config' });
      expect(await client.getProxy()).to.deep.equal(body);
    });

    it('answers 400 to a body of the wrong shape', async () => {
      const res = await raw(paths, 'PUT', '/v1/proxy', JSON.stringify({ noProxy: 'localhost' }));
      expect(res.status).to.equal(400);
      expect(JSON.parse(res.body).error.code).to.equal('HNET_BAD_REQUEST');
    });
  });

  describe('leases, connections and metrics', () => {
    it('round-trips GET /v1/leases and GET /v1/connections', async () => {
      expect(await client.leases()).to.deep.equal(fake.leaseList);
      expect(await client.connections()).to.deep.equal(fake.conns);
    });

    it('narrows GET /v1/connections by proto and state, case-insensitively', async () => {
      const tcp = (port: number, state: string): Connection => ({ proto: 'tcp', guest: `192.168.65.2:${port}`, remote: '10.0.0.1:443', state, bytesIn: 0, bytesOut: 0 });
      const udp: Connection = { proto: 'udp', guest: '192.168.65.2:5353', remote: '*', state: 'full-cone', bytesIn: 0, bytesOut: 0 };
      fake.conns = [tcp(1, 'ESTABLISHED'), tcp(2, 'TIME-WAIT'), udp, tcp(3, 'CLOSE-WAIT'), tcp(4, 'TIME-WAIT')];
      const ports = (cs: Connection[]) => cs.map((c) => c.guest.split(':')[1]);
      expect(ports(await client.connections({ state: ['time-wait'] }))).to.deep.equal(['2', '4']);
      expect(ports(await client.connections({ state: ['Established', 'CLOSE-WAIT'] }))).to.deep.equal(['1', '3']);
      expect(ports(await client.connections({ proto: ['UDP'] }))).to.deep.equal(['5353']);
      expect(ports(await client.connections({ proto: ['tcp'], state: ['FULL-CONE', 'ESTABLISHED'] }))).to.deep.equal(['1']);
      const both = await raw(paths, 'GET', '/v1/connections?state=TIME-WAIT&state=established');
      expect(ports(JSON.parse(both.body) as Connection[]), 'a repeated parameter adds to the list').to.deep.equal(['1', '2', '4']);
    });

    it('answers 400 naming the valid states to an unknown one', async () => {
      const res = await raw(paths, 'GET', '/v1/connections?state=ESTABLISHD');
      expect(res.status).to.equal(400);
      const err = JSON.parse(res.body).error as { code: string; message: string };
      expect(err.code).to.equal('HNET_BAD_REQUEST');
      expect(err.message).to.contain('"ESTABLISHD"').and.contain('TIME-WAIT').and.contain('full-cone');
      expect((await raw(paths, 'GET', '/v1/connections?proto=sctp')).status).to.equal(400);
    });

    it('lists every TCP state of the stack among the states a filter accepts', () => {
      for (const state of Object.values(TcpState)) expect(CONNECTION_STATES).to.include(state);
    });

    it('serves /metrics as Prometheus text 0.0.4', async () => {
      const res = await raw(paths, 'GET', '/metrics');
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/);
      expect(res.body).to.contain('hnet_drop_total{reason="ipv4_bad_checksum"} 3\n');
      expect(res.body).to.contain('hnet_tcp_flows_total 7\n');
      expect(res.body).to.contain('hnet_uptime_seconds 42\n');
      expect(res.body).to.contain('# TYPE hnet_tcp_open gauge\nhnet_tcp_open 2\n');
      expect(await client.metrics()).to.equal(res.body);
    });
  });

  describe('errors', () => {
    it('answers 404 HNET_NOT_FOUND to an unknown route', async () => {
      const res = await raw(paths, 'GET', '/v2/nothing');
      expect(res.status).to.equal(404);
      expect(JSON.parse(res.body).error.code).to.equal('HNET_NOT_FOUND');
    });

    it('answers 405 with Allow to a known route and another method', async () => {
      const res = await raw(paths, 'DELETE', '/v1/status');
      expect(res.status).to.equal(405);
      expect(res.headers.allow).to.equal('GET');
      expect(JSON.parse(res.body).error.code).to.equal('HNET_METHOD_NOT_ALLOWED');
    });

    it('answers 400 HNET_BAD_REQUEST to a body that is not JSON', async () => {
      const res = await raw(paths, 'POST', '/v1/ports', '{"proto": tcp');
      expect(res.status).to.equal(400);
      expect(JSON.parse(res.body).error.code).to.equal('HNET_BAD_REQUEST');
    });

    it('answers 413 HNET_BODY_TOO_LARGE to a body over the limit', async () => {
      const res = await raw(paths, 'PUT', '/v1/proxy', JSON.stringify({ noProxy: Array.from({ length: 20000 }, (_, i) => `host${i}.example`) }));
      expect(res.status).to.equal(413);
      expect(JSON.parse(res.body).error.code).to.equal('HNET_BODY_TOO_LARGE');
    });

    it('answers 500 HNET_INTERNAL without the details of an unexpected error', async () => {
      fake.failWith = new Error('secret internal detail');
      const res = await raw(paths, 'GET', '/v1/status');
      expect(res.status).to.equal(500);
      expect(JSON.parse(res.body).error.code).to.equal('HNET_INTERNAL');
      expect(res.body).not.to.contain('secret internal detail');
    });
  });

  describe('GET /v1/capture', () => {
    it('streams pcap bytes before the capture is over', async () => {
      let open!: () => void;
      fake.captureGate = new Promise((r) => (open = r));
      const got = await new Promise<{ type: unknown; first: Buffer; all: Buffer }>((resolve, reject) => {
        const req = request({ socketPath: paths.controlSocket, path: '/v1/capture?seconds=3' }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => {
            chunks.push(c);
            open(); // only now does the capture go on: the header arrived while it ran
          });
          res.on('end', () => resolve({ type: res.headers['content-type'], first: chunks[0]!, all: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(got.type).to.equal(PCAP_CONTENT_TYPE);
      expect(got.first.subarray(0, 4).toString('hex')).to.equal('d4c3b2a1');
      expect(got.all).to.deep.equal(Buffer.concat([PCAP_HEADER, PCAP_RECORD]));
      expect(fake.captureSeconds).to.equal(3);
    });

    it('pipes the stream into a Writable through the client', async () => {
      const chunks: Buffer[] = [];
      const sink = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
      await client.capture(2, sink);
      expect(Buffer.concat(chunks)).to.deep.equal(Buffer.concat([PCAP_HEADER, PCAP_RECORD]));
    });

    it('tells the daemon when the client goes away', async () => {
      let open!: () => void;
      fake.captureGate = new Promise((r) => (open = r));
      await new Promise<void>((resolve, reject) => {
        const req = request({ socketPath: paths.controlSocket, path: '/v1/capture?seconds=60' }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
        req.end();
      });
      await fake.captureOutClosed; // resolves only on the response's 'close' event
      open();
      expect(fake.captureClosed).to.equal(true);
    });

    it('answers 400 to seconds that are not a positive integer', async () => {
      for (const s of ['0', '-1', 'abc', '1.5']) {
        const res = await raw(paths, 'GET', `/v1/capture?seconds=${s}`);
        expect(res.status, s).to.equal(400);
      }
      expect(fake.captureSeconds).to.equal(undefined);
    });
  });
});

describe('control client without a daemon', () => {
  let paths: HomePaths;
  beforeEach(() => (paths = tempHome()));
  afterEach(() => rmSync(paths.home, { recursive: true, force: true }));

  it('reports HNET_DAEMON_UNREACHABLE with `hnet start --home HOME` when the socket is missing', async () => {
    const err = await rejection(new ControlClient(paths).status());
    expect(err.code).to.equal('HNET_DAEMON_UNREACHABLE');
    expect(err.exitCode).to.equal(1);
    expect(err.suggestions).to.deep.equal([`hnet start --home ${paths.home}`]);
  });

  it('reports HNET_DAEMON_UNREACHABLE after the daemon closed', async () => {
    const server = await startControlServer(paths, new FakeDaemon(), silentLogger);
    await server.close();
    const err = await rejection(new ControlClient(paths).listPorts());
    expect(err.code).to.equal('HNET_DAEMON_UNREACHABLE');
  });
});
