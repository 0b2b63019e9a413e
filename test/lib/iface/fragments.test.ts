import { expect } from 'chai';
import fc from 'fast-check';
import { Counters } from '../../../src/lib/counters.js';
import { Ipv4Reassembler } from '../../../src/lib/iface/fragments.js';
import { EthernetFrame } from '../../../src/lib/wire/ethernet.js';
import { Icmpv4Packet, parseIcmpv4 } from '../../../src/lib/wire/icmpv4.js';
import { emitFragmentHeader, type FragmentPlan, IPV4_HEADER_LEN, Ipv4Packet, Ipv4Repr, planFragments } from '../../../src/lib/wire/ipv4.js';
import { UdpPacket, UdpRepr } from '../../../src/lib/wire/udp.js';
import { linuxFrame, LinuxFrame } from '../wire/helpers.js';

const SRC = 0xc0a84102; // 192.168.65.2
const DST = 0xc0a84101;

function repr(payloadLen: number, id = 7): Ipv4Repr {
  return new Ipv4Repr({ src: SRC, dst: DST, protocol: 17, payloadLen, id });
}

/** One fragment of `payload` as a checked packet. */
function fragment(r: Ipv4Repr, payload: Buffer, f: FragmentPlan): Ipv4Packet {
  const buf = Buffer.alloc(IPV4_HEADER_LEN + f.length);
  emitFragmentHeader(buf, 0, r, f);
  payload.copy(buf, IPV4_HEADER_LEN, f.offset, f.offset + f.length);
  return Ipv4Packet.checked(buf);
}

function fragments(payload: Buffer, mtu: number, id = 7): Ipv4Packet[] {
  const r = repr(payload.length, id);
  return planFragments(payload.length, mtu).map((f) => fragment(r, payload, f));
}

/** The unfragmented packet the reassembly must produce. */
function whole(payload: Buffer, id = 7): Buffer {
  const buf = Buffer.alloc(IPV4_HEADER_LEN + payload.length);
  repr(payload.length, id).emit(buf, 0);
  payload.copy(buf, IPV4_HEADER_LEN);
  return buf;
}

function pushAll(r: Ipv4Reassembler, pkts: Ipv4Packet[], now = 0): Array<Buffer | null> {
  return pkts.map((p) => r.push(now, p));
}

const payload3000 = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 255));

describe('IPv4 reassembly (RFC 791 §3.2)', () => {
  it('reassembles the fragments of Linux ping -s 3000 into a valid echo request', () => {
    const counters = new Counters();
    const r = new Ipv4Reassembler(counters);
    const frags = LinuxFrame.bigEchoFragments.map((i) => Ipv4Packet.checked(EthernetFrame.checked(linuxFrame(i)).payload));
    const out = pushAll(r, frags);
    expect(out.slice(0, 2)).to.deep.equal([null, null]);
    const p = Ipv4Packet.checked(out[2]!);
    expect(p.isFragment).to.equal(false);
    expect(p.totalLen).to.equal(20 + 8 + 3000);
    expect(p.id).to.equal(frags[0].id);
    const echo = parseIcmpv4(Icmpv4Packet.checked(p.payload)); // the ICMP checksum covers all 3008 bytes
    expect(echo.kind).to.equal('echoRequest');
    expect(r.pending).to.equal(0);
    expect(r.heldBytes).to.equal(0);
    expect(counters.totalDrops()).to.equal(0);
  });

  it('reassembles fragments that arrive in any order, with exact duplicates ignored', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 5000 }),
        fc.integer({ min: 68, max: 1500 }),
        fc.infiniteStream(fc.nat()),
        fc.array(fc.nat(), { maxLength: 3 }),
        (arr, mtu, rnd, dups) => {
          const payload = Buffer.from(arr);
          const frags = fragments(payload, mtu);
          const order = frags.map((f, i) => ({ f, k: rnd.next().value as number, i }));
          order.sort((a, b) => a.k - b.k || a.i - b.i);
          const seq = order.map((o) => o.f);
          // Duplicates go in before the last piece, so they cannot come after completion.
          for (const d of dups) seq.splice(Math.max(0, seq.length - 1), 0, frags[d % frags.length]);
          const counters = new Counters();
          const r = new Ipv4Reassembler(counters);
          const out = pushAll(r, seq).filter((b) => b !== null);
          if (frags.length === 1) {
            expect(out.length).to.equal(1 + dups.length); // not a fragment: passed straight through
            return;
          }
          expect(out).to.have.length(1);
          expect(out[0]).to.deep.equal(whole(payload));
          expect(counters.get('drop.frag_overlap')).to.equal(0);
          expect(r.pending).to.equal(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('passes a packet that is not a fragment straight through', () => {
    const p = Ipv4Packet.checked(whole(Buffer.from('abc')));
    expect(new Ipv4Reassembler(new Counters()).push(0, p)).to.equal(p.buf);
  });

  it('keeps datagrams apart by (source, destination, protocol, id)', () => {
    const r = new Ipv4Reassembler(new Counters());
    const a = fragments(payload3000, 1500, 1);
    const b = fragments(Buffer.alloc(3000, 9), 1500, 2);
    const out = pushAll(r, [a[0], b[0], a[1], b[1], b[2], a[2]]);
    expect(out[4]).to.deep.equal(whole(Buffer.alloc(3000, 9), 2));
    expect(out[5]).to.deep.equal(whole(payload3000, 1));
  });

  it('drops a datagram whose fragments overlap, and its later fragments (RFC 5722 §4 rule)', () => {
    const counters = new Counters();
    const r = new Ipv4Reassembler(counters);
    const rp = repr(3000);
    const frags = fragments(payload3000, 1500);
    expect(r.push(0, frags[0])).to.equal(null);
    const overlapping = fragment(rp, payload3000, { offset: 1472, length: 16, more: true }); // covers 1472..1488
    expect(r.push(1, overlapping)).to.equal(null);
    expect(counters.get('drop.frag_overlap')).to.equal(1);
    expect(r.heldBytes).to.equal(0);
    // The honest remainder can no longer complete it.
    expect(pushAll(r, [frags[1], frags[2]], 2)).to.deep.equal([null, null]);
    expect(counters.get('drop.frag_timeout')).to.equal(0);
    // After the timeout the key is free again.
    r.expire(30_000);
    expect(r.pending).to.equal(0);
    expect(counters.get('drop.frag_timeout')).to.equal(0); // already counted as an overlap
    expect(pushAll(r, frags, 30_001)[2]).to.deep.equal(whole(payload3000));
  });

  it('drops a datagram whose last fragment overlaps an earlier one', () => {
    const counters = new Counters();
    const r = new Ipv4Reassembler(counters);
    const frags = fragments(payload3000, 1500);
    r.push(0, frags[1]);
    expect(r.push(0, fragment(repr(3000), payload3000, { offset: 2000, length: 1008, more: false }))).to.equal(null);
    expect(counters.get('drop.frag_overlap')).to.equal(1);
  });

  it('drops a datagram that would exceed 65535 bytes', () => {
    const counters = new Counters();
    const r = new Ipv4Reassembler(counters);
    const big = Buffer.alloc(65600);
    const rp = repr(big.length);
    expect(r.push(0, fragment(rp, big, { offset: 0, length: 1480, more: true }))).to.equal(null);
    expect(r.push(0, fragment(rp, big, { offset: 65512, length: 16, more: false }))).to.equal(null);
    expect(counters.get('drop.frag_too_big')).to.equal(1);
    expect(r.pending).to.equal(0);
    expect(r.heldBytes).to.equal(0);
  });

  it('drops a non-final fragment whose length is not a multiple of 8', () => {
    const counters = new Counters();
    const r = new Ipv4Reassembler(counters);
    const buf = Buffer.alloc(IPV4_HEADER_LEN + 100);
    repr(200).emit(buf, 0);
    buf.writeUInt16BE(0x2000, 6); // MF, offset 0
    buf.writeUInt16BE(IPV4_HEADER_LEN + 100, 2);
    buf.writeUInt16BE(0, 10);
    let s = 0;
    for (let i = 0; i < 20; i += 2) s += buf.readUInt16BE(i);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    buf.writeUInt16BE(~s & 0xffff, 10);
    expect(r.push(0, Ipv4Packet.checked(buf))).to.equal(null);
    expect(counters.get('drop.frag_bad_length')).to.equal(1);
  });

  it('drops an incomplete datagram when its timer runs out', () => {
    const counters = new Counters();
    const r = new Ipv4Reassembler(counters, { timeoutMs: 1000 });
    expect(r.pollAt()).to.equal(undefined);
    const frags = fragments(payload3000, 1500);
    r.push(500, frags[0]);
    r.push(900, frags[2]);
    expect(r.pollAt()).to.equal(1500);
    r.expire(1499);
    expect(r.pending).to.equal(1);
    r.expire(1500);
    expect(r.pending).to.equal(0);
    expect(r.heldBytes).to.equal(0);
    expect(counters.get('drop.frag_timeout')).to.equal(1);
    expect(r.pollAt()).to.equal(undefined);
    // The middle fragment alone after the timeout starts a new, incomplete datagram.
    expect(r.push(1600, frags[1])).to.equal(null);
  });

  it('expires on push too, so a late fragment cannot complete a timed-out datagram', () => {
    const counters = new Counters();
    const r = new Ipv4Reassembler(counters, { timeoutMs: 1000 });
    const frags = fragments(payload3000, 1500);
    r.push(0, frags[0]);
    r.push(0, frags[1]);
    expect(r.push(1000, frags[2])).to.equal(null);
    expect(counters.get('drop.frag_timeout')).to.equal(1);
  });

  it('evicts the oldest datagrams when the memory cap is reached', () => {
    const counters = new Counters();
    const r = new Ipv4Reassembler(counters, { maxBytes: 4000 });
    const a = fragments(payload3000, 1500, 1);
    const b = fragments(payload3000, 1500, 2);
    r.push(0, a[0]); // 1500 held
    r.push(0, a[1]); // 2980 held
    expect(r.heldBytes).to.equal(2980);
    r.push(1, b[0]); // would be 4480: a goes
    expect(counters.get('drop.frag_memory')).to.equal(1);
    expect(r.heldBytes).to.equal(1500);
    expect(r.push(2, a[2])).to.equal(null); // a is gone: its tail starts a new datagram
    expect(r.heldBytes).to.equal(1540);
    expect(r.push(2, b[1])).to.equal(null);
    expect(r.push(2, b[2])).to.deep.equal(whole(payload3000, 2));
    expect(r.heldBytes).to.equal(40);
    expect(counters.get('drop.frag_memory')).to.equal(1);
  });

  it('never holds more than the cap, whatever arrives', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ id: fc.nat({ max: 5 }), slot: fc.nat({ max: 40 }), more: fc.boolean(), len: fc.integer({ min: 1, max: 200 }), t: fc.nat({ max: 100 }) }), { maxLength: 60 }),
        (events) => {
          const counters = new Counters();
          const r = new Ipv4Reassembler(counters, { maxBytes: 1000, timeoutMs: 50 });
          let now = 0;
          for (const e of events) {
            now += e.t;
            const length = e.more ? e.len * 8 : e.len;
            const data = Buffer.alloc(40 * 8 + length, e.id);
            const out = r.push(now, fragment(repr(data.length, e.id), data, { offset: e.slot * 8, length, more: e.more }));
            if (out) expect(Ipv4Packet.checked(out).isFragment).to.equal(false);
            expect(r.heldBytes).to.be.within(0, 1000);
            // A fragment push expires what is due first (a non-fragment takes the fast path).
            const at = r.pollAt();
            if (at !== undefined && (e.slot > 0 || e.more)) expect(at).to.be.greaterThan(now);
          }
        },
      ),
    );
  });

  it('puts back together an oversized UDP datagram sent as planned fragments', () => {
    // The sending side as the interface does it: UDP header + payload in one buffer, then one frame per plan entry.
    const data = Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 13) & 255));
    const udp = Buffer.alloc(8 + data.length);
    data.copy(udp, 8);
    new UdpRepr(53, 40000).emit(udp, 0, SRC, DST, data.length);
    const ip = new Ipv4Repr({ src: SRC, dst: DST, protocol: 17, payloadLen: udp.length, id: 99 });
    const plan = planFragments(udp.length, 1500);
    expect(plan).to.have.length(3);
    const r = new Ipv4Reassembler(new Counters());
    let done: Buffer | null = null;
    for (const f of plan.reverse()) {
      const frame = Buffer.alloc(IPV4_HEADER_LEN + f.length);
      emitFragmentHeader(frame, 0, ip, f);
      udp.copy(frame, IPV4_HEADER_LEN, f.offset, f.offset + f.length);
      expect(frame.length).to.be.at.most(1500);
      done = r.push(0, Ipv4Packet.checked(frame));
    }
    const p = Ipv4Packet.checked(done!);
    const u = UdpPacket.checked(p.payload, p.src, p.dst);
    expect(u.dstPort).to.equal(40000);
    expect(u.payload).to.deep.equal(data);
  });
});
