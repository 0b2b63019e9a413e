/**
 * Receive offload through the interface: a tap with IFF_VNET_HDR + TSO4 hands
 * the stack TCP super-segments (IPv4 total length up to 65535, RFC 791) larger
 * than the link MTU, whose partial checksum (virtio NEEDS_CSUM) the link has
 * completed. The interface takes them whole: one verified segment, all bytes.
 * Send side: a TCP segment over the MTU with a gsoSize goes out whole only to
 * a port that takes super-segments (GuestPort.tso); anywhere else DF holds.
 * A TSO port also gets TCP checksums left partial (the link says NEEDS_CSUM);
 * completing one gives the checksum a full computation gives.
 */
import { expect } from 'chai';
import { Counters } from '../../../src/lib/counters.js';
import { Interface, type GuestPort, type GuestTcp } from '../../../src/lib/iface/interface.js';
import { buildStackConfig } from '../../../src/lib/iface/config.js';
import { parseIpv4, parseMac } from '../../../src/lib/wire/addr.js';
import { EtherType, emitEthernetHeader } from '../../../src/lib/wire/ethernet.js';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../../src/lib/wire/ipv4.js';
import { emitTcp, TcpFlags, TcpPacket, parseTcp } from '../../../src/lib/wire/tcp.js';
import { pseudoHeaderSum } from '../../../src/lib/wire/checksum.js';
import { completeChecksum } from '../../../src/lib/phy/vnet-hdr.js';

const GUEST_MAC = parseMac('52:54:00:12:34:56')!;
const GW_MAC = parseMac('02:68:6e:65:74:01')!;
const GUEST = parseIpv4('192.168.65.2')!;
const HOST = parseIpv4('192.168.65.254')!;

const port: GuestPort = { id: 'fake:1', send: () => undefined };

/** A guest TSO super-segment as the tap delivers it: checksum field = pseudo-header sum (NEEDS_CSUM). */
function superSegment(payload: Buffer): Buffer {
  const tcpLen = 20 + payload.length;
  const buf = Buffer.alloc(14 + 20 + tcpLen);
  emitEthernetHeader(buf, 0, GW_MAC, GUEST_MAC, EtherType.IPv4);
  new Ipv4Repr({ src: GUEST, dst: HOST, protocol: IpProtocol.TCP, payloadLen: tcpLen, id: 9, dontFragment: true }).emit(buf, 14);
  emitTcp({ srcPort: 40000, dstPort: 5201, seq: 1000, ack: 1, flags: TcpFlags.ACK, window: 512, urgent: 0, options: {}, payload }, buf, 34, GUEST, HOST);
  let s = pseudoHeaderSum(GUEST, HOST, IpProtocol.TCP, tcpLen);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  buf.writeUInt16BE(s, 34 + 16);
  return buf;
}

describe('interface: TSO super-segments from an offloading link', () => {
  const payload = Buffer.alloc(65535 - 40);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) & 0xff;

  it('takes a 64 KiB segment at MTU 1500 once the link completed its NEEDS_CSUM checksum', () => {
    const iface = new Interface(buildStackConfig({ mtu: 1500 }), new Counters());
    const got: GuestTcp[] = [];
    iface.handlers.tcp = (_now, t) => got.push({ ...t, seg: { ...t.seg, payload: Buffer.from(t.seg.payload) } });
    const frame = superSegment(payload);
    expect(completeChecksum(frame, 34, 16)).to.equal(true);
    iface.receive(port, frame, 0);
    expect(got).to.have.length(1);
    expect(got[0].seg.seq).to.equal(1000);
    expect(got[0].seg.payload.equals(payload)).to.equal(true);
  });

  it('does not sum again a segment whose checksum the link computed itself (Link.rxChecksumValid)', () => {
    const counters = new Counters();
    const iface = new Interface(buildStackConfig({ mtu: 1500 }), counters);
    let n = 0;
    iface.handlers.tcp = () => n++;
    // Left partial on purpose: were it summed, it would be dropped (next test).
    iface.receive(port, superSegment(payload), 0, true);
    expect(n).to.equal(1);
    iface.receive(port, superSegment(payload), 0);
    expect(n, 'the flag holds for one frame only').to.equal(1);
  });

  it('drops the same segment with its checksum left partial (tcp_bad_checksum)', () => {
    const counters = new Counters();
    const iface = new Interface(buildStackConfig({ mtu: 1500 }), counters);
    let n = 0;
    iface.handlers.tcp = () => n++;
    iface.receive(port, superSegment(payload), 0);
    expect(n).to.equal(0);
    expect(counters.snapshot()['drop.tcp_bad_checksum']).to.equal(1);
  });
});

describe('interface: TCP super-segments toward a guest', () => {
  class Port implements GuestPort {
    readonly id = 'fake:2';
    sent: Array<{ frame: Buffer; gsoSize?: number; partialCsum?: boolean }> = [];
    constructor(readonly tso: boolean) {}
    /** Records what the guest would see: a partial checksum completed as its kernel would. */
    send(frame: Buffer, gsoSize?: number, partialCsum?: boolean): void {
      const copy = Buffer.from(frame);
      if (partialCsum) completeChecksum(copy, 34, 16);
      this.sent.push({ frame: copy, gsoSize: gsoSize || undefined, partialCsum });
    }
  }

  function setup(tso: boolean) {
    const counters = new Counters();
    const iface = new Interface(buildStackConfig({ mtu: 1500 }), counters);
    const p = new Port(tso);
    iface.attach(p);
    iface.receive(p, hello(), 0);
    return { counters, iface, p };
  }

  /** The guest announces itself: a frame from it teaches the neighbor table its MAC and port. */
  function hello(): Buffer {
    const frame = superSegment(Buffer.alloc(10));
    completeChecksum(frame, 34, 16);
    return frame;
  }

  const data = Buffer.alloc(20 * 1448, 0x5a);
  const repr = { srcPort: 5201, dstPort: 40000, seq: 77, ack: 1, flags: TcpFlags.ACK, window: 512, urgent: 0, options: {}, payload: data };

  it('sends a segment over the MTU whole, with its gso size, to a TSO port', () => {
    const { iface, p } = setup(true);
    expect(iface.tsoFor(GUEST)).to.equal(true);
    iface.sendTcp(HOST, GUEST, repr, 1448);
    expect(p.sent).to.have.length(1);
    expect(p.sent[0].gsoSize).to.equal(1448);
    const ip = Ipv4Packet.checked(p.sent[0].frame.subarray(14));
    expect(ip.dontFragment).to.equal(true);
    const tcp = parseTcp(TcpPacket.checked(ip.payload, HOST, GUEST));
    expect(tcp.payload.equals(data)).to.equal(true);
  });

  it('sends MTU-sized segments without a gso size', () => {
    const { iface, p } = setup(true);
    iface.sendTcp(HOST, GUEST, { ...repr, payload: data.subarray(0, 1448) }, 1448);
    expect(p.sent).to.have.length(1);
    expect(p.sent[0].gsoSize).to.equal(undefined);
  });

  it('leaves the checksum partial toward a TSO port, full toward any other', () => {
    const small = { ...repr, payload: data.subarray(0, 1000) };
    const tso = setup(true);
    tso.iface.sendTcp(HOST, GUEST, small);
    expect(tso.p.sent[0].partialCsum).to.equal(true);
    const plain = setup(false);
    plain.iface.sendTcp(HOST, GUEST, small);
    expect(plain.p.sent[0].partialCsum).to.not.equal(true);
    // Completed by the guest, the TSO frame is byte for byte the one sent with a full checksum.
    expect(tso.p.sent[0].frame.subarray(14 + 20).equals(plain.p.sent[0].frame.subarray(14 + 20))).to.equal(true);
    TcpPacket.checked(plain.p.sent[0].frame.subarray(34), HOST, GUEST);
  });

  describe('to a port that takes the payload as views (GuestPort.sendv)', () => {
    class ZeroCopyPort extends Port {
      gathered: Array<{ head: Buffer; tail: readonly Buffer[]; gsoSize: number }> = [];
      sendv(head: Buffer, tail: readonly Buffer[], gsoSize: number, partialCsum: boolean): void {
        this.gathered.push({ head: Buffer.from(head), tail, gsoSize });
        this.send(Buffer.concat([head, ...tail]), gsoSize, partialCsum);
      }
    }
    const zeroCopy = () => {
      const { iface } = setup(true);
      const z = new ZeroCopyPort(true);
      iface.attach(z);
      iface.receive(z, hello(), 0);
      return { iface, z };
    };

    it('writes only the headers, then the payload views themselves, and the guest gets the same frame', () => {
      const { iface, z } = zeroCopy();
      const a = data.subarray(0, 10_000);
      const b = data.subarray(10_000);
      iface.sendTcp(HOST, GUEST, { ...repr, payload: a, payloadRest: [b] }, 1448);
      expect(z.gathered).to.have.length(1);
      expect(z.gathered[0].head.length, 'Ethernet, IPv4 and TCP headers').to.equal(14 + 20 + 20);
      expect(z.gathered[0].tail[0]).to.equal(a);
      expect(z.gathered[0].tail[1]).to.equal(b);
      expect(z.gathered[0].gsoSize).to.equal(1448);
      const reference = setup(true);
      reference.iface.sendTcp(HOST, GUEST, repr, 1448);
      expect(z.sent[0].frame.subarray(14).equals(reference.p.sent[0].frame.subarray(14)), 'byte for byte the copied frame').to.equal(true);
    });

    it('copies a small segment into one frame instead', () => {
      const { iface, z } = zeroCopy();
      iface.sendTcp(HOST, GUEST, { ...repr, payload: data.subarray(0, 100) });
      expect(z.gathered).to.have.length(0);
      expect(z.sent).to.have.length(1);
    });
  });

  it('drops it (DF) toward a port without TSO', () => {
    const { iface, p, counters } = setup(false);
    expect(iface.tsoFor(GUEST)).to.equal(false);
    iface.sendTcp(HOST, GUEST, repr, 1448);
    expect(p.sent).to.have.length(0);
    expect(counters.get('drop.tx_too_big_df')).to.equal(1);
  });
});
