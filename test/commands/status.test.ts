/**
 * `hnet status` as a user runs it: a child process (`node bin/dev.js status`)
 * against a control server with a fake daemon living in this test process.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hnet } from './cli.js';
import { homePaths, type HomePaths } from '../../src/lib/daemon/home.js';
import { silentLogger } from '../../src/lib/daemon/log.js';
import { startControlServer, type ControlServer } from '../../src/lib/daemon/control-server.js';
import type { DaemonApi, Lease, PortForward, StatusBody } from '../../src/lib/daemon/control-types.js';
import { formatUptime } from '../../src/commands/status.js';

const STATUS: StatusBody = {
  version: '0.1.0',
  pid: 4242,
  uptimeS: 3725,
  subnet: '192.168.65.0/24',
  gateway: '192.168.65.1',
  hostIp: '192.168.65.254',
  mtu: 1500,
  transports: [{ uri: 'tap:hnt0?netns=hntguest', kind: 'tap', clients: 1 }],
  guests: [{ mac: '02:aa:bb:cc:dd:01', ip: '192.168.65.2', hostname: 'guest-one', transport: 'tap:hnt0?netns=hntguest' }],
  counters: { 'frames.in': 120, 'bytes.in': 9000, 'tcp.flows': 4, 'drop.ipv4_bad_checksum': 2, 'drop.arp_not_for_us': 9 },
};
const PORTS: PortForward[] = [{ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, guestIp: '192.168.65.2', guestPort: 80 }];
const LEASES: Lease[] = [{ mac: '02:aa:bb:cc:dd:01', ip: '192.168.65.2', hostname: 'guest-one', expiresAt: '2030-01-01T00:00:00.000Z' }];

const fake = { status: () => STATUS, listPorts: () => PORTS, leases: () => LEASES } as unknown as DaemonApi;

describe('hnet status', () => {
  let paths: HomePaths;
  let server: ControlServer | undefined;
  beforeEach(() => (paths = homePaths(mkdtempSync(join(tmpdir(), 'hnt-status-')))));
  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(paths.home, { recursive: true, force: true });
  });

  describe('with a daemon', () => {
    beforeEach(async () => (server = await startControlServer(paths, fake, silentLogger)));

    it('prints only the status report as JSON with --json', async () => {
      const r = await hnet(['status', '--home', paths.home, '--json']);
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout)).to.deep.equal({ ...STATUS, ports: PORTS, leases: LEASES });
    });

    it('shows guests, ports, leases and drops by reason as tables', async () => {
      const r = await hnet(['status', '--home', paths.home]);
      expect(r.code, r.stderr).to.equal(0);
      const out = r.stdout;
      expect(out).to.match(/running \(pid 4242, hnet 0\.1\.0\)/);
      expect(out).to.contain('1h 2m 5s');
      expect(out).to.match(/02:aa:bb:cc:dd:01\s+192\.168\.65\.2\s+guest-one\s+tap:hnt0\?netns=hntguest/);
      expect(out).to.match(/tcp\s+127\.0\.0\.1:8080\s+192\.168\.65\.2:80/);
      expect(out).to.match(/2030-01-01T00:00:00\.000Z/);
      expect(out).to.match(/tcp\.flows\s+4/);
      // most frequent drop reason first
      expect(out.indexOf('arp_not_for_us')).to.be.greaterThan(-1);
      expect(out.indexOf('arp_not_for_us')).to.be.lessThan(out.indexOf('ipv4_bad_checksum'));
    });
  });

  describe('without a daemon', () => {
    it('exits 1 and names `hnet start` on stderr', async () => {
      const r = await hnet(['status', '--home', paths.home]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain('HNET_DAEMON_UNREACHABLE');
      expect(r.stderr).to.contain(`hnet start --home ${paths.home}`);
      expect(r.stdout).to.equal('');
    });

    it('exits 1 with the error as JSON on stdout under --json', async () => {
      const r = await hnet(['status', '--home', paths.home, '--json']);
      expect(r.code).to.equal(1);
      const body = JSON.parse(r.stdout) as { error: { code: string; suggestions: string[] } };
      expect(body.error.code).to.equal('HNET_DAEMON_UNREACHABLE');
      expect(body.error.suggestions).to.deep.equal([`hnet start --home ${paths.home}`]);
    });
  });

  describe('uptime', () => {
    it('reads like a person would say it', () => {
      expect(formatUptime(0)).to.equal('0s');
      expect(formatUptime(59.9)).to.equal('59s');
      expect(formatUptime(61)).to.equal('1m 1s');
      expect(formatUptime(3725)).to.equal('1h 2m 5s');
      expect(formatUptime(2 * 86400 + 3 * 3600 + 4 * 60 + 5)).to.equal('2d 3h 4m');
    });
  });
});
