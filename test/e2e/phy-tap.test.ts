/**
 * The tap transport against the real Linux kernel, inside a namespace this
 * test creates: ARP (RFC 826) request seen by the Link, ARP reply written by
 * the Link lands in the kernel's neighbour table, device lifecycle.
 */
import { expect } from 'chai';
import { readlinkSync } from 'node:fs';
import { TapLink, TapTransport } from '../../src/lib/phy/tap.js';
import type { Link } from '../../src/lib/phy/link.js';
import { requireRoot, useCleanup, createNetns, assertRoutedVia, uniqueSuffix, run, type Netns } from './harness/index.js';

const NS_IP = '198.51.100.1'; // RFC 5737 TEST-NET-2, only ever inside our namespace
const GHOST_IP = '198.51.100.7';
const GHOST_MAC = Buffer.from([0x02, 0x68, 0x6e, 0x74, 0x00, 0x07]);

function ipBytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

/** An Ethernet ARP reply "GHOST_IP is at GHOST_MAC" to (tha, tpa). RFC 826. */
function arpReply(tha: Buffer, tpa: Buffer): Buffer {
  const f = Buffer.alloc(42);
  tha.copy(f, 0);
  GHOST_MAC.copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14); // htype Ethernet
  f.writeUInt16BE(0x0800, 16); // ptype IPv4
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(2, 20); // op reply
  GHOST_MAC.copy(f, 22);
  ipBytes(GHOST_IP).copy(f, 28);
  tha.copy(f, 32);
  tpa.copy(f, 38);
  return f;
}

async function linkPresent(ns: Netns, name: string): Promise<boolean> {
  return ns.exec('ip', ['-o', 'link', 'show', 'dev', name]).then(() => true, () => false);
}

describe('tap transport (Linux, netns)', function () {
  this.timeout(60_000);
  const cleanup = useCleanup();
  let ns: Netns;

  before(async function () {
    requireRoot(this, ['ip', 'ping']);
    ns = await createNetns('hnttap', cleanup);
  });

  async function attach(name: string, mtu = 1500): Promise<{ t: TapTransport; link: Link }> {
    const t = new TapTransport(`tap:${name}?netns=${ns.name}`, { name, netns: ns.name }, { mtu });
    let link: Link | undefined;
    t.onLink = (l) => (link = l);
    await t.start();
    cleanup.add(`tap ${name}`, () => t.close());
    return { t, link: link! };
  }

  it('creates the tap inside the namespace, up, with the MTU, and returns to our namespace', async () => {
    const before = readlinkSync('/proc/self/ns/net');
    const name = `hntt${uniqueSuffix()}`;
    await attach(name, 9000);
    expect(readlinkSync('/proc/self/ns/net')).to.equal(before);
    const { stdout } = await ns.exec('ip', ['-o', 'link', 'show', 'dev', name]);
    expect(stdout).to.match(/mtu 9000/);
    expect(stdout).to.match(/[<,]UP[,>]/);
    const host = await run('ip', ['-o', 'link', 'show']);
    expect(host.stdout).not.to.contain(name);
  });

  it('receives the kernel ARP request and answers it into the neighbour table', async () => {
    const name = `hntt${uniqueSuffix()}`;
    const { link } = await attach(name);
    await ns.exec('ip', ['addr', 'add', `${NS_IP}/24`, 'dev', name]);
    await assertRoutedVia(GHOST_IP, name, ns);
    const request = new Promise<Buffer>((res) => {
      link.onFrame = (f) => {
        // ARP request (op 1) asking for GHOST_IP
        if (f.readUInt16BE(12) === 0x0806 && f.readUInt16BE(20) === 1 && f.subarray(38, 42).equals(ipBytes(GHOST_IP))) res(Buffer.from(f));
      };
    });
    const pinger = ns.spawn('ping', ['-c', '20', '-i', '0.5', GHOST_IP]);
    cleanup.add('ping', () => pinger.kill('SIGKILL'));
    const req = await request;
    const senderMac = req.subarray(22, 28);
    expect(req.subarray(0, 6).equals(Buffer.alloc(6, 0xff))).to.equal(true);
    expect(req.subarray(28, 32).equals(ipBytes(NS_IP))).to.equal(true);
    link.send(arpReply(senderMac, ipBytes(NS_IP)));
    expect(link.stats.txFrames).to.equal(1);
    // The kernel now sends the ICMP echo to GHOST_MAC: proof it learned it.
    const echo = await new Promise<Buffer>((res) => {
      link.onFrame = (f) => {
        if (f.readUInt16BE(12) === 0x0800 && f[23] === 1) res(Buffer.from(f));
      };
    });
    pinger.kill('SIGKILL');
    expect(echo.subarray(0, 6).equals(GHOST_MAC)).to.equal(true);
    // Its own length, after the shorter ARP frames read into the same buffer: Ethernet header + IPv4 total length.
    expect(echo.length).to.equal(14 + echo.readUInt16BE(16));
    expect(echo.length).to.equal(14 + 20 + 8 + 56);
    const neigh = await ns.exec('ip', ['neigh', 'show', GHOST_IP, 'dev', name]);
    expect(neigh.stdout).to.contain('lladdr 02:68:6e:74:00:07');
    expect(link.stats.rxFrames).to.be.greaterThan(1);
  });

  it('delivers a wakeup\'s frames inside the input batch, closed when the wakeup ends', async () => {
    const name = `hntt${uniqueSuffix()}`;
    const { link } = await attach(name);
    // A subnet of its own: the ARP test's tap, still up in this namespace, holds NS_IP's.
    await ns.exec('ip', ['addr', 'add', '203.0.113.1/24', 'dev', name]); // RFC 5737 TEST-NET-3
    await assertRoutedVia('203.0.113.7', name, ns);
    let depth = 0;
    let ends = 0;
    expect(link).to.be.instanceOf(TapLink);
    (link as TapLink).inputBatch = { beginInput: () => void depth++, endInput: () => void (depth--, ends++) };
    const depthAtFrame = new Promise<number>((res) => (link.onFrame = () => res(depth)));
    const pinger = ns.spawn('ping', ['-c', '20', '-i', '0.5', '203.0.113.7']);
    cleanup.add('ping', () => pinger.kill('SIGKILL'));
    expect(await depthAtFrame, 'inside the bracket').to.equal(1);
    pinger.kill('SIGKILL');
    expect(depth, 'closed after the wakeup').to.equal(0);
    expect(ends).to.be.greaterThan(0);
  });

  it('removes a tap it created when closed', async () => {
    const name = `hntt${uniqueSuffix()}`;
    const { t, link } = await attach(name);
    expect(await linkPresent(ns, name)).to.equal(true);
    let closed = false;
    link.onClose = () => (closed = true);
    await t.close();
    expect(closed).to.equal(true);
    expect(await linkPresent(ns, name)).to.equal(false);
    expect(() => link.send(Buffer.alloc(60))).not.to.throw();
    expect(link.stats.drops.tx_closed).to.equal(1);
  });

  it('reports the link closed when the tap is deleted under it, and keeps serving nothing on it', async () => {
    const name = `hntt${uniqueSuffix()}`;
    const { link } = await attach(name);
    let closes = 0;
    link.onClose = () => closes++;
    await ns.exec('ip', ['link', 'del', 'dev', name]);
    const until = Date.now() + 5000;
    while (closes === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(closes, 'onClose fired once').to.equal(1);
    link.send(Buffer.alloc(60));
    expect(link.stats.drops.tx_closed).to.equal(1);
  });

  it('leaves a pre-existing persistent tap in place', async () => {
    const name = `hntt${uniqueSuffix()}`;
    await ns.exec('ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap']);
    cleanup.add(`persistent tap ${name}`, () => ns.exec('ip', ['link', 'del', 'dev', name]).catch(() => undefined));
    const { t } = await attach(name);
    await t.close();
    expect(await linkPresent(ns, name)).to.equal(true);
  });

  it('refuses a namespace that does not exist, without leaving ours', async () => {
    const before = readlinkSync('/proc/self/ns/net');
    const t = new TapTransport('tap:hntx?netns=hnt-none', { name: 'hntx', netns: `hnt-none-${uniqueSuffix()}` }, { mtu: 1500 });
    const err = await t.start().then(() => null, (e: { code?: string }) => e);
    expect(err?.code).to.equal('HNET_NO_NETNS');
    expect(readlinkSync('/proc/self/ns/net')).to.equal(before);
  });
});
