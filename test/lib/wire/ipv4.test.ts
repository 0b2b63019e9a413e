import { expect } from 'chai';
import fc from 'fast-check';
import { ipv4ToString } from '../../../src/lib/wire/addr.js';
import { EthernetFrame } from '../../../src/lib/wire/ethernet.js';
import {
  emitFragmentHeader,
  IpProtocol,
  IPV4_HEADER_LEN,
  Ipv4Packet,
  Ipv4Repr,
  ipv4Quote,
  planFragments,
} from '../../../src/lib/wire/ipv4.js';
import { expectWireError, linuxFrame, LinuxFrame, onlyWireError } from './helpers.js';

const ipv4Repr = fc
  .record({
    src: fc.nat({ max: 0xffffffff }),
    dst: fc.nat({ max: 0xffffffff }),
    protocol: fc.nat({ max: 255 }),
    ttl: fc.nat({ max: 255 }),
    payloadLen: fc.nat({ max: 2000 }),
    id: fc.nat({ max: 0xffff }),
    dontFragment: fc.boolean(),
    dscpEcn: fc.nat({ max: 255 }),
  })
  .map((f) => new Ipv4Repr(f));

function linuxIp(i: number): Buffer {
  return EthernetFrame.checked(linuxFrame(i)).payload;
}

describe('IPv4 header (RFC 791)', () => {
  it('round-trips: parse(emit(x)) equals x', () => {
    fc.assert(
      fc.property(ipv4Repr, (r) => {
        const buf = Buffer.alloc(IPV4_HEADER_LEN + r.payloadLen);
        expect(r.emit(buf, 0)).to.equal(20);
        const p = Ipv4Packet.checked(buf);
        expect(Ipv4Repr.parse(p)).to.deep.equal(r);
        expect(p.isFragment).to.equal(false);
        expect(p.payload.length).to.equal(r.payloadLen);
      }),
    );
  });

  it('reads the echo request Linux sent and re-emits its header byte for byte', () => {
    const ip = linuxIp(LinuxFrame.echoRequest);
    const p = Ipv4Packet.checked(ip);
    expect(ipv4ToString(p.src)).to.equal('10.213.0.1');
    expect(ipv4ToString(p.dst)).to.equal('10.213.0.2');
    expect(p.protocol).to.equal(IpProtocol.ICMP);
    expect(p.ttl).to.equal(64);
    expect(p.dontFragment).to.equal(true);
    expect(p.totalLen).to.equal(84);
    const out = Buffer.alloc(20);
    Ipv4Repr.parse(p).emit(out, 0);
    expect(out).to.deep.equal(ip.subarray(0, 20));
  });

  it('reads the fragments of ping -s 3000 (offsets in 8-byte units, MF on all but the last)', () => {
    const frags = LinuxFrame.bigEchoFragments.map((i) => Ipv4Packet.checked(linuxIp(i)));
    expect(frags.map((f) => f.fragmentOffset)).to.deep.equal([0, 1480, 2960]);
    expect(frags.map((f) => f.moreFragments)).to.deep.equal([true, true, false]);
    expect(frags.map((f) => f.payload.length)).to.deep.equal([1480, 1480, 48]);
    expect(frags.every((f) => f.isFragment && f.id === frags[0].id)).to.equal(true);
  });

  it('trims Ethernet padding to the total length', () => {
    const ip = linuxIp(LinuxFrame.udpToClosedPort);
    const padded = Buffer.concat([ip, Buffer.alloc(17, 0xee)]);
    const p = Ipv4Packet.checked(padded);
    expect(p.buf.length).to.equal(ip.length);
    expect(p.payload).to.deep.equal(ip.subarray(20));
  });

  it('rejects a truncated packet', () => {
    const ip = linuxIp(LinuxFrame.echoRequest);
    for (let n = 0; n < 20; n++) expectWireError(() => Ipv4Packet.checked(ip.subarray(0, n)), 'ipv4_truncated');
    for (let n = 20; n < ip.length; n++) expectWireError(() => Ipv4Packet.checked(ip.subarray(0, n)), 'ipv4_truncated');
  });

  it('rejects a header whose checksum does not verify', () => {
    const ip = Buffer.from(linuxIp(LinuxFrame.echoRequest));
    ip[8] ^= 1; // TTL
    expectWireError(() => Ipv4Packet.checked(ip), 'ipv4_bad_checksum');
  });

  it('rejects other versions, IHL below 5, and total length below the header', () => {
    const r = new Ipv4Repr({ src: 1, dst: 2, protocol: 17, payloadLen: 8 });
    const mk = (mutate: (b: Buffer) => void) => {
      const b = Buffer.alloc(28);
      r.emit(b, 0);
      mutate(b);
      return b;
    };
    expectWireError(() => Ipv4Packet.checked(mk((b) => (b[0] = 0x65))), 'ipv4_bad_version');
    expectWireError(() => Ipv4Packet.checked(mk((b) => (b[0] = 0x44))), 'ipv4_bad_header_len');
    expectWireError(() => Ipv4Packet.checked(mk((b) => b.writeUInt16BE(19, 2))), 'ipv4_bad_length');
    const ihl6Total22 = (b: Buffer) => {
      b[0] = 0x46;
      b.writeUInt16BE(22, 2);
    };
    expectWireError(() => Ipv4Packet.checked(mk(ihl6Total22)), 'ipv4_bad_length');
    expectWireError(() => Ipv4Packet.checked(mk((b) => (b[0] = 0x48))), 'ipv4_truncated'); // IHL 32 > 28 bytes
  });

  it('skips IP options: the payload starts at IHL*4', () => {
    const b = Buffer.alloc(32);
    new Ipv4Repr({ src: 1, dst: 2, protocol: 17, payloadLen: 8 }).emit(b, 0);
    const withOpts = Buffer.concat([b.subarray(0, 20), Buffer.from([1, 1, 1, 0]), Buffer.alloc(8, 7)]);
    withOpts[0] = 0x46;
    withOpts.writeUInt16BE(32, 2);
    withOpts.writeUInt16BE(0, 10);
    // Recompute the header checksum by hand (RFC 1071).
    let s = 0;
    for (let i = 0; i < 24; i += 2) s += withOpts.readUInt16BE(i);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    withOpts.writeUInt16BE(~s & 0xffff, 10);
    const p = Ipv4Packet.checked(withOpts);
    expect(p.headerLen).to.equal(24);
    expect(p.payload).to.deep.equal(Buffer.alloc(8, 7));
  });

  it('throws nothing but WireError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (a) => {
        const buf = Buffer.from(a);
        onlyWireError(() => {
          const p = Ipv4Packet.checked(buf);
          return [Ipv4Repr.parse(p), p.payload, p.fragmentOffset, p.isFragment];
        });
      }),
    );
  });
});

describe('IPv4 quote for ICMP errors (RFC 792)', () => {
  it('is the header, options included, and the first 8 payload bytes, or the whole of a shorter datagram', () => {
    const d = Buffer.alloc(60, 0xaa);
    d[0] = 0x45;
    expect(ipv4Quote(d).length).to.equal(28);
    d[0] = 0x47; // 8 option bytes
    expect(ipv4Quote(d).length).to.equal(36);
    expect(ipv4Quote(d.subarray(0, 30)).length).to.equal(30);
    expect(ipv4Quote(d).buffer, 'a view, not a copy').to.equal(d.buffer);
  });
});

describe('IPv4 fragmentation (RFC 791 §3.2)', () => {
  it('plans fragments of multiples of 8 bytes covering the payload exactly once', () => {
    fc.assert(
      fc.property(fc.nat({ max: 65515 }), fc.integer({ min: 68, max: 9000 }), (len, mtu) => {
        const plan = planFragments(len, mtu);
        let next = 0;
        for (const [i, f] of plan.entries()) {
          expect(f.offset).to.equal(next);
          expect(f.offset % 8).to.equal(0);
          expect(f.length + IPV4_HEADER_LEN).to.be.at.most(mtu);
          expect(f.more).to.equal(i < plan.length - 1);
          if (f.more) expect(f.length % 8).to.equal(0);
          next += f.length;
        }
        expect(next).to.equal(len);
      }),
    );
  });

  it('does not fragment what fits', () => {
    expect(planFragments(1480, 1500)).to.deep.equal([{ offset: 0, length: 1480, more: false }]);
  });

  it('splits 3008 bytes at MTU 1500 the way Linux split ping -s 3000', () => {
    expect(planFragments(3008, 1500).map((f) => [f.offset, f.length, f.more])).to.deep.equal([
      [0, 1480, true],
      [1480, 1480, true],
      [2960, 48, false],
    ]);
  });

  it('emits fragment headers that Linux would have sent (the ping -s 3000 fragments)', () => {
    const frags = LinuxFrame.bigEchoFragments.map((i) => linuxIp(i));
    const first = Ipv4Packet.checked(frags[0]);
    const repr = new Ipv4Repr({ ...Ipv4Repr.parse(first), payloadLen: 3008 });
    planFragments(3008, 1500).forEach((f, i) => {
      const out = Buffer.alloc(20);
      expect(emitFragmentHeader(out, 0, repr, f)).to.equal(20);
      expect(out).to.deep.equal(frags[i].subarray(0, 20));
    });
  });
});
