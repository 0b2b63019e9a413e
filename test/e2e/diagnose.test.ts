/**
 * hnet diagnose --vpn and subnet choice at start, end to end (issue 9).
 * Everything runs inside a throwaway network namespace, so the fake VPN route
 * never touches the host's routing table (daemons other suites start on the
 * host keep their default subnet). The fake VPN is a tun device `hnetvpn0`
 * with an address and a route to 192.168.65.0/25, overlapping hnet's default
 * 192.168.65.0/24. No packet is sent anywhere: the tun has no reader, and the
 * daemon only listens on a unix socket under its HOME, with --allow-egress 127.0.0.0/8;
 * the --target is a listener on the namespace's own loopback.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { createNetns, freePorts, requireRoot, spawnDaemon, useCleanup, REPO_ROOT, type Netns } from './harness/index.js';
import type { DiagnoseReport } from '../../src/lib/diagnose/report.js';
import { ControlClient } from '../../src/lib/daemon/control-client.js';
import { homePaths } from '../../src/lib/daemon/home.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `hnet diagnose ...` in the host namespace. */
function diagnoseHost(home: string, args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', '--no-warnings', join(REPO_ROOT, 'bin/dev.js'), 'diagnose', '--home', home, ...args], { cwd: REPO_ROOT, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0, stdout, stderr });
    });
  });
}

/** `hnet diagnose ...` inside the namespace; resolves with the exit code, never rejects on exit 1. */
function diagnoseIn(ns: Netns, home: string, args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const argv = ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', '--no-warnings', join(REPO_ROOT, 'bin/dev.js'), 'diagnose', '--home', home, ...args];
    execFile('ip', argv, { cwd: REPO_ROOT, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const check = (r: DiagnoseReport, id: string) => r.checks.find((c) => c.id === id)!;

describe('e2e: hnet diagnose --vpn and the subnet choice of hnet start', function () {
  this.timeout(120_000);
  const cleanup = useCleanup();
  const tempDir = useTempDirs();
  let ns: Netns;
  let home: string;

  before(async function () {
    requireRoot(this, ['ip']);
    ns = await createNetns('hntdiag', cleanup);
    home = tempDir('hnt-diag-');
    await ns.exec('ip', ['link', 'set', 'lo', 'up']);
    await ns.exec('ip', ['tuntap', 'add', 'dev', 'hnetvpn0', 'mode', 'tun']);
    await ns.exec('ip', ['addr', 'add', '10.77.0.5/24', 'dev', 'hnetvpn0']);
    await ns.exec('ip', ['link', 'set', 'hnetvpn0', 'mtu', '1400', 'up']);
    await ns.exec('ip', ['route', 'add', '192.168.65.0/25', 'dev', 'hnetvpn0']);
  });

  it('reports the VPN route overlapping the guest subnet as a failure naming --subnet, exit 1', async () => {
    const r = await diagnoseIn(ns, home, ['--vpn', '--json']);
    expect(r.code, r.stderr).to.equal(1);
    const report = JSON.parse(r.stdout) as DiagnoseReport;
    expect(report.schema).to.equal('hnet.diagnose/v1');
    const overlap = check(report, 'vpn.overlap');
    expect(overlap.status).to.equal('fail');
    expect(overlap.detail).to.contain('192.168.65.0/25 dev hnetvpn0');
    expect(overlap.next.join(' ')).to.match(/--subnet 192\.168\.66\.0\/24/);
    expect(check(report, 'vpn.interfaces').detail).to.contain('hnetvpn0 10.77.0.5/24 mtu 1400');
    expect(check(report, 'vpn.tunnel').data).to.deep.include({ mode: 'split', via: 'hnetvpn0' });
    expect(check(report, 'vpn.mtu').status).to.equal('warn');
  });

  it('without a daemon exits 1, says how to start it, and still reports the host-side checks', async () => {
    const r = await diagnoseIn(ns, home, ['--vpn']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.contain(`hnet start --home ${home}`);
    expect(r.stdout).to.match(/✓\s+VPN interfaces/);
    expect(r.stdout).to.match(/✗\s+no host route overlaps the guest subnet/);
  });

  it('hnet start without --subnet picks another subnet, says so, and diagnose then passes the overlap check', async () => {
    const daemon = await spawnDaemon(['--home', home, '--listen', `qemu://${home}/run/qemu.sock`, '--allow-egress', '127.0.0.0/8'], { netns: ns.name, cleanup });
    expect(daemon.stderr()).to.contain('using 192.168.66.0/24: the default 192.168.65.0/24 overlaps host route 192.168.65.0/25 dev hnetvpn0');
    await daemon.waitFor(/serving 192\.168\.66\.0\/24/);
    // A TCP listener on the namespace's loopback as --target; localhost comes from /etc/hosts (no DNS query leaves).
    const listener = ns.spawn(process.execPath, ['-e', "require('net').createServer((s) => s.end()).listen(7777, '127.0.0.1', () => console.log('listening'))"]);
    await new Promise((ok) => listener.stdout!.once('data', ok));
    const r = await diagnoseIn(ns, home, ['--vpn', '--json', '--name', 'localhost', '--target', '127.0.0.1:7777']);
    const report = JSON.parse(r.stdout) as DiagnoseReport;
    expect(check(report, 'daemon.running').status).to.equal('pass');
    expect(check(report, 'dns.names').status).to.equal('pass');
    expect(check(report, 'dns.name').data).to.deep.equal({ host: ['127.0.0.1'], daemon: ['127.0.0.1'] });
    expect(check(report, 'network.target').data).to.deep.equal({ host: 'connected', daemon: 'connected' });
    expect(check(report, 'daemon.transports').status).to.equal('pass');
    expect(check(report, 'vpn.overlap').status).to.equal('pass');
    expect(report.checks.filter((c) => c.status === 'fail').map((c) => c.id)).to.deep.equal([]);
    expect(r.code).to.equal(0);
    await daemon.stop();
  });

  it('an explicit --subnet is kept, with a warning', async () => {
    const daemon = await spawnDaemon(['--home', home, '--subnet', '192.168.65.0/24', '--listen', `qemu://${home}/run/qemu.sock`, '--allow-egress', '127.0.0.0/8'], { netns: ns.name, cleanup });
    expect(daemon.stderr()).to.match(/--subnet 192\.168\.65\.0\/24 overlaps host route 192\.168\.65\.0\/25 dev hnetvpn0.*kept as given/);
    await daemon.waitFor(/serving 192\.168\.65\.0\/24/);
    await daemon.stop();
  });

  it('passes the overlap check once the VPN device is gone', async () => {
    await ns.exec('ip', ['link', 'del', 'hnetvpn0']);
    const r = await diagnoseIn(ns, home, ['--vpn', '--json']);
    const report = JSON.parse(r.stdout) as DiagnoseReport;
    expect(check(report, 'vpn.overlap').status).to.equal('pass');
    expect(check(report, 'vpn.interfaces').detail).to.contain('no VPN interface');
  });
});

describe('e2e: hnet diagnose checks forwarded ports against a namespace guest', function () {
  this.timeout(120_000);
  const cleanup = useCleanup();
  const tempDir = useTempDirs();
  let guest: Netns;
  let home: string;
  const tap = 'hntdg0';

  before(async function () {
    requireRoot(this, ['ip', 'ping']);
    guest = await createNetns('hntdg', cleanup);
    home = tempDir('hnt-diagp-');
    await spawnDaemon(['--home', home, '--subnet', '192.168.65.0/24', '--listen', `tap:${tap}?netns=${guest.name}`, '--allow-egress', '127.0.0.0/8'], { cleanup });
    await guest.exec('ip', ['addr', 'add', '192.168.65.2/24', 'dev', tap]);
    await guest.exec('ip', ['link', 'set', tap, 'up']);
    await guest.exec('ip', ['route', 'add', 'default', 'via', '192.168.65.1']);
    await guest.exec('ping', ['-c', '1', '-W', '3', '192.168.65.1']); // the daemon learns the guest
    const server = guest.spawn(process.execPath, ['-e', "require('net').createServer((s) => s.write('hi')).listen(8080, '0.0.0.0', () => console.log('listening'))"]);
    await new Promise((ok) => server.stdout!.once('data', ok));
  });

  it('passes a forward the guest answers, fails one the guest refuses (naming the guest port), then passes once it is removed', async () => {
    const client = new ControlClient(homePaths(home));
    const [good, bad] = await freePorts(2);
    await client.addPort({ proto: 'tcp', hostPort: good, guestIp: '192.168.65.2', guestPort: 8080 });
    await client.addPort({ proto: 'tcp', hostPort: bad, guestIp: '192.168.65.2', guestPort: 8081 });
    const r = await diagnoseHost(home, ['--json']);
    const ports = check(JSON.parse(r.stdout) as DiagnoseReport, 'ports.forwards');
    expect(ports.status, ports.detail).to.equal('fail');
    expect(ports.detail).to.contain(`127.0.0.1:${bad}/tcp → guest 192.168.65.2:8081 refused by the guest`);
    expect(ports.detail).not.to.contain(`:${good}/`);
    expect(ports.next[0]).to.contain('192.168.65.2:8081');
    expect(r.code).to.equal(1);
    await client.removePort('tcp', '127.0.0.1', bad);
    const again = check(JSON.parse((await diagnoseHost(home, ['--json'])).stdout) as DiagnoseReport, 'ports.forwards');
    expect(again.status, again.detail).to.equal('pass');
  });
});
