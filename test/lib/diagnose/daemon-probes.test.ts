// The daemon's side of diagnose: its own DNS answers and egress-checked connects, over the real control socket.
import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { daemonProbes } from '../../../src/lib/diagnose/daemon-probes.js';
import { DnsServer, type LookupFn } from '../../../src/lib/services/dns/server.js';
import { Counters } from '../../../src/lib/counters.js';
import { buildStackConfig } from '../../../src/lib/iface/config.js';
import { startControlServer, type ControlServer } from '../../../src/lib/daemon/control-server.js';
import { ControlClient } from '../../../src/lib/daemon/control-client.js';
import { homePaths } from '../../../src/lib/daemon/home.js';
import { silentLogger } from '../../../src/lib/daemon/log.js';
import { HnetError } from '../../../src/lib/errors.js';
import type { DaemonApi } from '../../../src/lib/daemon/control-types.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const cfg = buildStackConfig({ allowEgress: ['127.0.0.0/8'] });
const lookup: LookupFn = async (name, family) => {
  if (family === 4 && name === 'db.corp.example') return ['10.1.2.3'];
  throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
};
const dns = () => new DnsServer({ hostIp: cfg.hostIp, gateway: cfg.gateway, upstreams: [], lookup }, new Counters());

describe('diagnose daemon probes (daemon-probes.ts)', () => {
  const tempDir = useTempDirs();
  let listener: Server;
  let port: number;
  before(async () => {
    listener = createServer((s) => s.end());
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    port = (listener.address() as { port: number }).port;
  });
  after(() => listener.close());

  it("answers hnet's names from the daemon's DNS server", async () => {
    const p = daemonProbes(cfg, dns());
    expect(await p.resolve('host.hnet.internal')).to.deep.equal({ name: 'host.hnet.internal', type: 'A', rcode: 'NOERROR', answers: ['192.168.65.254'] });
    expect((await p.resolve('gateway.hnet.internal')).answers).to.deep.equal(['192.168.65.1']);
  });

  it('resolves other names through the host lookup the daemon uses, NOERROR without answers when unknown', async () => {
    const p = daemonProbes(cfg, dns());
    expect((await p.resolve('db.corp.example')).answers).to.deep.equal(['10.1.2.3']);
    expect((await p.resolve('nothing.example')).answers).to.deep.equal([]);
  });

  it('connects only where --allow-egress lets guest flows go', async () => {
    const p = daemonProbes(cfg, dns());
    expect(await p.connect('192.168.65.254', port)).to.deep.equal({ ok: true, result: 'connected', address: '192.168.65.254' }); // NAT to 127.0.0.1
    expect(await p.connect('10.1.2.3', 443)).to.deep.equal({ ok: false, result: 'egress_denied', address: '10.1.2.3' });
    expect((await p.connect('127.0.0.1', port)).result).to.equal('martian'); // guests reach the host's loopback only through .254
  });

  describe('over the control API (GET /v1/diagnose/dns, /v1/diagnose/connect)', () => {
    let server: ControlServer;
    let client: ControlClient;
    before(async () => {
      const paths = homePaths(tempDir('hnt-probe-'));
      const probes = daemonProbes(cfg, dns());
      const api = { probeDns: (n: string, t: 'A' | 'AAAA') => probes.resolve(n, t), probeConnect: (h: string, pt: number) => probes.connect(h, pt) } as unknown as DaemonApi;
      server = await startControlServer(paths, api, silentLogger);
      client = new ControlClient(paths);
    });
    after(() => server.close());

    it('answers both probes through the typed client', async () => {
      expect((await client.probeDns('host.hnet.internal')).answers).to.deep.equal(['192.168.65.254']);
      expect((await client.probeConnect('192.168.65.254', port)).result).to.equal('connected');
    });

    it('refuses a bad name or port as a usage error', async () => {
      const err = await client.probeDns('bad name!').catch((e: unknown) => e);
      expect(err).to.be.instanceOf(HnetError);
      expect((err as HnetError).exitCode).to.equal(2);
      expect(await client.probeConnect('127.0.0.1', 0).catch((e: HnetError) => e.code)).to.equal('HNET_BAD_REQUEST');
    });
  });

  it('a daemon without probes answers 404 HNET_NOT_FOUND', async () => {
    const paths = homePaths(tempDir('hnt-probe-'));
    const server = await startControlServer(paths, {} as DaemonApi, silentLogger);
    try {
      expect(await new ControlClient(paths).probeDns('host.hnet.internal').catch((e: HnetError) => e.code)).to.equal('HNET_NOT_FOUND');
    } finally {
      await server.close();
    }
  });
});
