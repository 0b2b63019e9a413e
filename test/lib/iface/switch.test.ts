import { expect } from 'chai';
import fc from 'fast-check';
import { Counters } from '../../../src/lib/counters.js';
import { L2Switch } from '../../../src/lib/iface/switch.js';
import type { GuestPort } from '../../../src/lib/iface/neighbors.js';
import { parseMac, BROADCAST_MAC } from '../../../src/lib/wire/addr.js';

const GW = parseMac('02:68:6e:65:74:01')!;
const A = parseMac('52:54:00:00:00:0a')!;
const B = parseMac('52:54:00:00:00:0b')!;
const C = parseMac('52:54:00:00:00:0c')!;

class Port implements GuestPort {
  sent: Buffer[] = [];
  constructor(readonly id: string) {}
  send(frame: Buffer): void {
    this.sent.push(Buffer.from(frame));
  }
}

function frame(dst: Buffer, src: Buffer, tag = 0): Buffer {
  const f = Buffer.alloc(60);
  dst.copy(f, 0);
  src.copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  f[20] = tag;
  return f;
}

function setup(opts = {}) {
  const counters = new Counters();
  const sw = new L2Switch(GW, counters, opts);
  const p1 = new Port('p1');
  const p2 = new Port('p2');
  const p3 = new Port('p3');
  for (const p of [p1, p2, p3]) sw.attach(p);
  return { sw, counters, p1, p2, p3 };
}

describe('L2 learning switch (IEEE 802.1D §7.7-7.8)', () => {
  it('passes frames for the gateway MAC to the stack only', () => {
    const { sw, p1, p2, p3 } = setup();
    expect(sw.ingress(p1, frame(GW, A), 0)).to.equal(true);
    expect(p1.sent.length + p2.sent.length + p3.sent.length).to.equal(0);
  });

  it('floods broadcast to every other port and to the stack', () => {
    const { sw, p1, p2, p3 } = setup();
    const f = frame(BROADCAST_MAC, A, 7);
    expect(sw.ingress(p1, f, 0)).to.equal(true);
    expect(p1.sent).to.have.length(0);
    expect(p2.sent).to.deep.equal([f]);
    expect(p3.sent).to.deep.equal([f]);
  });

  it('floods multicast (I/G bit set) like broadcast', () => {
    const { sw, p1, p2 } = setup();
    const mdns = parseMac('01:00:5e:00:00:fb')!;
    expect(sw.ingress(p1, frame(mdns, A), 0)).to.equal(true);
    expect(p2.sent).to.have.length(1);
  });

  it('floods unknown unicast to the other ports but not to the stack', () => {
    const { sw, counters, p1, p2, p3 } = setup();
    expect(sw.ingress(p1, frame(B, A), 0)).to.equal(false);
    expect(p2.sent).to.have.length(1);
    expect(p3.sent).to.have.length(1);
    expect(counters.get('switch.unknown_unicast')).to.equal(1);
  });

  it('learns source MACs and then forwards unicast to the one port behind the destination', () => {
    const { sw, counters, p1, p2, p3 } = setup();
    sw.ingress(p2, frame(BROADCAST_MAC, B), 0); // B announces itself on p2
    p1.sent = [];
    p3.sent = [];
    const f = frame(B, A, 9);
    expect(sw.ingress(p1, f, 1)).to.equal(false);
    expect(p2.sent.at(-1)).to.deep.equal(f);
    expect(p3.sent).to.have.length(0);
    expect(p1.sent).to.have.length(0);
    expect(sw.portOf(A)).to.equal(p1);
    expect(counters.get('switch.forwarded')).to.equal(1);
  });

  it('filters a frame whose destination sits on the port it came from', () => {
    const { sw, counters, p1, p2 } = setup();
    sw.ingress(p1, frame(BROADCAST_MAC, B), 0);
    p2.sent = [];
    expect(sw.ingress(p1, frame(B, A), 1)).to.equal(false);
    expect(p2.sent).to.have.length(0);
    expect(counters.get('drop.switch_same_port')).to.equal(1);
  });

  it('follows a station that moves to another port', () => {
    const { sw, counters, p1, p2 } = setup();
    sw.ingress(p1, frame(GW, B), 0);
    sw.ingress(p2, frame(GW, B), 1);
    expect(sw.portOf(B)).to.equal(p2);
    expect(counters.get('switch.moved')).to.equal(1);
  });

  it('forgets every MAC learned on a port that goes away, and stops sending to it', () => {
    const { sw, p1, p2, p3 } = setup();
    sw.ingress(p2, frame(GW, B), 0);
    sw.detach(p2);
    expect(sw.portOf(B)).to.equal(undefined);
    sw.ingress(p1, frame(BROADCAST_MAC, A), 1);
    expect(p2.sent).to.have.length(0);
    expect(p3.sent).to.have.length(1);
  });

  it('ages out entries idle for longer than the ageing time and floods again', () => {
    const { sw, p1, p2, p3 } = setup({ ageMs: 1000 });
    sw.ingress(p2, frame(GW, B), 0);
    sw.ingress(p1, frame(B, A), 500);
    expect(p3.sent).to.have.length(0);
    sw.ingress(p1, frame(B, A), 1501);
    expect(p3.sent).to.have.length(1);
    expect(sw.portOf(B)).to.equal(undefined);
  });

  it('drops frames with a group source address and never learns it', () => {
    const { sw, counters, p1, p2 } = setup();
    const bad = parseMac('03:00:00:00:00:01')!;
    expect(sw.ingress(p1, frame(BROADCAST_MAC, bad), 0)).to.equal(false);
    expect(p2.sent).to.have.length(0);
    expect(sw.portOf(bad)).to.equal(undefined);
    expect(counters.get('drop.switch_multicast_source')).to.equal(1);
  });

  it('never learns the gateway MAC from a guest (no hijacking the stack)', () => {
    const { sw, p1, p2 } = setup();
    sw.ingress(p2, frame(BROADCAST_MAC, GW), 0);
    expect(sw.portOf(GW)).to.equal(undefined);
    expect(sw.ingress(p1, frame(GW, A), 1)).to.equal(true);
    expect(p2.sent).to.have.length(0);
  });

  it('bounds the table: beyond maxEntries new sources are not learned (counted) and still flooded to', () => {
    const { sw, counters, p1, p2 } = setup({ maxEntries: 2 });
    sw.ingress(p1, frame(GW, A), 0);
    sw.ingress(p1, frame(GW, B), 0);
    sw.ingress(p2, frame(GW, C), 0);
    expect(sw.entries()).to.have.length(2);
    expect(counters.get('drop.switch_table_full')).to.equal(1);
    sw.ingress(p1, frame(C, A), 0);
    expect(p2.sent.at(-1)?.subarray(0, 6)).to.deep.equal(C);
  });

  it('lists learned entries as colon MAC strings', () => {
    const { sw, p1 } = setup();
    sw.ingress(p1, frame(GW, A), 0);
    expect(sw.entries()).to.deep.equal([{ mac: '52:54:00:00:00:0a', port: 'p1' }]);
  });

  it('never throws and never sends a frame back out of its ingress port, for any bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.uint8Array({ minLength: 0, maxLength: 80 })), { maxLength: 40 }), (steps) => {
        const { sw, p1, p2, p3 } = setup();
        const ports = [p1, p2, p3];
        for (const [i, bytes] of steps) {
          const before = ports[i].sent.length;
          sw.ingress(ports[i], Buffer.from(bytes), 0);
          expect(ports[i].sent.length).to.equal(before);
        }
      }),
    );
  });
});
