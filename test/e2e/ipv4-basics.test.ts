/**
 * The foundation end to end: a network namespace is the guest (the Linux
 * kernel's own ARP/IPv4/ICMP/UDP), attached to the daemon by a tap device.
 * Every guest flow is confined by --allow-egress to loopback and the test's
 * corp network, and the corp route is checked before anything is sent there.
 */
import { expect } from 'chai';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCorpNetwork, createNetns, requireRoot, rssKiB, run, spawnDaemon, udpEchoServer, useCleanup, assertRoutedVia, type CorpNetwork, type DaemonProcess, type Netns, type UdpEchoServer } from './harness/index.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const TOOLS = join(dirname(fileURLToPath(import.meta.url)), 'tools');
const GATEWAY = '192.168.65.1';
const HOST = '192.168.65.254';
const GUEST = '192.168.65.2';
const GATEWAY_MAC = '02:68:6e:65:74:01';

async function udpProbe(ns: Netns, host: string, port: number, size: number): Promise<{ ok?: boolean; echoed?: boolean; error?: string; bytes?: number }> {
  const { stdout } = await ns.exec(process.execPath, [join(TOOLS, 'udp-probe.mjs'), host, String(port), String(size), '4000']);
  return JSON.parse(stdout.trim());
}

async function guestMac(ns: Netns, dev: string): Promise<string> {
  const { stdout } = await ns.exec('ip', ['-j', 'link', 'show', dev]);
  return (JSON.parse(stdout) as Array<{ address: string }>)[0].address;
}

describe('e2e: a namespace guest on the tap (Ethernet, ARP, IPv4, ICMP, UDP)', function () {
  this.timeout(120_000);
  const cleanup = useCleanup();
  const tempDir = useTempDirs();
  let guest: Netns;
  let corp: CorpNetwork;
  let daemon: DaemonProcess;
  let echo: UdpEchoServer;
  let pcapFile: string;
  const tap = 'hnt0';

  before(async function () {
    requireRoot(this, ['ip', 'ping', 'tshark']);
    guest = await createNetns('hntg', cleanup);
    corp = await createCorpNetwork({ cleanup });
    echo = await udpEchoServer({ host: '127.0.0.1', cleanup });
    pcapFile = join(tempDir('hnt-pcap-'), 'guest.pcap');
    daemon = await spawnDaemon(['--listen', `tap:${tap}?netns=${guest.name}`, '--mtu', '65520', '--pcap', pcapFile, '--allow-egress', '127.0.0.0/8', '--allow-egress', `${corp.corpIp}/32`], { cleanup });
    await guest.exec('ip', ['addr', 'add', `${GUEST}/24`, 'dev', tap]);
    await guest.exec('ip', ['link', 'set', tap, 'up']);
    await guest.exec('ip', ['route', 'add', 'default', 'via', GATEWAY]);
  });

  it('answers ARP for the gateway with its fixed MAC', async () => {
    await guest.exec('ping', ['-c', '1', '-W', '3', GATEWAY]);
    const { stdout } = await guest.exec('ip', ['-j', 'neigh', 'show', GATEWAY]);
    const [entry] = JSON.parse(stdout) as Array<{ lladdr: string }>;
    expect(entry.lladdr).to.equal(GATEWAY_MAC);
  });

  it('answers ping to the gateway and to the host address', async () => {
    const gw = await guest.exec('ping', ['-c', '3', '-i', '0.2', '-W', '3', GATEWAY]);
    expect(gw.stdout).to.match(/3 received/);
    const host = await guest.exec('ping', ['-c', '2', '-i', '0.2', '-W', '3', HOST]);
    expect(host.stdout).to.match(/2 received/);
  });

  it('relays ping to the corp network, which only the host can route', async () => {
    await assertRoutedVia(corp.corpIp, corp.hostDev);
    // The guest's only route there is its default route through hnet.
    const route = await guest.exec('ip', ['route', 'get', corp.corpIp]);
    expect(route.stdout).to.contain(`via ${GATEWAY}`);
    const res = await guest.exec('ping', ['-c', '2', '-i', '0.3', '-W', '3', corp.corpIp]);
    expect(res.stdout).to.match(/2 received/);
  });

  it('round-trips UDP to the host loopback through the host address, 1400 and 9000 bytes at MTU 65520', async () => {
    for (const size of [1, 1400, 9000]) {
      const res = await udpProbe(guest, HOST, echo.port, size);
      expect(res, `size ${size}`).to.deep.include({ ok: true, echoed: true, bytes: size });
    }
    expect(echo.received).to.be.at.least(3);
  });

  it('reports a closed host UDP port to the guest as ECONNREFUSED', async () => {
    const closed = await udpEchoServer({ host: '127.0.0.1' });
    const port = closed.port;
    await closed.close();
    const res = await udpProbe(guest, HOST, port, 64);
    expect(res.error).to.equal('ECONNREFUSED');
  });

  it('keeps serving after 100k random and mutated frames, with drops counted and memory bounded', async () => {
    const before = rssKiB(daemon.pid);
    const mac = await guestMac(guest, tap);
    const { stdout } = await guest.exec(process.execPath, [join(TOOLS, 'inject-frames.mjs'), tap, '100000', '7', mac, GATEWAY_MAC, GUEST, `${GATEWAY},${HOST}`], { timeoutMs: 120_000 });
    expect(JSON.parse(stdout).sent).to.be.greaterThan(90_000);
    const res = await guest.exec('ping', ['-c', '2', '-i', '0.2', '-W', '3', GATEWAY]);
    expect(res.stdout).to.match(/2 received/);
    const status = await run(process.execPath, ['--import', 'tsx', '--no-warnings', 'bin/dev.js', 'status', '--json', '--home', daemon.home]);
    const counters = (JSON.parse(status.stdout) as { counters: Record<string, number> }).counters;
    const drops = Object.entries(counters).filter(([k]) => k.startsWith('drop.')).reduce((a, [, v]) => a + v, 0);
    expect(drops).to.be.greaterThan(10_000);
    const after = rssKiB(daemon.pid);
    expect(after - before, `RSS grew from ${before} KiB to ${after} KiB`).to.be.lessThan(150 * 1024);
  });

  it('writes a pcap of both directions that tshark reads without errors', async () => {
    await daemon.stop();
    const { stdout } = await run('tshark', ['-r', pcapFile, '-Y', 'icmp', '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'icmp.type']);
    const lines = stdout.trim().split('\n');
    expect(lines.some((l) => l.startsWith(`${GUEST}\t${GATEWAY}\t8`))).to.equal(true);
    expect(lines.some((l) => l.startsWith(`${GATEWAY}\t${GUEST}\t0`))).to.equal(true);
  });

  it('removes the tap it created when it stops', async () => {
    const { stdout } = await guest.exec('ip', ['-j', 'link', 'show']);
    expect((JSON.parse(stdout) as Array<{ ifname: string }>).map((l) => l.ifname)).not.to.include(tap);
  });
});
