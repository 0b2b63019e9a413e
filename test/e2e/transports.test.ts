/**
 * Guests over every socket transport, proven with a real Linux VM (issue 5):
 * Debian's kernel and a busybox initramfs (test/e2e/vm) boot under QEMU/TCG
 * and, attached to one hnet daemon, get a DHCP lease, resolve
 * host.hnet.internal, fetch a file from a host HTTP server on 127.0.0.1 (the
 * sha256 must match) and reach a server in the corp namespace. Once over
 * `-netdev stream` (qemu://) and once over `-netdev dgram` with unix sockets
 * (vfkit://).
 *
 * Safety: the daemon may only open flows to 127.0.0.0/8 and the corp
 * address (--allow-egress); DNS forwarding goes to a dead loopback port; the
 * corp route is checked before the VM is started.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { requireRoot, useCleanup, createCorpNetwork, assertRoutedVia, spawnDaemon, httpServer, type CorpNetwork, type DaemonProcess, type TestHttpServer } from './harness/index.js';
import { buildVm, bootVm } from './vm/qemu-vm.js';

describe('e2e: a real Linux VM over each socket transport', function () {
  this.timeout(240_000);
  const cleanup = useCleanup();
  let dir: string;
  let cache: string;
  let corp: CorpNetwork;
  let host: TestHttpServer;
  let daemon: DaemonProcess;
  const blob = randomBytes(512 * 1024);
  const sha = createHash('sha256').update(blob).digest('hex');
  const CORP_PORT = 8080;

  before(async function () {
    requireRoot(this, ['ip', 'qemu-system-x86_64', 'busybox', 'cpio', 'dpkg', 'apt-get']);
    cache = buildVm();
    dir = mkdtempSync(join(tmpdir(), 'hnt-vm-'));
    cleanup.add('vm dir', () => rmSync(dir, { recursive: true, force: true }));
    corp = await createCorpNetwork({ cleanup });
    const www = join(dir, 'www');
    mkdirSync(www);
    writeFileSync(join(www, 'index.html'), 'corp says hi\n');
    const httpd: ChildProcess = corp.ns.spawn('busybox', ['httpd', '-f', '-p', `${corp.corpIp}:${CORP_PORT}`, '-h', www]);
    cleanup.add('corp httpd', () => httpd.kill('SIGKILL'));
    host = await httpServer({
      cleanup,
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(blob.length) });
        res.end(blob);
      },
    });
    daemon = await spawnDaemon(
      ['--listen', `qemu://${dir}/q.sock`, '--listen', `vfkit://${dir}/v.sock`, '--allow-egress', '127.0.0.0/8', '--allow-egress', `${corp.corpIp}/32`, '--dns-upstream', '127.0.0.1:9'],
      { cleanup, readyTimeoutMs: 60_000 },
    );
    await assertRoutedVia(corp.corpIp, corp.hostDev);
  });

  after(() => cleanup.run());

  function expectAllChecks(r: Awaited<ReturnType<typeof bootVm>>): void {
    const failed = Object.entries(r.checks).filter(([, c]) => !c.ok);
    expect(failed, r.console).to.deep.equal([]);
    expect(r.checks.dhcp?.ok, r.console).to.equal(true);
    expect(r.checks.dns?.detail, r.console).to.equal('192.168.65.254');
    expect(r.checks.http?.detail).to.equal(sha);
    expect(r.checks.corp?.detail).to.equal('corp says hi');
  }

  const job = () => ({ url: `http://host.hnet.internal:${host.port}/blob`, sha, corp: `http://${corp.corpIp}:${CORP_PORT}/` });

  it('QEMU -netdev stream (qemu://): lease, DNS, host file sha256-exact, corp server', async () => {
    const r = await bootVm(cache, { ...job(), netdev: { kind: 'stream', path: join(dir, 'q.sock') }, mac: '52:54:00:00:00:51' });
    expectAllChecks(r);
    expect(daemon.stderr()).to.match(/guest connected link=qemu/);
  });

  it('QEMU -netdev dgram over unix sockets (vfkit://): the same checks', async () => {
    const r = await bootVm(cache, { ...job(), netdev: { kind: 'dgram', local: join(dir, 'vm-dgram.sock'), remote: join(dir, 'v.sock') }, mac: '52:54:00:00:00:52' });
    expectAllChecks(r);
  });
});
