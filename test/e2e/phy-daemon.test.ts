/**
 * The daemon serving a namespace through the tap transport: the namespace's
 * kernel resolves the gateway by ARP (RFC 826) and gets ICMP echo replies
 * (RFC 792) from it. Exercises spawnDaemon and the tap transport end to end.
 */
import { expect } from 'chai';
import { requireRoot, skipUnless, daemonCliProblem, useCleanup, createNetns, spawnDaemon, assertRoutedVia, uniqueSuffix, type Netns } from './harness/index.js';

describe('daemon over a tap in a namespace', function () {
  this.timeout(120_000);
  const cleanup = useCleanup();
  let ns: Netns;
  const tap = `hntd${uniqueSuffix()}`;

  before(async function () {
    requireRoot(this, ['ip', 'ping']);
    const problem = await daemonCliProblem();
    skipUnless(this, problem ? [problem] : []);
    ns = await createNetns('hntdmn', cleanup);
  });

  it('answers ARP and ping for the gateway, then removes the tap when stopped', async () => {
    const daemon = await spawnDaemon(['--listen', `tap:${tap}?netns=${ns.name}`, '--subnet', '192.168.65.0/24'], { cleanup });
    await ns.exec('ip', ['addr', 'add', '192.168.65.2/24', 'dev', tap]);
    await assertRoutedVia('192.168.65.1', tap, ns);
    const { stdout } = await ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', '192.168.65.1']);
    expect(stdout).to.match(/3 received/);
    const neigh = await ns.exec('ip', ['neigh', 'show', '192.168.65.1', 'dev', tap]);
    expect(neigh.stdout).to.contain('02:68:6e:65:74:01');
    await daemon.stop();
    const gone = await ns.exec('ip', ['link', 'show', 'dev', tap]).then(() => false, () => true);
    expect(gone).to.equal(true);
  });
});
