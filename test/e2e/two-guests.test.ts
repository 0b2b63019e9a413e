/**
 * Two guests on ONE daemon (issue 5, DESIGN §2 "switch"): two namespaces,
 * each with a tap whose frames a separate relay process carries to the
 * daemon's qemu:// stream socket (tools/tap-relay.ts, QEMU's 4-byte
 * big-endian framing), so each guest is one switch port.
 *  - the guests reach each other through the L2 switch (ARP and ping,
 *    IEEE 802.1D learning/forwarding), and each reaches the gateway;
 *  - both download from a host server on 127.0.0.1 through .254 at the
 *    same time; pulling one guest's cable (SIGKILL of its relay) in the
 *    middle of the transfer leaves the other's download sha256-exact, and the
 *    daemon keeps serving the survivor.
 *
 * Safety: --allow-egress 127.0.0.0/8 only; every guest packet goes to the
 * daemon (the namespaces' only route is the tap), checked with ip route get.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { requireRoot, useCleanup, createNetns, spawnDaemon, assertRoutedVia, uniqueSuffix, type Netns, type DaemonProcess } from './harness/index.js';
import { blastServer, expectedSha256, type BlastServer } from './blast-server.js';
import { spawnTapRelay, type TapRelay } from './helpers/tap-bridge.js';

const TOOLS = join(dirname(fileURLToPath(import.meta.url)), 'tools');
const GATEWAY = '192.168.65.1';
const HOST = '192.168.65.254';

interface Guest {
  ns: Netns;
  tap: string;
  ip: string;
  relay: TapRelay;
}

/** Run tcp-tool in a namespace; resolves with its JSON line (or the exit reason). */
function tcpTool(ns: Netns, args: string[]): { proc: ChildProcess; result: Promise<Record<string, unknown>> } {
  const proc = ns.spawn(process.execPath, [join(TOOLS, 'tcp-tool.mjs'), ...args]);
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const result = new Promise<Record<string, unknown>>((res) =>
    proc.once('exit', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        res(JSON.parse(line) as Record<string, unknown>);
      } catch {
        res({ exit: code ?? signal, out });
      }
    }),
  );
  return { proc, result };
}

describe('e2e: two guests on one daemon over qemu:// stream sockets', function () {
  this.timeout(90_000);
  const cleanup = useCleanup();
  let dir: string;
  let sock: string;
  let daemon: DaemonProcess;
  let blast: BlastServer;
  const guests: Guest[] = [];

  async function addGuest(ip: string): Promise<Guest> {
    const ns = await createNetns('hnt2g', cleanup);
    const tap = `hnt2${uniqueSuffix()}`;
    const relay = await spawnTapRelay({ tap, netns: ns.name, socket: sock, cleanup });
    await ns.exec('ip', ['addr', 'add', `${ip}/24`, 'dev', tap]);
    await ns.exec('ip', ['route', 'add', 'default', 'via', GATEWAY]);
    await assertRoutedVia(HOST, tap, ns);
    return { ns, tap, ip, relay };
  }

  before(async function () {
    requireRoot(this, ['ip', 'ping']);
    dir = mkdtempSync(join(tmpdir(), 'hnt-2g-'));
    cleanup.add('two-guests dir', () => rmSync(dir, { recursive: true, force: true }));
    sock = join(dir, 'a.sock');
    blast = await blastServer('127.0.0.1', cleanup);
    daemon = await spawnDaemon(['--listen', `qemu://${sock}`, '--subnet', '192.168.65.0/24', '--allow-egress', '127.0.0.0/8', '--dns-upstream', '127.0.0.1:9'], { cleanup });
    guests.push(await addGuest('192.168.65.2'), await addGuest('192.168.65.3'));
    await daemon.waitFor(/guest connected link=qemu[^\n]*\n[\s\S]*guest connected link=qemu/, 10_000);
  });

  it('each guest pings the gateway, and the guests ping each other through the switch', async () => {
    const [a, b] = guests;
    for (const g of guests) await g.ns.exec('ping', ['-c', '2', '-i', '0.2', '-W', '5', GATEWAY]);
    const ab = await a.ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', b.ip]);
    expect(ab.stdout).to.match(/3 received/);
    const ba = await b.ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', a.ip]);
    expect(ba.stdout).to.match(/3 received/);
    // a learned b's own MAC (not the gateway's): the frames were switched, not routed.
    const { stdout: bLink } = await b.ns.exec('ip', ['-j', 'link', 'show', b.tap]);
    const bMac = (JSON.parse(bLink) as Array<{ address: string }>)[0].address;
    const { stdout: neigh } = await a.ns.exec('ip', ['-j', 'neigh', 'show', b.ip, 'dev', a.tap]);
    expect((JSON.parse(neigh) as Array<{ lladdr: string }>)[0].lladdr).to.equal(bMac);
  });

  it('pulling one guest cable mid-transfer leaves the other download sha256-exact', async () => {
    const [a, b] = guests;
    const SIZE_A = 256 << 20; // far more than moves before the cable is pulled
    const SIZE_B = 64 << 20;
    const KILL_AT = 4 << 20;
    const dlA = tcpTool(a.ns, [HOST, String(blast.port), 'down', String(SIZE_A)]);
    const dlB = tcpTool(b.ns, [HOST, String(blast.port), 'down', String(SIZE_B)]);
    let bDone = false;
    void dlB.result.then(() => (bDone = true));
    cleanup.add('guest downloads', () => {
      dlA.proc.kill('SIGKILL');
      dlB.proc.kill('SIGKILL');
    });
    // Both flows are moving: each relay has put KILL_AT bytes on its tap.
    await Promise.all([a.relay.waitToTap(KILL_AT), b.relay.waitToTap(KILL_AT)]);
    expect(bDone, 'b finished before a was cut: not mid-transfer').to.equal(false);
    const bBytesAtCut = b.relay.toTapBytes;
    expect(bBytesAtCut).to.be.lessThan(SIZE_B);
    await a.relay.kill('SIGKILL');
    await daemon.waitFor(/guest disconnected/, 10_000);

    const rb = await dlB.result;
    expect(rb, JSON.stringify(rb)).to.include({ ok: true });
    expect(rb.sha256).to.deep.equal([expectedSha256(SIZE_B)]);
    expect(b.relay.toTapBytes).to.be.greaterThan(bBytesAtCut);

    // a's download can never finish now: its NIC is gone.
    dlA.proc.kill('SIGKILL');
    const ra = await dlA.result;
    expect(ra.ok).to.not.equal(true);
    const aTap = await a.ns.exec('ip', ['link', 'show', 'dev', a.tap]).then(() => true, () => false);
    expect(aTap, 'the killed relay took its tap with it').to.equal(false);

    // The daemon still serves the survivor.
    const ping = await b.ns.exec('ping', ['-c', '2', '-i', '0.2', '-W', '5', GATEWAY]);
    expect(ping.stdout).to.match(/2 received/);
    const again = tcpTool(b.ns, [HOST, String(blast.port), 'down', String(1 << 20)]);
    const r2 = await again.result;
    expect(r2.sha256).to.deep.equal([expectedSha256(1 << 20)]);
  });
});
