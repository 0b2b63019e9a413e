import { expect } from 'chai';
import fc from 'fast-check';
import { EthernetFrame } from '../../../src/lib/wire/ethernet.js';
import { Ipv4Packet } from '../../../src/lib/wire/ipv4.js';
import { UDP_HEADER_LEN, UdpPacket, UdpRepr } from '../../../src/lib/wire/udp.js';
import { expectWireError, HOST_A, HOST_B, linuxFrame, LinuxFrame, onlyWireError } from './helpers.js';

const u16 = fc.nat({ max: 0xffff });
const ip = fc.nat({ max: 0xffffffff });

function linuxUdp(i: number): Buffer {
  return Ipv4Packet.checked(EthernetFrame.checked(linuxFrame(i)).payload).payload;
}

describe('UDP (RFC 768)', () => {
  it('round-trips: parse(emit(x)) equals x, payload included', () => {
    fc.assert(
      fc.property(u16, u16, ip, ip, fc.uint8Array({ maxLength: 300 }), (sp, dp, src, dst, payload) => {
        const buf = Buffer.alloc(UDP_HEADER_LEN + payload.length);
        Buffer.from(payload).copy(buf, UDP_HEADER_LEN);
        const r = new UdpRepr(sp, dp);
        expect(r.emit(buf, 0, src, dst, payload.length)).to.equal(8 + payload.length);
        const p = UdpPacket.checked(buf, src, dst);
        expect(UdpRepr.parse(p)).to.deep.equal(r);
        expect(p.payload).to.deep.equal(Buffer.from(payload));
        expect(p.checksum).to.not.equal(0); // zero goes out as 0xffff
      }),
    );
  });

  it('reads the datagram Linux sent and reproduces its checksum', () => {
    const udp = linuxUdp(LinuxFrame.udpHello);
    const p = UdpPacket.checked(udp, HOST_A, HOST_B);
    expect(p.srcPort).to.equal(40000);
    expect(p.dstPort).to.equal(5353);
    expect(p.payload.toString()).to.equal('hello hnet udp\n');
    const out = Buffer.from(udp);
    out.fill(0, 0, 8);
    UdpRepr.parse(p).emit(out, 0, HOST_A, HOST_B, p.payload.length);
    expect(out).to.deep.equal(udp);
  });

  it('rejects a checksum computed for other addresses (the pseudo-header counts)', () => {
    expectWireError(() => UdpPacket.checked(linuxUdp(LinuxFrame.udpHello), HOST_A, HOST_A), 'udp_bad_checksum');
  });

  it('accepts a zero checksum as "none computed"', () => {
    const udp = Buffer.from(linuxUdp(LinuxFrame.udpHello));
    udp.writeUInt16BE(0, 6);
    expect(UdpPacket.checked(udp, 1, 2).dstPort).to.equal(5353);
  });

  it('sends a computed checksum of zero as 0xffff', () => {
    // Choose the payload so that the sum of everything else is 0xffff: the field would then be 0.
    const buf = Buffer.alloc(10);
    const r = new UdpRepr(0, 0);
    r.emit(buf, 0, 0, 0, 2);
    const c = buf.readUInt16BE(6); // checksum with payload 0000
    buf.writeUInt16BE(c, 8); // adding c as data makes the sum 0xffff, so the checksum computes to 0
    r.emit(buf, 0, 0, 0, 2);
    expect(buf.readUInt16BE(6)).to.equal(0xffff);
    expect(UdpPacket.checked(buf, 0, 0).payload.readUInt16BE(0)).to.equal(c);
  });

  it('rejects a truncated datagram and a length field below 8', () => {
    const udp = linuxUdp(LinuxFrame.udpHello);
    for (let n = 0; n < 8; n++) expectWireError(() => UdpPacket.checked(udp.subarray(0, n), HOST_A, HOST_B), 'udp_truncated');
    for (let n = 8; n < udp.length; n++) expectWireError(() => UdpPacket.checked(udp.subarray(0, n), HOST_A, HOST_B), 'udp_truncated');
    const short = Buffer.from(udp);
    short.writeUInt16BE(7, 4);
    expectWireError(() => UdpPacket.checked(short, HOST_A, HOST_B), 'udp_bad_length');
  });

  it('takes exactly length - 8 payload bytes, ignoring what follows', () => {
    const udp = Buffer.concat([linuxUdp(LinuxFrame.udpHello), Buffer.from('trailing')]);
    expect(UdpPacket.checked(udp, HOST_A, HOST_B).payload.toString()).to.equal('hello hnet udp\n');
  });

  it('throws nothing but WireError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), ip, ip, fc.boolean(), (a, src, dst, zeroSum) => {
        const buf = Buffer.from(a);
        if (zeroSum && buf.length >= 8) buf.writeUInt16BE(0, 6);
        onlyWireError(() => UdpRepr.parse(UdpPacket.checked(buf, src, dst)));
      }),
    );
  });
});
