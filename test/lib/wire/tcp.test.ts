import { expect } from 'chai';
import fc from 'fast-check';
import { EthernetFrame } from '../../../src/lib/wire/ethernet.js';
import { Ipv4Packet } from '../../../src/lib/wire/ipv4.js';
import { emitTcp, parseTcp, tcpHeaderLen, TcpFlags, TcpPacket, type TcpOptions, type TcpRepr } from '../../../src/lib/wire/tcp.js';
import { expectWireError, HOST_A, HOST_B, linuxFrame, LinuxFrame, onlyWireError } from './helpers.js';

const u16 = fc.nat({ max: 0xffff });
const u32 = fc.nat({ max: 0xffffffff });
const ip = u32;

const options: fc.Arbitrary<TcpOptions> = fc
  .record(
    {
      mss: u16,
      windowScale: fc.nat({ max: 14 }),
      sackPermitted: fc.constant(true),
      timestamps: fc.record({ tsVal: u32, tsEcr: u32 }),
      sack: fc.array(fc.tuple(u32, u32), { minLength: 1, maxLength: 4 }),
    },
    { requiredKeys: [] },
  )
  .map((o) => {
    // Only as many SACK blocks as fit in 40 option bytes survive emit (RFC 2018 §3).
    if (o.sack) {
      const others = (o.mss !== undefined ? 4 : 0) + (o.timestamps ? 12 : o.sackPermitted ? 4 : 0) + (o.windowScale !== undefined ? 4 : 0);
      o.sack = o.sack.slice(0, Math.floor((40 - others - 4) / 8));
      if (o.sack.length === 0) delete o.sack;
    }
    return o;
  });

const tcpRepr: fc.Arbitrary<TcpRepr> = fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.nat({ max: 255 }),
  window: u16,
  urgent: u16,
  options,
  payload: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
});

function linuxTcp(i: number): Buffer {
  return Ipv4Packet.checked(EthernetFrame.checked(linuxFrame(i)).payload).payload;
}

/** A segment with the given raw option bytes (padded by the caller) and a valid checksum. */
function withRawOptions(opts: number[]): Buffer {
  const buf = Buffer.alloc(20 + opts.length);
  emitTcp({ srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: TcpFlags.SYN, window: 5, urgent: 0, options: {}, payload: Buffer.alloc(0) }, buf, 0, 1, 2);
  Buffer.from(opts).copy(buf, 20);
  buf[12] = ((20 + opts.length) / 4) << 4;
  buf.writeUInt16BE(0, 16);
  let s = 1 + 2 + 6 + buf.length; // pseudo-header of 0.0.0.1 -> 0.0.0.2
  for (let i = 0; i < buf.length; i += 2) s += buf.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  buf.writeUInt16BE(~s & 0xffff, 16);
  return buf;
}

describe('TCP segments (RFC 9293 §3.1)', () => {
  it('round-trips: parse(emit(x)) equals x, options and payload included', () => {
    fc.assert(
      fc.property(tcpRepr, ip, ip, fc.nat({ max: 6 }), (r, src, dst, off) => {
        const len = tcpHeaderLen(r.options) + r.payload.length;
        const buf = Buffer.alloc(off + len);
        expect(emitTcp(r, buf, off, src, dst)).to.equal(len);
        expect(tcpHeaderLen(r.options) % 4).to.equal(0);
        expect(tcpHeaderLen(r.options)).to.be.at.most(60);
        expect(parseTcp(TcpPacket.checked(buf.subarray(off), src, dst))).to.deep.equal(r);
      }),
    );
  });

  it('reads the SYN Linux sends: MSS 1460, SACK-permitted, timestamps, window scale', () => {
    const p = TcpPacket.checked(linuxTcp(LinuxFrame.tcpSyn), HOST_A, HOST_B);
    const r = parseTcp(p);
    expect(r.flags).to.equal(TcpFlags.SYN);
    expect(r.srcPort).to.equal(40001);
    expect(r.dstPort).to.equal(8080);
    expect(r.window).to.equal(64240);
    expect(p.headerLen).to.equal(40);
    expect(r.options.mss).to.equal(1460);
    expect(r.options.sackPermitted).to.equal(true);
    expect(r.options.windowScale).to.be.within(0, 14);
    expect(r.options.timestamps?.tsEcr).to.equal(0);
    expect(r.options.sack).to.equal(undefined);
    expect(r.payload.length).to.equal(0);
  });

  it('re-emits the Linux SYN and SYN-ACK byte for byte (same option order)', () => {
    for (const [i, src, dst] of [[LinuxFrame.tcpSyn, HOST_A, HOST_B], [LinuxFrame.tcpSynAck, HOST_B, HOST_A]]) {
      const seg = linuxTcp(i);
      const r = parseTcp(TcpPacket.checked(seg, src, dst));
      const out = Buffer.alloc(seg.length);
      expect(emitTcp(r, out, 0, src, dst)).to.equal(seg.length);
      expect(out).to.deep.equal(seg);
    }
  });

  it('reads the SYN-ACK as the answer to the SYN', () => {
    const syn = parseTcp(TcpPacket.checked(linuxTcp(LinuxFrame.tcpSyn), HOST_A, HOST_B));
    const synAck = parseTcp(TcpPacket.checked(linuxTcp(LinuxFrame.tcpSynAck), HOST_B, HOST_A));
    expect(synAck.flags).to.equal(TcpFlags.SYN | TcpFlags.ACK);
    expect(synAck.ack).to.equal((syn.seq + 1) >>> 0);
    expect(synAck.options.timestamps?.tsEcr).to.equal(syn.options.timestamps?.tsVal);
  });

  it('reads a data segment and re-emits it byte for byte (NOP NOP timestamps)', () => {
    const seg = linuxTcp(LinuxFrame.tcpData);
    const r = parseTcp(TcpPacket.checked(seg, HOST_A, HOST_B));
    expect(r.payload.toString()).to.equal('hello hnet tcp\n');
    expect(r.options).to.have.keys(['timestamps']);
    const out = Buffer.alloc(seg.length);
    emitTcp(r, out, 0, HOST_A, HOST_B);
    expect(out).to.deep.equal(seg);
  });

  it('does not copy a payload that already sits after the header', () => {
    const buf = Buffer.alloc(20 + 12 + 5);
    const payload = buf.subarray(32);
    payload.write('hello');
    const r: TcpRepr = { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: TcpFlags.ACK, window: 9, urgent: 0, options: { timestamps: { tsVal: 1, tsEcr: 2 } }, payload };
    expect(emitTcp(r, buf, 0, 1, 2)).to.equal(37);
    expect(parseTcp(TcpPacket.checked(buf, 1, 2)).payload.toString()).to.equal('hello');
  });

  it('skips unknown options by their length and stops at EOL', () => {
    // kind 30 (MPTCP) len 4, NOP, MSS, EOL, then garbage that must be ignored.
    const r = parseTcp(TcpPacket.checked(withRawOptions([30, 4, 0, 0, 1, 2, 4, 5, 0xb4, 0, 3, 3, 7, 0, 0, 0]), 1, 2));
    expect(r.options).to.deep.equal({ mss: 1460 });
  });

  it('clamps a window scale above 14 to 14 (RFC 7323 §2.3)', () => {
    const r = parseTcp(TcpPacket.checked(withRawOptions([1, 3, 3, 20]), 1, 2));
    expect(r.options.windowScale).to.equal(14);
  });

  it('rejects malformed option lengths', () => {
    expectWireError(() => parseTcp(TcpPacket.checked(withRawOptions([2, 1, 0, 0]), 1, 2)), 'tcp_bad_option');
    expectWireError(() => parseTcp(TcpPacket.checked(withRawOptions([1, 1, 8, 10]), 1, 2)), 'tcp_bad_option');
    expectWireError(() => parseTcp(TcpPacket.checked(withRawOptions([1, 1, 1, 30]), 1, 2)), 'tcp_bad_option');
  });

  it('rejects a truncated segment, a data offset below 5, and a bad checksum', () => {
    const seg = linuxTcp(LinuxFrame.tcpSyn);
    for (let n = 0; n < 20; n++) expectWireError(() => TcpPacket.checked(seg.subarray(0, n), HOST_A, HOST_B), 'tcp_truncated');
    for (let n = 20; n < 40; n++) expectWireError(() => TcpPacket.checked(seg.subarray(0, n), HOST_A, HOST_B), 'tcp_truncated');
    const low = Buffer.from(seg);
    low[12] = 0x40;
    expectWireError(() => TcpPacket.checked(low, HOST_A, HOST_B), 'tcp_bad_header_len');
    expectWireError(() => TcpPacket.checked(seg, HOST_B, HOST_A + 1), 'tcp_bad_checksum');
  });

  it('throws nothing but WireError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 80 }), (a) => {
        // Give the bytes a valid checksum so option parsing gets exercised.
        const buf = Buffer.from(a.length % 2 ? [...a, 0] : a);
        buf.writeUInt16BE(0, 16);
        let s = 1 + 2 + 6 + buf.length;
        for (let i = 0; i < buf.length; i += 2) s += buf.readUInt16BE(i);
        while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
        buf.writeUInt16BE(~s & 0xffff, 16);
        onlyWireError(() => parseTcp(TcpPacket.checked(buf, 1, 2)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('TCP emit with the payload in pieces (payloadRest)', () => {
  const base: TcpRepr = { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: TcpFlags.ACK, window: 5, urgent: 0, options: {}, payload: Buffer.from('abc') };
  const split = { ...base, payload: Buffer.from('ab'), payloadRest: [Buffer.from(''), Buffer.from('c')] };

  it('writes the pieces in order: the same segment as one payload', () => {
    const one = Buffer.alloc(40);
    const pieces = Buffer.alloc(40);
    expect(emitTcp(split, pieces, 0, HOST_A, HOST_B)).to.equal(emitTcp(base, one, 0, HOST_A, HOST_B));
    expect(pieces.equals(one)).to.equal(true);
    TcpPacket.checked(pieces.subarray(0, 23), HOST_A, HOST_B);
  });

  it('headerOnly: writes the header, with the partial checksum of the whole segment, and leaves the payload out', () => {
    const whole = Buffer.alloc(40);
    const head = Buffer.alloc(40, 0xee);
    expect(emitTcp(split, head, 0, HOST_A, HOST_B, true, true), 'the segment length').to.equal(23);
    emitTcp(base, whole, 0, HOST_A, HOST_B, true);
    expect(head.subarray(0, 20).equals(whole.subarray(0, 20))).to.equal(true);
    expect(head.subarray(20, 23).equals(Buffer.alloc(3, 0xee)), 'payload bytes untouched').to.equal(true);
    expect(() => emitTcp(split, head, 0, HOST_A, HOST_B, false, true)).to.throw(RangeError);
  });
});
