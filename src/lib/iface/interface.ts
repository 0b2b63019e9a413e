/**
 * The gateway's network interface: Ethernet, ARP and IPv4 demux for frames
 * from guest ports, and the emit side that addresses replies to the guest.
 *
 * Contract: `receive(port, frame, now)` never throws for any input; a frame
 * that cannot be used is dropped and counted (`drop.<reason>`). Upper layers
 * (NAT, services) receive parsed, checksum-verified datagrams through the
 * `handlers`; payloads are views into the caller's frame buffer, valid only
 * during the call. Everything sent to a guest is built in one preallocated
 * buffer and written synchronously, so the per-frame path allocates nothing
 * beyond the codec's view objects.
 */
import { Counters, type Counter } from '../counters.js';
import { BROADCAST_MAC, cidrContains, macAt, prefixMask, type Ipv4 } from '../wire/addr.js';
import { WireError } from '../wire/errors.js';
import { ETHERNET_HEADER_LEN, ETHERNET_SRC_OFFSET, EthernetFrame, EtherType, emitEthernetHeader } from '../wire/ethernet.js';
import { ArpOperation, ArpPacket, ArpRepr, ARP_LEN } from '../wire/arp.js';
import { IPV4_HEADER_LEN, IpProtocol, Ipv4Packet, Ipv4Repr, emitFragmentHeader, ipv4Quote, planFragments } from '../wire/ipv4.js';
import { Icmpv4Packet, Icmpv4Type } from '../wire/icmpv4.js';
import { UDP_HEADER_LEN, UdpPacket, UdpRepr } from '../wire/udp.js';
import { TcpPacket, parseTcp, emitTcp, tcpPayloadLength, type TcpRepr } from '../wire/tcp.js';
import { Ipv4Reassembler } from './fragments.js';
import { NeighborTable, type GuestPort } from './neighbors.js';
import type { StackConfig } from './config.js';
import { IcmpEmitter } from './icmp-emit.js';
import { ReusedView } from '../wire/reused-view.js';

export type { GuestPort } from './neighbors.js';

/** A verified UDP datagram from a guest. Views valid only during the call. */
export interface GuestUdp {
  port: GuestPort;
  srcMac: Buffer;
  src: Ipv4;
  dst: Ipv4;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
  /** The IP header and first 8 payload bytes, for an ICMP error about it (RFC 792). */
  quote: Buffer;
}

export interface GuestTcp {
  src: Ipv4;
  dst: Ipv4;
  seg: TcpRepr;
  /** The whole IPv4 datagram (a view, valid during the call): quote it with ipv4Quote for an ICMP error. */
  datagram: Buffer;
}

export interface GuestEcho {
  src: Ipv4;
  dst: Ipv4;
  ident: number;
  seqNo: number;
  data: Buffer;
  ttl: number;
}

export interface InterfaceHandlers {
  /** UDP to the gateway (DHCP, DNS); return false when nothing listens there. */
  gatewayUdp?(now: number, d: GuestUdp): boolean;
  /** UDP to any other destination (NAT). */
  udp?(now: number, d: GuestUdp): void;
  /** TCP to any destination, gateway services included. */
  tcp?(now: number, t: GuestTcp): void;
  /** Echo requests for addresses other than the gateway and the host address. */
  echo?(now: number, e: GuestEcho): void;
}

const MAX_FRAME = 65536 + 64;
/** Below this a segment is copied whole into the frame: one small write(2) beats gathering (tap.ts sendSmall). */
const ZERO_COPY_MIN_BYTES = 1024;
/** Where the IPv4 payload starts in the tx buffer. */
const IP_PAYLOAD_OFFSET = ETHERNET_HEADER_LEN + IPV4_HEADER_LEN;

export class Interface {
  readonly neighbors = new NeighborTable();
  readonly icmp: IcmpEmitter;
  handlers: InterfaceHandlers = {};
  private readonly tx = Buffer.allocUnsafe(MAX_FRAME);
  private readonly scratch = Buffer.allocUnsafe(MAX_FRAME);
  /** The frame built in tx, as the view handed to a port. */
  private readonly txFrame = new ReusedView(this.tx);
  private readonly ipRepr = new Ipv4Repr({ src: 0, dst: 0, protocol: 0, payloadLen: 0 });
  private readonly udpRepr = new UdpRepr(0, 0);
  private readonly reassembler: Ipv4Reassembler;
  private readonly broadcastIp: Ipv4;
  private ipId = 1;
  private now = 0;
  private readonly ports = new Set<GuestPort>();
  // Bumped on every frame: kept as cells (counters.ts).
  private readonly rxFrames: Counter;
  private readonly rxBytes: Counter;
  private readonly txFrames: Counter;
  private readonly txBytes: Counter;

  constructor(
    readonly cfg: StackConfig,
    readonly counters: Counters,
  ) {
    this.rxFrames = counters.counter('rx.frames');
    this.rxBytes = counters.counter('rx.bytes');
    this.txFrames = counters.counter('tx.frames');
    this.txBytes = counters.counter('tx.bytes');
    this.reassembler = new Ipv4Reassembler(counters, { maxBytes: 4 * 1024 * 1024, timeoutMs: 30_000 });
    this.broadcastIp = (cfg.subnet.network | ~prefixMask(cfg.subnet.prefix)) >>> 0;
    this.icmp = new IcmpEmitter(this);
  }

  attach(port: GuestPort): void {
    this.ports.add(port);
  }

  detach(port: GuestPort): void {
    this.ports.delete(port);
    this.neighbors.forgetPort(port);
  }

  /** Timers: fragment and ARP-queue expiry. Returns the next deadline. */
  poll(now: number): number {
    this.now = now;
    this.reassembler.expire(now);
    const dropped = this.neighbors.expire(now);
    if (dropped > 0) this.counters.inc('drop.arp_unresolved', dropped);
    const frag = this.reassembler.pollAt() ?? Infinity;
    return this.neighbors.hasPending() ? Math.min(frag, now + 1000) : frag;
  }

  /**
   * `checksumKnownGood`: the link completed this frame's transport checksum
   * itself (virtio NEEDS_CSUM, Link.rxChecksumValid), so summing it again
   * proves nothing; applies to an unfragmented datagram only.
   */
  receive(port: GuestPort, frame: Buffer, now: number, checksumKnownGood = false): void {
    this.now = now;
    this.rxFrames.n++;
    this.rxBytes.n += frame.length;
    try {
      const eth = EthernetFrame.checked(frame);
      const type = eth.etherType;
      if (type === EtherType.ARP) return this.receiveArp(port, eth, now);
      if (type === EtherType.IPv6) return this.counters.drop('eth_ipv6');
      if (type !== EtherType.IPv4) return this.counters.drop('eth_unknown_type');
      // Compared in place: the address views cost an allocation each on every frame.
      if (!macAt(frame, 0, this.cfg.gatewayMac) && !macAt(frame, 0, BROADCAST_MAC)) return this.counters.drop('eth_not_for_us');
      this.receiveIpv4(port, eth, now, checksumKnownGood);
    } catch (err) {
      if (err instanceof WireError) this.counters.drop(err.reason);
      else {
        // A bug in a handler must not take the daemon down; count it loudly.
        this.counters.drop('internal_error');
        this.lastInternalError = err as Error;
      }
    }
  }

  lastInternalError: Error | undefined;

  private receiveArp(port: GuestPort, eth: EthernetFrame, now: number): void {
    const arp = ArpRepr.parse(ArpPacket.checked(eth.payload));
    const senderInSubnet = arp.senderIp !== 0 && cidrContains(this.cfg.subnet, arp.senderIp) && !this.isOurs(arp.senderIp);
    if (senderInSubnet) this.flushPending(this.neighbors.learn(arp.senderIp, arp.senderMac, port, now), arp.senderMac, port);
    if (arp.operation !== ArpOperation.Request) return;
    if (arp.senderIp === arp.targetIp) return this.counters.inc('arp.gratuitous');
    if (!this.isOurs(arp.targetIp)) return this.counters.drop('arp_not_ours');
    const reply = new ArpRepr({ operation: ArpOperation.Reply, senderMac: this.cfg.gatewayMac, senderIp: arp.targetIp, targetMac: arp.senderMac, targetIp: arp.senderIp });
    const tx = this.tx;
    emitEthernetHeader(tx, 0, arp.senderMac, this.cfg.gatewayMac, EtherType.ARP);
    reply.emit(tx, ETHERNET_HEADER_LEN);
    this.write(port, tx.subarray(0, ETHERNET_HEADER_LEN + ARP_LEN));
  }

  /** The addresses the gateway answers ARP for: itself and the host address. */
  isOurs(ip: Ipv4): boolean {
    return ip === this.cfg.gateway || ip === this.cfg.hostIp;
  }

  /** The source MAC is read in place on the per-frame path; `eth.src` (a view) only where it is kept or learned. */
  private receiveIpv4(port: GuestPort, eth: EthernetFrame, now: number, checksumKnownGood: boolean): void {
    let ip = Ipv4Packet.checked(eth.payload);
    const src = ip.src;
    if (src !== 0 && cidrContains(this.cfg.subnet, src) && !this.isOurs(src) && src !== this.broadcastIp && !this.neighbors.refresh(src, eth.buf, ETHERNET_SRC_OFFSET, port, now)) {
      const srcMac = eth.src;
      const waiting = this.neighbors.learn(src, srcMac, port, now);
      if (waiting.length > 0) this.flushPending(waiting, srcMac, port);
    }
    if (ip.isFragment) {
      checksumKnownGood = false; // the flag was about this fragment's frame, not the datagram
      const whole = this.reassembler.push(now, ip);
      if (!whole) return;
      ip = Ipv4Packet.checked(whole);
      this.counters.inc('ipv4.reassembled');
    }
    const dst = ip.dst;
    const local = dst === this.cfg.gateway || dst === this.broadcastIp || dst === 0xffffffff;
    // Routing decrements TTL (RFC 1812 §5.3.1): a datagram that would expire here gets Time Exceeded.
    if (!local && dst !== this.cfg.hostIp && ip.ttl <= 1) {
      this.icmp.timeExceeded(ip.src, this.cfg.gateway, ip.buf);
      return this.counters.drop('ipv4_ttl_expired');
    }
    switch (ip.protocol) {
      case IpProtocol.UDP:
        return this.receiveUdp(port, eth.src, ip, local, now, checksumKnownGood);
      case IpProtocol.TCP:
        return this.receiveTcp(ip, now, checksumKnownGood);
      case IpProtocol.ICMP:
        return this.receiveIcmp(ip, now);
      default:
        this.icmp.unreachable(ip.src, dst, 2 /* protocol unreachable */, ipv4Quote(ip.buf));
        return this.counters.drop('ipv4_unknown_protocol');
    }
  }

  private receiveUdp(port: GuestPort, srcMac: Buffer, ip: Ipv4Packet, local: boolean, now: number, checksumKnownGood: boolean): void {
    const udp = UdpPacket.checked(ip.payload, ip.src, ip.dst, checksumKnownGood);
    const d: GuestUdp = { port, srcMac, src: ip.src, dst: ip.dst, srcPort: udp.srcPort, dstPort: udp.dstPort, payload: udp.payload, quote: ipv4Quote(ip.buf) };
    if (local) {
      if (this.handlers.gatewayUdp?.(now, d)) return;
      if (ip.dst === this.cfg.gateway) this.icmp.unreachable(ip.src, ip.dst, 3 /* port unreachable */, d.quote);
      return this.counters.drop('udp_gateway_no_service');
    }
    if (!this.handlers.udp) return this.counters.drop('udp_no_handler');
    this.handlers.udp(now, d);
  }

  private receiveTcp(ip: Ipv4Packet, now: number, checksumKnownGood: boolean): void {
    const seg = parseTcp(TcpPacket.checked(ip.payload, ip.src, ip.dst, checksumKnownGood));
    if (!this.handlers.tcp) return this.counters.drop('tcp_no_handler');
    // No quote per segment: only a SYN's is ever kept (tcp.ts), so the view is made there.
    this.handlers.tcp(now, { src: ip.src, dst: ip.dst, seg, datagram: ip.buf });
  }

  private receiveIcmp(ip: Ipv4Packet, now: number): void {
    const icmp = Icmpv4Packet.checked(ip.payload);
    if (icmp.type !== Icmpv4Type.EchoRequest) return this.counters.drop('icmp_type_ignored');
    const dst = ip.dst;
    if (dst === this.cfg.gateway || (dst === this.cfg.hostIp && this.cfg.hostLoopback)) {
      this.counters.inc('icmp.echo_answered');
      this.icmp.echoReply(dst, ip.src, icmp.ident, icmp.seqNo, icmp.data);
      return;
    }
    if (dst === this.cfg.hostIp) {
      this.icmp.unreachable(ip.src, dst, 13 /* administratively prohibited, RFC 1812 */, ipv4Quote(ip.buf));
      return this.counters.drop('host_loopback_off');
    }
    if (!this.handlers.echo) return this.counters.drop('icmp_no_handler');
    this.handlers.echo(now, { src: ip.src, dst, ident: icmp.ident, seqNo: icmp.seqNo, data: icmp.data, ttl: ip.ttl });
  }

  // ---- emit side -------------------------------------------------------

  /**
   * Build an IPv4 packet for a guest in the tx buffer: `writePayload` fills
   * the bytes after the IP header and returns their length. Fragments when the
   * packet exceeds the MTU and DF is not set (RFC 791). With `gsoSize` a
   * packet over the MTU goes out whole to a port that takes TCP super-segments
   * (GuestPort.tso), which the guest kernel treats as gsoSize-byte segments.
   */
  sendIpv4(src: Ipv4, dst: Ipv4, protocol: number, writePayload: (buf: Buffer, offset: number) => number, opts: { dontFragment?: boolean; dstMac?: Buffer; port?: GuestPort; gsoSize?: number } = {}): void {
    const payloadLen = writePayload(this.tx, IP_PAYLOAD_OFFSET);
    this.transmit(src, dst, protocol, payloadLen, opts.dontFragment ?? false, this.resolve(dst, opts.dstMac, opts.port), opts.gsoSize);
  }

  /**
   * Put the IPv4 header in front of `payloadLen` bytes already at
   * IP_PAYLOAD_OFFSET of the tx buffer and deliver. One reused header repr:
   * nothing is allocated per frame on this path.
   */
  private transmit(src: Ipv4, dst: Ipv4, protocol: number, payloadLen: number, dontFragment: boolean, target: { mac: Buffer; port: GuestPort } | null, gsoSize?: number, partialCsum = false, tail: TcpRepr | null = null): void {
    const tx = this.tx;
    const ipOffset = ETHERNET_HEADER_LEN;
    const repr = this.ipRepr;
    repr.src = src;
    repr.dst = dst;
    repr.protocol = protocol;
    repr.payloadLen = payloadLen;
    repr.id = this.nextId();
    repr.dontFragment = dontFragment;
    if (IPV4_HEADER_LEN + payloadLen <= this.cfg.mtu) {
      repr.emit(tx, ipOffset);
      this.deliver(target, dst, tx, ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + payloadLen, 0, partialCsum, tail);
      return;
    }
    if (gsoSize && target?.port.tso) {
      repr.emit(tx, ipOffset);
      this.counters.inc('tx.gso_segments');
      this.deliver(target, dst, tx, ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + payloadLen, gsoSize, partialCsum, tail);
      return;
    }
    if (dontFragment) return this.counters.drop('tx_too_big_df');
    if (tail) throw new Error('transmit: a zero-copy segment cannot be fragmented'); // TCP is sent with DF
    // Fragment: keep the whole payload aside, then emit each piece (RFC 791 §3.2).
    const whole = this.scratch;
    tx.copy(whole, 0, IP_PAYLOAD_OFFSET, IP_PAYLOAD_OFFSET + payloadLen);
    for (const piece of planFragments(payloadLen, this.cfg.mtu)) {
      whole.copy(tx, IP_PAYLOAD_OFFSET, piece.offset, piece.offset + piece.length);
      emitFragmentHeader(tx, ipOffset, repr, piece);
      this.counters.inc('tx.fragments');
      this.deliver(target, dst, tx, ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + piece.length);
    }
  }

  sendUdp(src: Ipv4, srcPort: number, dst: Ipv4, dstPort: number, payload: Buffer, opts: { dstMac?: Buffer; port?: GuestPort } = {}): void {
    if (UDP_HEADER_LEN + payload.length > 65535 - IPV4_HEADER_LEN) return this.counters.drop('tx_udp_too_big');
    const udp = this.udpRepr;
    udp.srcPort = srcPort;
    udp.dstPort = dstPort;
    payload.copy(this.tx, IP_PAYLOAD_OFFSET + UDP_HEADER_LEN);
    const len = udp.emit(this.tx, IP_PAYLOAD_OFFSET, src, dst, payload.length);
    this.transmit(src, dst, IpProtocol.UDP, len, false, this.resolve(dst, opts.dstMac, opts.port));
  }

  /** A TCP segment, DF set; `gsoSize` (payload bytes per piece) lets it exceed the MTU toward a TSO port. */
  sendTcp(src: Ipv4, dst: Ipv4, seg: TcpRepr, gsoSize?: number): void {
    const target = this.resolve(dst);
    // A port with virtio-net offload completes (or, delivering locally, trusts)
    // the checksum: hnet skips summing every payload byte (Link.send).
    const partial = target?.port.tso === true;
    // Such a port may also take the payload as it lies in the send queue:
    // only the headers are built here (GuestPort.sendv), no byte is copied.
    const zeroCopy = partial && target!.port.sendv !== undefined && tcpPayloadLength(seg) >= ZERO_COPY_MIN_BYTES;
    const len = emitTcp(seg, this.tx, IP_PAYLOAD_OFFSET, src, dst, partial, zeroCopy);
    this.transmit(src, dst, IpProtocol.TCP, len, true, target, gsoSize, partial, zeroCopy ? seg : null);
  }

  /** Whether the guest at `ip` is reached through a port that takes TCP super-segments. */
  tsoFor(ip: Ipv4): boolean {
    return this.neighbors.lookup(ip)?.port.tso === true;
  }

  private nextId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  /** Where a frame for `dst` goes: an explicit MAC and port (DHCP replies), else the neighbour table. */
  private resolve(dst: Ipv4, dstMac?: Buffer, port?: GuestPort): { mac: Buffer; port: GuestPort } | null {
    if (dstMac && port) return { mac: dstMac, port };
    return this.neighbors.lookup(dst) ?? null;
  }

  /** `tx` is this.tx. `tail`: a segment whose payload is not in `tx` (sendTcp's zero copy): its views follow the headers. */
  private deliver(target: { mac: Buffer; port: GuestPort } | null, dst: Ipv4, tx: Buffer, len: number, gsoSize?: number, partialCsum = false, tail: TcpRepr | null = null): void {
    if (target) {
      emitEthernetHeader(tx, 0, target.mac, this.cfg.gatewayMac, EtherType.IPv4);
      if (tail) return this.writeZeroCopy(target.port, tx, len, tail, gsoSize ?? 0, partialCsum);
      this.write(target.port, this.txFrame.to(len), gsoSize, partialCsum);
      return;
    }
    // Unknown guest address: queue the frame and ask with ARP (RFC 826).
    emitEthernetHeader(tx, 0, BROADCAST_MAC, this.cfg.gatewayMac, EtherType.IPv4);
    if (!this.neighbors.enqueue(dst, tx.subarray(0, len), this.now)) return this.counters.drop('arp_queue_full');
    this.arpRequest(dst);
  }

  private arpRequest(target: Ipv4): void {
    const req = new ArpRepr({ operation: ArpOperation.Request, senderMac: this.cfg.gatewayMac, senderIp: this.cfg.gateway, targetMac: Buffer.alloc(6), targetIp: target });
    const buf = Buffer.allocUnsafe(ETHERNET_HEADER_LEN + ARP_LEN);
    emitEthernetHeader(buf, 0, BROADCAST_MAC, this.cfg.gatewayMac, EtherType.ARP);
    req.emit(buf, ETHERNET_HEADER_LEN);
    for (const p of this.ports) this.write(p, buf);
  }

  private flushPending(frames: readonly Buffer[], mac: Buffer, port: GuestPort): void {
    for (const f of frames) {
      mac.copy(f, 0);
      this.write(port, f);
    }
  }

  private write(port: GuestPort, frame: Buffer, gsoSize?: number, partialCsum = false): void {
    this.txFrames.n++;
    this.txBytes.n += frame.length;
    port.send(frame, gsoSize ?? 0, partialCsum);
  }

  /** A frame of `len` bytes: its headers in `tx`, then the segment's payload views. */
  private writeZeroCopy(port: GuestPort, tx: Buffer, len: number, seg: TcpRepr, gsoSize: number, partialCsum: boolean): void {
    const payloadLen = tcpPayloadLength(seg);
    this.txFrames.n++;
    this.txBytes.n += len;
    const parts = seg.payloadRest ? [seg.payload, ...seg.payloadRest] : [seg.payload];
    port.sendv!(tx.subarray(0, len - payloadLen), parts, gsoSize, partialCsum);
  }
}
