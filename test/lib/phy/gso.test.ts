/**
 * Software TCP segmentation (gso.ts): a TSO super-segment forwarded to a link
 * without TSO leaves as MTU-sized frames, each a valid IPv4 datagram (RFC 791
 * header checksum, own total length and id) carrying a valid TCP segment
 * (RFC 9293 checksum, consecutive sequence numbers, FIN/PSH on the last only).
 */
import { expect } from 'chai';
import { segmentTcpFrame } from '../../../src/lib/phy/gso.js';
import { EtherType, emitEthernetHeader } from '../../../src/lib/wire/ethernet.js';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../../src/lib/wire/ipv4.js';
import { TcpFlags, TcpPacket, emitTcp, parseTcp } from '../../../src/lib/wire/tcp.js';
import { parseMac } from '../../../src/lib/wire/addr.js';
import { MemoryLink } from './memory-link.js';

const A = 0xc0a84102;
const B = 0xc0a84103;
const MAC = parseMac('52:54:00:00:00:01')!;

function superFrame(payload: Buffer, flags: number, tsOption = false): Buffer {
  const hdr = 20 + (tsOption ? 12 : 0);
  const buf = Buffer.alloc(14 + 20 + hdr + payload.length);
  emitEthernetHeader(buf, 0, MAC, MAC, EtherType.IPv4);
  new Ipv4Repr({ src: A, dst: B, protocol: IpProtocol.TCP, payloadLen: hdr + payload.length, id: 0xfffe, dontFragment: true }).emit(buf, 14);
  const options = tsOption ? { timestamps: { tsVal: 5, tsEcr: 6 } } : {};
  emitTcp({ srcPort: 1, dstPort: 2, seq: 0xfffff000, ack: 9, flags, window: 100, urgent: 0, options, payload }, buf, 34, A, B);
  return buf;
}

function check(pieces: Buffer[], payload: Buffer, mtu: number, flags: number): void {
  let seq = 0xfffff000;
  const data: Buffer[] = [];
  pieces.forEach((p, i) => {
    expect(p.length).to.be.at.most(mtu + 14);
    const ip = Ipv4Packet.checked(p.subarray(14));
    expect(ip.id).to.equal((0xfffe + i) & 0xffff);
    const tcp = parseTcp(TcpPacket.checked(ip.payload, A, B));
    expect(tcp.seq).to.equal(seq);
    seq = (seq + tcp.payload.length) >>> 0;
    const last = i === pieces.length - 1;
    expect((tcp.flags & TcpFlags.FIN) !== 0, `FIN on piece ${i}`).to.equal(last && (flags & TcpFlags.FIN) !== 0);
    expect((tcp.flags & TcpFlags.PSH) !== 0, `PSH on piece ${i}`).to.equal(last && (flags & TcpFlags.PSH) !== 0);
    expect(tcp.flags & TcpFlags.ACK).to.equal(TcpFlags.ACK);
    data.push(tcp.payload);
  });
  expect(Buffer.concat(data).equals(payload)).to.equal(true);
}

describe('software TCP segmentation of super-segments (gso.ts)', () => {
  const payload = Buffer.alloc(5000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 13) & 0xff;

  it('cuts 5000 bytes at MTU 1500 into 1460-byte pieces with headers and checksums redone', () => {
    const out: Buffer[] = [];
    const flags = TcpFlags.ACK | TcpFlags.PSH | TcpFlags.FIN;
    expect(segmentTcpFrame(superFrame(payload, flags), 1500, (p) => out.push(p))).to.equal(true);
    expect(out.map((p) => p.length - 54)).to.deep.equal([1460, 1460, 1460, 620]);
    check(out, payload, 1500, flags);
  });

  it('keeps TCP options in every piece and counts them against the MTU', () => {
    const out: Buffer[] = [];
    expect(segmentTcpFrame(superFrame(payload, TcpFlags.ACK, true), 1500, (p) => out.push(p))).to.equal(true);
    expect(out[0].length).to.equal(1514);
    for (const p of out) expect(parseTcp(TcpPacket.checked(p.subarray(34), A, B)).options.timestamps).to.deep.equal({ tsVal: 5, tsEcr: 6 });
    check(out, payload, 1500, TcpFlags.ACK);
  });

  it('refuses what is not TCP over IPv4', () => {
    const f = superFrame(payload, TcpFlags.ACK);
    f[14 + 9] = IpProtocol.UDP;
    expect(segmentTcpFrame(f, 1500, () => expect.fail('emitted'))).to.equal(false);
    expect(segmentTcpFrame(Buffer.alloc(3000), 1500, () => expect.fail('emitted'))).to.equal(false);
  });

  it('a link without TSO sends a forwarded super-segment as MTU-sized frames', () => {
    const link = new MemoryLink(1500);
    link.send(superFrame(payload, TcpFlags.ACK));
    expect(link.sent).to.have.length(4);
    check(link.sent, payload, 1500, TcpFlags.ACK);
    expect(link.stats.drops).to.deep.equal({});
  });
});
