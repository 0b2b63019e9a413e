import { expect } from 'chai';
import fc from 'fast-check';
import { Counters } from '../../../src/lib/counters.js';
import { Interface, type GuestPort, type GuestUdp } from '../../../src/lib/iface/interface.js';
import { buildStackConfig } from '../../../src/lib/iface/config.js';
import { parseIpv4, parseMac, BROADCAST_MAC } from '../../../src/lib/wire/addr.js';
import { EthernetFrame, EtherType, emitEthernetHeader } from '../../../src/lib/wire/ethernet.js';
import { ArpOperation, ArpPacket, ArpRepr } from '../../../src/lib/wire/arp.js';
import { IpProtocol, Ipv4Packet, Ipv4Repr, emitFragmentHeader, planFragments } from '../../../src/lib/wire/ipv4.js';
import { Icmpv4Packet, emitIcmpv4, parseIcmpv4 } from '../../../src/lib/wire/icmpv4.js';
import { UdpRepr, UdpPacket } from '../../../src/lib/wire/udp.js';

const GUEST_MAC = parseMac('52:54:00:12:34:56')!;
const GUEST = parseIpv4('192.168.65.2')!;
const GATEWAY = parseIpv4('192.168.65.1')!;
const HOST = parseIpv4('192.168.65.254')!;

class FakePort implements GuestPort {
  readonly id = 'fake:1';
  sent: Buffer[] = [];
  send(frame: Buffer): void {
    this.sent.push(Buffer.from(frame));
  }
}

function setup(opts: { hostLoopback?: boolean; mtu?: number } = {}) {
  const counters = new Counters();
  const iface = new Interface(buildStackConfig({ hostLoopback: opts.hostLoopback, mtu: opts.mtu }), counters);
  const port = new FakePort();
  iface.attach(port);
  return { counters, iface, port };
}

function arpRequest(target: number): Buffer {
  const buf = Buffer.alloc(42);
  emitEthernetHeader(buf, 0, BROADCAST_MAC, GUEST_MAC, EtherType.ARP);
  new ArpRepr({ operation: ArpOperation.Request, senderMac: GUEST_MAC, senderIp: GUEST, targetMac: Buffer.alloc(6), targetIp: target }).emit(buf, 14);
  return buf;
}

function ipv4Frame(dst: number, protocol: number, payload: Buffer, ttl = 64): Buffer {
  const buf = Buffer.alloc(14 + 20 + payload.length);
  emitEthernetHeader(buf, 0, parseMac('02:68:6e:65:74:01')!, GUEST_MAC, EtherType.IPv4);
  new Ipv4Repr({ src: GUEST, dst, protocol, payloadLen: payload.length, ttl, id: 7 }).emit(buf, 14);
  payload.copy(buf, 34);
  return buf;
}

function echoRequest(dst: number, seqNo: number): Buffer {
  const icmp = Buffer.alloc(8 + 16, 0x61);
  emitIcmpv4({ kind: 'echoRequest', ident: 0x1234, seqNo, data: Buffer.alloc(16, 0x61) }, icmp, 0);
  return ipv4Frame(dst, IpProtocol.ICMP, icmp);
}

function udpDatagram(dst: number, dstPort: number, data: Buffer): Buffer {
  const udp = Buffer.alloc(8 + data.length);
  data.copy(udp, 8);
  new UdpRepr(40000, dstPort).emit(udp, 0, GUEST, dst, data.length);
  return udp;
}

function parseReply(frame: Buffer) {
  const eth = EthernetFrame.checked(frame);
  const ip = Ipv4Packet.checked(eth.payload);
  return { eth, ip };
}

describe('Interface: ARP (RFC 826)', () => {
  it('answers a request for the gateway with the gateway MAC, addressed to the asker', () => {
    const { iface, port } = setup();
    iface.receive(port, arpRequest(GATEWAY), 0);
    expect(port.sent).to.have.length(1);
    const eth = EthernetFrame.checked(port.sent[0]);
    expect(eth.dst.equals(GUEST_MAC)).to.equal(true);
    const arp = ArpRepr.parse(ArpPacket.checked(eth.payload));
    expect(arp.operation).to.equal(ArpOperation.Reply);
    expect(arp.senderIp).to.equal(GATEWAY);
    expect(arp.senderMac.equals(parseMac('02:68:6e:65:74:01')!)).to.equal(true);
    expect(arp.targetIp).to.equal(GUEST);
  });

  it('answers for the host address too', () => {
    const { iface, port } = setup();
    iface.receive(port, arpRequest(HOST), 0);
    expect(ArpRepr.parse(ArpPacket.checked(EthernetFrame.checked(port.sent[0]).payload)).senderIp).to.equal(HOST);
  });

  it('stays silent for other guests and for gratuitous ARP, and counts them', () => {
    const { iface, port, counters } = setup();
    iface.receive(port, arpRequest(parseIpv4('192.168.65.9')!), 0);
    iface.receive(port, arpRequest(GUEST), 0);
    expect(port.sent).to.have.length(0);
    expect(counters.get('drop.arp_not_ours')).to.equal(1);
    expect(counters.get('arp.gratuitous')).to.equal(1);
  });

  it('learns the asker so later replies reach its MAC', () => {
    const { iface, port } = setup();
    iface.receive(port, arpRequest(GATEWAY), 0);
    expect(iface.neighbors.lookup(GUEST)?.mac.equals(GUEST_MAC)).to.equal(true);
  });
});

describe('Interface: Ethernet addressing and neighbours learned from IPv4', () => {
  const OTHER_MAC = parseMac('52:54:00:aa:bb:cc')!;
  const withMacs = (frame: Buffer, dst: Buffer | null, src: Buffer | null) => {
    if (dst) dst.copy(frame, 0);
    if (src) src.copy(frame, 6);
    return frame;
  };

  it('takes frames for the gateway MAC and broadcast, and drops frames for any other MAC as eth_not_for_us', () => {
    const { iface, port, counters } = setup();
    iface.receive(port, withMacs(echoRequest(GATEWAY, 1), OTHER_MAC, null), 0);
    expect(port.sent).to.have.length(0);
    expect(counters.get('drop.eth_not_for_us')).to.equal(1);
    iface.receive(port, withMacs(echoRequest(GATEWAY, 2), BROADCAST_MAC, null), 0);
    iface.receive(port, echoRequest(GATEWAY, 3), 0);
    expect(port.sent, 'broadcast and unicast to the gateway are answered').to.have.length(2);
  });

  it('refreshes a known neighbour on every frame and follows a guest whose MAC changes', () => {
    const { iface, port } = setup();
    iface.receive(port, echoRequest(GATEWAY, 1), 10);
    expect(iface.neighbors.lookup(GUEST)?.mac.equals(GUEST_MAC)).to.equal(true);
    iface.receive(port, echoRequest(GATEWAY, 2), 20);
    expect(iface.neighbors.lookup(GUEST)?.seenAt, 'same MAC: refreshed in place').to.equal(20);
    const moved = withMacs(echoRequest(GATEWAY, 3), null, OTHER_MAC);
    iface.receive(port, moved, 30);
    expect(iface.neighbors.lookup(GUEST)?.mac.equals(OTHER_MAC), 'new MAC learned').to.equal(true);
    moved.fill(0, 0, 12); // the table keeps its own copy, not a view of the frame
    expect(iface.neighbors.lookup(GUEST)?.mac.equals(OTHER_MAC)).to.equal(true);
    expect(EthernetFrame.checked(port.sent[2]).dst.equals(OTHER_MAC), 'the reply goes to the new MAC').to.equal(true);
  });

  it('forgets the neighbours of a port that went away', () => {
    const { iface, port } = setup();
    iface.receive(port, echoRequest(GATEWAY, 1), 10);
    expect(iface.neighbors.lookup(GUEST)?.port).to.equal(port);
    iface.detach(port);
    expect(iface.neighbors.lookup(GUEST)).to.equal(undefined);
  });
});

describe('Interface: ICMP echo (RFC 792)', () => {
  it('answers echo to the gateway with the same identifier, sequence and data', () => {
    const { iface, port } = setup();
    iface.receive(port, echoRequest(GATEWAY, 5), 0);
    const { eth, ip } = parseReply(port.sent[0]);
    expect(eth.dst.equals(GUEST_MAC)).to.equal(true);
    expect(ip.src).to.equal(GATEWAY);
    expect(ip.dst).to.equal(GUEST);
    const icmp = parseIcmpv4(Icmpv4Packet.checked(ip.payload));
    expect(icmp).to.deep.include({ kind: 'echoReply', ident: 0x1234, seqNo: 5 });
  });

  it('answers echo to the host address, unless host loopback is off (administratively prohibited)', () => {
    const on = setup();
    on.iface.receive(on.port, echoRequest(HOST, 1), 0);
    expect(parseIcmpv4(Icmpv4Packet.checked(parseReply(on.port.sent[0]).ip.payload)).kind).to.equal('echoReply');
    const off = setup({ hostLoopback: false });
    off.iface.receive(off.port, echoRequest(HOST, 1), 0);
    const icmp = parseIcmpv4(Icmpv4Packet.checked(parseReply(off.port.sent[0]).ip.payload));
    expect(icmp).to.deep.include({ kind: 'dstUnreachable', code: 13 });
  });

  it('hands echo to other addresses to the echo handler', () => {
    const { iface, port } = setup();
    const seen: number[] = [];
    iface.handlers.echo = (_now, e) => seen.push(e.dst);
    iface.receive(port, echoRequest(parseIpv4('198.18.42.2')!, 1), 0);
    expect(seen).to.deep.equal([parseIpv4('198.18.42.2')!]);
  });

  it('answers a datagram whose TTL would expire with Time Exceeded from the gateway (RFC 1812 §5.3.1)', () => {
    const { iface, port } = setup();
    const frame = ipv4Frame(parseIpv4('198.18.42.2')!, IpProtocol.UDP, udpDatagram(parseIpv4('198.18.42.2')!, 33434, Buffer.alloc(4)), 1);
    iface.receive(port, frame, 0);
    const { ip } = parseReply(port.sent[0]);
    expect(ip.src).to.equal(GATEWAY);
    expect(parseIcmpv4(Icmpv4Packet.checked(ip.payload)).kind).to.equal('timeExceeded');
  });
});

describe('Interface: UDP demux', () => {
  it('sends port unreachable for a gateway port with no service', () => {
    const { iface, port, counters } = setup();
    iface.receive(port, ipv4Frame(GATEWAY, IpProtocol.UDP, udpDatagram(GATEWAY, 9999, Buffer.from('x'))), 0);
    const icmp = parseIcmpv4(Icmpv4Packet.checked(parseReply(port.sent[0]).ip.payload));
    expect(icmp).to.deep.include({ kind: 'dstUnreachable', code: 3 });
    expect(counters.get('drop.udp_gateway_no_service')).to.equal(1);
  });

  it('passes verified datagrams for other addresses to the NAT with the payload intact', () => {
    const { iface, port } = setup();
    const got: GuestUdp[] = [];
    iface.handlers.udp = (_now, d) => got.push({ ...d, payload: Buffer.from(d.payload) });
    iface.receive(port, ipv4Frame(HOST, IpProtocol.UDP, udpDatagram(HOST, 7, Buffer.from('hello'))), 0);
    expect(got).to.have.length(1);
    expect(got[0].payload.toString()).to.equal('hello');
    expect(got[0].dstPort).to.equal(7);
  });

  it('drops a datagram with a bad checksum and counts it', () => {
    const { iface, port, counters } = setup();
    const udp = udpDatagram(HOST, 7, Buffer.from('hello'));
    udp[8] ^= 0xff;
    iface.handlers.udp = () => expect.fail('must not be delivered');
    iface.receive(port, ipv4Frame(HOST, IpProtocol.UDP, udp), 0);
    expect(counters.totalDrops()).to.equal(1);
  });

  it('reassembles a fragmented datagram before delivering it (RFC 791)', () => {
    const { iface, port } = setup();
    const data = Buffer.alloc(3000, 0x5a);
    const udp = udpDatagram(HOST, 7, data);
    const got: Buffer[] = [];
    iface.handlers.udp = (_now, d) => got.push(Buffer.from(d.payload));
    const repr = new Ipv4Repr({ src: GUEST, dst: HOST, protocol: IpProtocol.UDP, payloadLen: udp.length, id: 99 });
    for (const piece of planFragments(udp.length, 1500).reverse()) {
      const frame = Buffer.alloc(34 + piece.length);
      emitEthernetHeader(frame, 0, parseMac('02:68:6e:65:74:01')!, GUEST_MAC, EtherType.IPv4);
      emitFragmentHeader(frame, 14, repr, piece);
      udp.copy(frame, 34, piece.offset, piece.offset + piece.length);
      iface.receive(port, frame, 0);
    }
    expect(got).to.have.length(1);
    expect(got[0].equals(data)).to.equal(true);
  });

  it('sends every frame at its own length and with its own bytes, whatever the frames before it', () => {
    const { iface, port } = setup();
    iface.receive(port, arpRequest(GATEWAY), 0);
    port.sent = [];
    const sizes = [100, 100, 10, 300, 10];
    sizes.forEach((n, i) => iface.sendUdp(HOST, 7, GUEST, 40000, Buffer.alloc(n, i + 1)));
    expect(port.sent.map((f) => f.length)).to.deep.equal(sizes.map((n) => 14 + 20 + 8 + n));
    port.sent.forEach((f, i) => {
      const udp = UdpPacket.checked(parseReply(f).ip.payload, HOST, GUEST);
      expect(udp.payload.equals(Buffer.alloc(sizes[i], i + 1)), `datagram ${i}`).to.equal(true);
    });
  });

  it('fragments a reply larger than the guest MTU so the guest can reassemble it', () => {
    const { iface, port } = setup({ mtu: 1500 });
    iface.receive(port, arpRequest(GATEWAY), 0);
    port.sent = [];
    const data = Buffer.alloc(4000, 1);
    iface.sendUdp(HOST, 7, GUEST, 40000, data);
    expect(port.sent.length).to.equal(3);
    for (const f of port.sent) expect(f.length - 14).to.be.at.most(1500);
    const whole = reassembleForTest(port.sent);
    expect(whole.src).to.equal(HOST);
    const udp = UdpPacket.checked(whole.payload, HOST, GUEST);
    expect(udp.payload.equals(data)).to.equal(true);
  });
});

function reassembleForTest(frames: Buffer[]): Ipv4Packet {
  const parts = frames.map((f) => Ipv4Packet.checked(EthernetFrame.checked(f).payload));
  const total = parts.reduce((n, p) => Math.max(n, p.fragmentOffset + p.payload.length), 0);
  const out = Buffer.alloc(20 + total);
  parts[0].buf.copy(out, 0, 0, 20);
  for (const p of parts) p.payload.copy(out, 20 + p.fragmentOffset);
  new Ipv4Repr({ src: parts[0].src, dst: parts[0].dst, protocol: parts[0].protocol, payloadLen: total, id: parts[0].id }).emit(out, 0);
  return Ipv4Packet.checked(out);
}

describe('Interface: bad input', () => {
  it('drops IPv6 and unknown EtherTypes with counted reasons', () => {
    const { iface, port, counters } = setup();
    const f = Buffer.alloc(60);
    emitEthernetHeader(f, 0, BROADCAST_MAC, GUEST_MAC, EtherType.IPv6);
    iface.receive(port, f, 0);
    emitEthernetHeader(f, 0, BROADCAST_MAC, GUEST_MAC, 0x88cc);
    iface.receive(port, f, 0);
    expect(counters.get('drop.eth_ipv6')).to.equal(1);
    expect(counters.get('drop.eth_unknown_type')).to.equal(1);
  });

  it('never throws on random bytes and counts every frame it could not use', () => {
    const { iface, port, counters } = setup();
    iface.handlers.udp = () => undefined;
    iface.handlers.tcp = () => undefined;
    iface.handlers.echo = () => undefined;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1600 }), (bytes) => {
        iface.receive(port, Buffer.from(bytes), 0);
      }),
      { numRuns: 3000 },
    );
    expect(counters.get('drop.internal_error')).to.equal(0);
    expect(counters.totalDrops()).to.be.greaterThan(2500);
  });

  it('never throws on mutated valid frames', () => {
    const { iface, port, counters } = setup();
    iface.handlers.udp = () => undefined;
    iface.handlers.tcp = () => undefined;
    iface.handlers.echo = () => undefined;
    const seeds = [arpRequest(GATEWAY), echoRequest(GATEWAY, 1), ipv4Frame(HOST, IpProtocol.UDP, udpDatagram(HOST, 53, Buffer.alloc(30)))];
    fc.assert(
      fc.property(fc.nat(seeds.length - 1), fc.array(fc.tuple(fc.nat(2000), fc.nat(255)), { minLength: 1, maxLength: 6 }), (which, flips) => {
        const f = Buffer.from(seeds[which]);
        for (const [at, v] of flips) f[at % f.length] = v;
        iface.receive(port, f, 0);
      }),
      { numRuns: 3000 },
    );
    expect(counters.get('drop.internal_error')).to.equal(0);
  });
});
