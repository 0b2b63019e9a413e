import { expect } from 'chai';
import fc from 'fast-check';
import { EthernetFrame } from '../../../src/lib/wire/ethernet.js';
import {
  emitIcmpv4,
  ICMPV4_MAX_QUOTE,
  icmpQuote,
  Icmpv4Packet,
  Icmpv4Repr,
  Icmpv4Type,
  icmpv4Len,
  parseIcmpv4,
} from '../../../src/lib/wire/icmpv4.js';
import { Ipv4Packet } from '../../../src/lib/wire/ipv4.js';
import { UdpPacket } from '../../../src/lib/wire/udp.js';
import { expectWireError, HOST_A, HOST_B, linuxFrame, LinuxFrame, onlyWireError } from './helpers.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const u16 = fc.nat({ max: 0xffff });
const icmpRepr: fc.Arbitrary<Icmpv4Repr> = fc.oneof(
  fc.record({ kind: fc.constantFrom('echoRequest' as const, 'echoReply' as const), ident: u16, seqNo: u16, data: bytes(100) }),
  fc.record({ kind: fc.constant('dstUnreachable' as const), code: fc.nat({ max: 255 }).filter((c) => c !== 4), original: bytes(60) }),
  fc.record({ kind: fc.constant('dstUnreachable' as const), code: fc.constant(4), nextHopMtu: u16, original: bytes(60) }),
  fc.record({ kind: fc.constant('timeExceeded' as const), code: fc.nat({ max: 255 }), original: bytes(60) }),
  fc.record({
    kind: fc.constant('other' as const),
    type: fc.nat({ max: 255 }).filter((t) => ![0, 3, 8, 11].includes(t)),
    code: fc.nat({ max: 255 }),
    raw: bytes(60).map((b) => Buffer.concat([Buffer.alloc(4, 0xab), b])),
  }),
);

function linuxIcmp(i: number): Buffer {
  return Ipv4Packet.checked(EthernetFrame.checked(linuxFrame(i)).payload).payload;
}

describe('ICMPv4 (RFC 792)', () => {
  it('round-trips every kind: parse(emit(x)) equals x', () => {
    fc.assert(
      fc.property(icmpRepr, fc.nat({ max: 5 }), (r, off) => {
        const buf = Buffer.alloc(off + icmpv4Len(r));
        expect(emitIcmpv4(r, buf, off)).to.equal(icmpv4Len(r));
        expect(parseIcmpv4(Icmpv4Packet.checked(buf.subarray(off)))).to.deep.equal(r);
      }),
    );
  });

  it('reads the echo request and reply Linux exchanged', () => {
    const req = parseIcmpv4(Icmpv4Packet.checked(linuxIcmp(LinuxFrame.echoRequest)));
    const rep = parseIcmpv4(Icmpv4Packet.checked(linuxIcmp(LinuxFrame.echoReply)));
    expect(req.kind).to.equal('echoRequest');
    expect(rep.kind).to.equal('echoReply');
    if (req.kind !== 'echoRequest' || rep.kind !== 'echoReply') return;
    expect(req.seqNo).to.equal(1);
    expect(rep.ident).to.equal(req.ident);
    expect(rep.data).to.deep.equal(req.data);
    expect(req.data.length).to.equal(56);
  });

  it('answers an echo request with the reply Linux sent, byte for byte', () => {
    const req = parseIcmpv4(Icmpv4Packet.checked(linuxIcmp(LinuxFrame.echoRequest)));
    if (req.kind !== 'echoRequest') throw new Error('not an echo request');
    const out = Buffer.alloc(icmpv4Len(req));
    Icmpv4Repr.emit({ ...req, kind: 'echoReply' }, out, 0);
    expect(out).to.deep.equal(linuxIcmp(LinuxFrame.echoReply));
  });

  it('reads the port unreachable Linux sent, quoting the offending datagram', () => {
    const icmp = Icmpv4Packet.checked(linuxIcmp(LinuxFrame.icmpPortUnreachable));
    expect(icmp.type).to.equal(Icmpv4Type.DstUnreachable);
    const r = parseIcmpv4(icmp);
    if (r.kind !== 'dstUnreachable') throw new Error('not unreachable');
    expect(r.code).to.equal(3);
    expect(r.nextHopMtu).to.equal(undefined);
    const sent = EthernetFrame.checked(linuxFrame(LinuxFrame.udpToClosedPort)).payload;
    expect(r.original).to.deep.equal(sent);
    const quoted = Ipv4Packet.checked(r.original);
    expect(UdpPacket.checked(quoted.payload, HOST_A, HOST_B).dstPort).to.equal(9);
  });

  it('emits the port unreachable Linux sent from a quote of the datagram', () => {
    const sent = EthernetFrame.checked(linuxFrame(LinuxFrame.udpToClosedPort)).payload;
    const r: Icmpv4Repr = { kind: 'dstUnreachable', code: 3, original: icmpQuote(sent) };
    const out = Buffer.alloc(icmpv4Len(r));
    emitIcmpv4(r, out, 0);
    expect(out).to.deep.equal(linuxIcmp(LinuxFrame.icmpPortUnreachable));
  });

  it('quotes at most what fits a 576-byte error (RFC 1812 §4.3.2.3)', () => {
    expect(icmpQuote(Buffer.alloc(1500)).length).to.equal(ICMPV4_MAX_QUOTE);
    expect(ICMPV4_MAX_QUOTE + 28).to.equal(576);
    expect(icmpQuote(Buffer.alloc(40)).length).to.equal(40);
  });

  it('parses an unknown type without throwing', () => {
    const buf = Buffer.alloc(12);
    emitIcmpv4({ kind: 'other', type: 13, code: 0, raw: Buffer.alloc(8, 1) }, buf, 0);
    const r = parseIcmpv4(Icmpv4Packet.checked(buf));
    expect(r).to.deep.include({ kind: 'other', type: 13, code: 0 });
  });

  it('rejects a truncated message and a bad checksum', () => {
    const m = linuxIcmp(LinuxFrame.echoRequest);
    for (let n = 0; n < 8; n++) expectWireError(() => Icmpv4Packet.checked(m.subarray(0, n)), 'icmpv4_truncated');
    expectWireError(() => Icmpv4Packet.checked(m.subarray(0, 20)), 'icmpv4_bad_checksum');
    const bad = Buffer.from(m);
    bad[bad.length - 1] ^= 0x40;
    expectWireError(() => Icmpv4Packet.checked(bad), 'icmpv4_bad_checksum');
  });

  it('throws nothing but WireError on random bytes', () => {
    fc.assert(
      fc.property(bytes(64), fc.boolean(), (buf, fixSum) => {
        if (fixSum && buf.length >= 8) {
          // Make the checksum right so parsing gets exercised too.
          buf.writeUInt16BE(0, 2);
          let s = 0;
          for (let i = 0; i < buf.length; i += 2) s += (buf[i] << 8) | (buf[i + 1] ?? 0);
          while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
          buf.writeUInt16BE(~s & 0xffff, 2);
        }
        onlyWireError(() => parseIcmpv4(Icmpv4Packet.checked(buf)));
      }),
    );
  });
});
