/**
 * ForwardManager (port forwards) against real loopback sockets, with the stack
 * replaced by fakes: openTcp records the guest target and echoes, sendUdp
 * records what would go to the guest, and the test plays the guest's reply.
 */
import { expect } from 'chai';
import net from 'node:net';
import dgram from 'node:dgram';
import { Counters } from '../../../src/lib/counters.js';
import { HnetError } from '../../../src/lib/errors.js';
import { buildStackConfig } from '../../../src/lib/iface/config.js';
import type { GuestUdp } from '../../../src/lib/iface/interface.js';
import { ForwardManager } from '../../../src/lib/nat/forward.js';
import { parseSsHolder } from '../../../src/lib/nat/forward-bind.js';
import { parseIpv4, type Ipv4 } from '../../../src/lib/wire/addr.js';

const cfg = buildStackConfig({});
const G2 = parseIpv4('192.168.65.2')!;
const G3 = parseIpv4('192.168.65.3')!;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function code(err: unknown): string {
  expect(err).to.be.instanceOf(HnetError);
  return (err as HnetError).code;
}

describe('port forwards (ForwardManager)', () => {
  let guests: Ipv4[];
  let opened: Array<{ guest: Ipv4; port: number }>;
  let toGuest: Array<{ src: Ipv4; srcPort: number; dst: Ipv4; dstPort: number; payload: string }>;
  let now: number;
  let mgr: ForwardManager;
  const counters = new Counters();

  beforeEach(() => {
    guests = [G2];
    opened = [];
    toGuest = [];
    now = 1000;
    mgr = new ForwardManager({
      cfg,
      counters,
      clock: () => now,
      guests: () => guests,
      openTcp: (guest, port, host) => {
        opened.push({ guest, port });
        host.pipe(host); // the fake guest echoes
        return true;
      },
      sendUdp: (src, srcPort, dst, dstPort, payload) => toGuest.push({ src, srcPort, dst, dstPort, payload: payload.toString() }),
      holderOf: async () => 'fake-holder (pid 1)',
      udpIdleMs: 5000,
    });
  });
  afterEach(() => mgr.closeAll());

  it('binds 127.0.0.1 by default and opens toward the only guest per connection', async () => {
    const port = await freePort();
    const info = await mgr.add({ proto: 'tcp', hostPort: port, guestPort: 80 });
    expect(info).to.deep.equal({ proto: 'tcp', hostIp: '127.0.0.1', hostPort: port, guestIp: '192.168.65.2', guestPort: 80 });
    const c = net.connect(port, '127.0.0.1');
    c.end('hi');
    const got = await new Promise<string>((r) => {
      let s = '';
      c.on('data', (d) => (s += d));
      c.on('end', () => r(s));
    });
    expect(got).to.equal('hi');
    expect(opened).to.deep.equal([{ guest: G2, port: 80 }]);
  });

  it('answers HNET_PORT_IN_USE naming the holder when another socket has the port', async () => {
    const other = net.createServer();
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const port = (other.address() as net.AddressInfo).port;
    try {
      const err = await mgr.add({ proto: 'tcp', hostPort: port, guestPort: 80 }).catch((e: unknown) => e);
      expect(code(err)).to.equal('HNET_PORT_IN_USE');
      expect((err as Error).message).to.contain('fake-holder (pid 1)');
      expect(mgr.list()).to.deep.equal([]);
    } finally {
      other.close();
    }
  });

  it('frees the host port on remove: a new listener binds it at once', async () => {
    const port = await freePort();
    await mgr.add({ proto: 'tcp', hostPort: port, guestPort: 80 });
    const held = net.connect(port, '127.0.0.1');
    await new Promise((r) => held.once('connect', r));
    await mgr.remove('tcp', '127.0.0.1', port);
    const again = net.createServer();
    await new Promise<void>((res, rej) => {
      again.once('error', rej);
      again.listen(port, '127.0.0.1', res);
    });
    again.close();
    expect(code(await mgr.remove('tcp', '127.0.0.1', port).catch((e: unknown) => e))).to.equal('HNET_NOT_FOUND');
  });

  it('is idempotent for the same target and refuses a different one on the same host port', async () => {
    const port = await freePort();
    await mgr.add({ proto: 'tcp', hostPort: port, guestPort: 80 });
    await mgr.add({ proto: 'tcp', hostPort: port, guestPort: 80 });
    expect(mgr.size).to.equal(1);
    expect(code(await mgr.add({ proto: 'tcp', hostPort: port, guestPort: 81 }).catch((e: unknown) => e))).to.equal('HNET_PORT_IN_USE');
  });

  it('refuses an ambiguous guest, listing the guests', async () => {
    guests = [G2, G3];
    const err = await mgr.add({ proto: 'tcp', hostPort: await freePort(), guestPort: 80 }).catch((e: unknown) => e);
    expect(code(err)).to.equal('HNET_AMBIGUOUS_GUEST');
    expect((err as HnetError).suggestions).to.deep.equal(['--guest 192.168.65.2', '--guest 192.168.65.3']);
  });

  it('refuses a guest outside the subnet, the gateway, the host address and an unknown guest', async () => {
    for (const g of ['10.0.0.2', '192.168.65.1', '192.168.65.254', '192.168.65.9']) {
      expect(code(await mgr.add({ proto: 'tcp', hostPort: 1, guestIp: g, guestPort: 80 }).catch((e: unknown) => e))).to.equal('HNET_UNKNOWN_GUEST');
    }
  });

  it('resets a host client when no guest is attached', async () => {
    const port = await freePort();
    await mgr.add({ proto: 'tcp', hostPort: port, guestPort: 80 });
    guests = [];
    const before = counters.get('drop.forward_no_guest');
    const c = net.connect(port, '127.0.0.1');
    const err = await new Promise<NodeJS.ErrnoException | null>((r) => {
      c.on('error', (e) => r(e));
      c.on('close', () => r(null));
    });
    expect(err?.code).to.equal('ECONNRESET');
    expect(counters.get('drop.forward_no_guest')).to.equal(before + 1);
  });

  it('keeps one UDP flow per host client and returns the guest reply to that client', async () => {
    const port = await freePort();
    await mgr.add({ proto: 'udp', hostPort: port, guestPort: 53535 });
    const client = dgram.createSocket('udp4');
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
    const reply = new Promise<string>((r) => client.once('message', (m) => r(m.toString())));
    client.send('one', port, '127.0.0.1');
    client.send('two', port, '127.0.0.1');
    while (toGuest.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(toGuest.map((d) => d.payload)).to.deep.equal(['one', 'two']);
    expect(toGuest[0].srcPort).to.equal(toGuest[1].srcPort);
    expect(toGuest[0]).to.include({ src: cfg.hostIp, dst: G2, dstPort: 53535 });
    const d = { src: G2, dst: cfg.hostIp, srcPort: 53535, dstPort: toGuest[0].srcPort, payload: Buffer.from('pong') } as GuestUdp;
    expect(mgr.handleUdp(now, d)).to.equal(true);
    expect(await reply).to.equal('pong');
    expect(mgr.handleUdp(now, { ...d, srcPort: 9 })).to.equal(false);
    client.close();
  });

  it('closes a UDP flow after the idle timeout', async () => {
    const port = await freePort();
    await mgr.add({ proto: 'udp', hostPort: port, guestPort: 7 });
    const client = dgram.createSocket('udp4');
    client.send('x', port, '127.0.0.1');
    while (toGuest.length < 1) await new Promise((r) => setTimeout(r, 5));
    const d = { src: G2, dst: cfg.hostIp, srcPort: 7, dstPort: toGuest[0].srcPort, payload: Buffer.from('y') } as GuestUdp;
    expect(mgr.poll(now + 4999)).to.equal(now + 5000);
    expect(mgr.handleUdp(now, d)).to.equal(true);
    mgr.poll(now + 5000);
    expect(mgr.handleUdp(now, d)).to.equal(false);
    client.close();
  });

  it('reads the holder of a port out of `ss -p` output', () => {
    expect(parseSsHolder('LISTEN 0 511 127.0.0.1:8080 0.0.0.0:* users:(("nginx",pid=812,fd=6),("nginx",pid=813,fd=6))')).to.equal('nginx (pid 812)');
    expect(parseSsHolder('LISTEN 0 511 127.0.0.1:8080 0.0.0.0:*')).to.equal(undefined);
  });
});
