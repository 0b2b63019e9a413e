/**
 * Issue 8 acceptance from the guest's side: a loopback alias made by
 * `hnet alias add` is how a namespace guest reaches a host service bound
 * only to that address (DESIGN §1: any other address is a host socket).
 *
 * The alias 10.200.10.1 lives on the host's lo only; before any guest traffic
 * the test checks `ip route get 10.200.10.1` says dev lo, and the daemon's
 * --allow-egress is loopback plus that /32, so nothing can leave the machine.
 * The guest resolves through the gateway's DNS via /etc/netns/NS/resolv.conf,
 * which `ip netns exec` mounts for that namespace only. The alias is removed
 * from lo in cleanup whatever happens.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertRoutedVia, createNetns, httpServer, loAddresses, requireRoot, runCli, skipUnless, spawnDaemon, uniqueSuffix, useCleanup, type DaemonProcess, type Netns, type TestHttpServer } from './harness/index.js';

const TOOLS = join(dirname(fileURLToPath(import.meta.url)), 'tools');
const ALIAS = '10.200.10.1';
const NAME = `web${uniqueSuffix(2)}`;
const GATEWAY = '192.168.65.1';
const HOST = '192.168.65.254';
const GUEST = '192.168.65.2';


/** IPv4 addresses on lo, `a.b.c.d/len`. */

describe('e2e: a guest reaches a host service on a loopback alias (issue 8)', function () {
  this.timeout(120_000);
  const cleanup = useCleanup();
  const tap = `ha${uniqueSuffix()}`;
  let home: string;
  let guest: Netns;
  let web: TestHttpServer;
  let daemon: DaemonProcess;

  const startDaemon = async () => {
    daemon = await spawnDaemon(['--home', home, '--listen', `tap:${tap}?netns=${guest.name}`, '--allow-egress', '127.0.0.0/8', '--allow-egress', `${ALIAS}/32`], { cleanup });
    await guest.exec('ip', ['addr', 'add', `${GUEST}/24`, 'dev', tap]);
    await guest.exec('ip', ['link', 'set', tap, 'up']);
    await guest.exec('ip', ['route', 'add', 'default', 'via', GATEWAY]);
  };

  const curl = (url: string) => guest.exec('curl', ['-sS', '--max-time', '10', url]);
  const resolveName = async () => JSON.parse((await guest.exec(process.execPath, [join(TOOLS, 'dns-query.mjs'), GATEWAY, `${NAME}.hnet.internal`, 'A', 'udp'])).stdout) as { rcode: string };

  before(async function () {
    requireRoot(this, ['ip', 'curl']);
    skipUnless(this, loAddresses().some((a) => a.startsWith(`${ALIAS}/`)) ? [`${ALIAS} is already on lo (another run, or the machine's own)`] : []);
    const probe = await runCli(['alias', 'list', '--help']);
    skipUnless(this, probe.code === 0 ? [] : [`\`bin/dev.js alias list --help\` exits ${probe.code}: ${probe.stderr.trim().split('\n')[0]}`]);
    home = mkdtempSync(join(tmpdir(), 'hnt-alias-guest-'));
    cleanup.add(`rm ${home}`, () => rmSync(home, { recursive: true, force: true }));
    cleanup.add(`alias ${ALIAS} off lo`, () => {
      for (const a of loAddresses()) if (a.startsWith(`${ALIAS}/`)) execFileSync('ip', ['addr', 'del', a, 'dev', 'lo']);
    });
    guest = await createNetns('hntg', cleanup);
    // `ip netns exec` bind-mounts /etc/netns/NS/* over /etc for this namespace only.
    const madeEtcNetns = !existsSync('/etc/netns');
    const nsEtc = join('/etc/netns', guest.name);
    mkdirSync(nsEtc, { recursive: true });
    cleanup.add(`rm ${nsEtc}`, () => {
      rmSync(nsEtc, { recursive: true, force: true });
      if (madeEtcNetns) rmdirSync('/etc/netns');
    });
    writeFileSync(join(nsEtc, 'resolv.conf'), `nameserver ${GATEWAY}\n`);
    await startDaemon();
  });

  it('hnet alias add 10.200.10.1 --name NAME, with the daemon running, puts it on lo, routed via lo', async () => {
    const r = await runCli(['alias', 'add', ALIAS, '--name', NAME, '--home', home]);
    expect(r.code, r.stderr).to.equal(0);
    expect(loAddresses()).to.include(`${ALIAS}/32`);
    await assertRoutedVia(ALIAS, 'lo');
  });

  it("answers a guest's curl to 10.200.10.1 from a host HTTP server bound only to the alias", async () => {
    web = await httpServer({ host: ALIAS, cleanup });
    await assertRoutedVia(ALIAS, 'lo');
    const { stdout } = await curl(`http://${ALIAS}:${web.port}/via-alias`);
    expect(stdout).to.equal('hello from host GET /via-alias\n');
    expect(web.requests.map((q) => q.url)).to.deep.equal(['/via-alias']);
    // the same port on the host's 127.0.0.1 (the guest's .254) has nobody: it is the alias that serves
    const refused = await curl(`http://${HOST}:${web.port}/`).then(
      () => 'connected',
      (e: Error) => e.message,
    );
    expect(refused).to.match(/Connection refused|Couldn't connect|Failed to connect/);
  });

  it('resolves NAME.hnet.internal to the alias for the guest (added while the daemon ran), so curl by name works', async () => {
    expect(await resolveName()).to.deep.include({ rcode: 'NOERROR', answers: [{ name: `${NAME}.hnet.internal`, type: 'A', data: ALIAS }] });
    await assertRoutedVia(ALIAS, 'lo');
    const byName = await curl(`http://${NAME}.hnet.internal:${web.port}/by-name`);
    expect(byName.stdout).to.equal('hello from host GET /by-name\n');
  });

  it('puts back a configured alias removed by hand when the daemon restarts', async () => {
    await daemon.stop();
    execFileSync('ip', ['addr', 'del', `${ALIAS}/32`, 'dev', 'lo']);
    expect(loAddresses()).to.not.include(`${ALIAS}/32`);
    // the HTTP server's socket survives: it stays bound to the address, which comes back
    await startDaemon();
    expect(loAddresses()).to.include(`${ALIAS}/32`);
    await assertRoutedVia(ALIAS, 'lo');
    const { stdout } = await curl(`http://${NAME}.hnet.internal:${web.port}/after-restart`);
    expect(stdout).to.equal('hello from host GET /after-restart\n');
  });

  it('refuses alias add 192.168.65.7 (inside the guest subnet) with exit 1', async () => {
    const r = await runCli(['alias', 'add', '192.168.65.7', '--home', home]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('HNET_ALIAS_IN_SUBNET');
    expect(loAddresses()).to.not.include('192.168.65.7/32');
  });

  it('alias remove 10.200.10.1 takes it off lo and out of config.json', async () => {
    await daemon.stop();
    const r = await runCli(['alias', 'remove', ALIAS, '--home', home]);
    expect(r.code, r.stderr).to.equal(0);
    expect(loAddresses()).to.not.include(`${ALIAS}/32`);
    expect((JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as { aliases: unknown[] }).aliases).to.deep.equal([]);
  });
});
