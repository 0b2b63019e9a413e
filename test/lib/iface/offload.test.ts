/**
 * Receive offload through the interface: a tap with IFF_VNET_HDR + TSO4 hands
 * the stack TCP super-segments (IPv4 total length up to 65535, RFC 791) larger
 * than the link MTU, whose partial checksum (virtio NEEDS_CSUM) the link has
 * completed. The interface takes them whole: one verified segment, all bytes.
 */
import { expect } from 'chai';
import { Counters } from '../../../src/lib/counters.js';
import { Interface, type GuestPort, type GuestTcp } from '../../../src/lib/iface/interface.js';
import { buildStackConfig } from '../../../src/lib/iface/config.js';
import { parseIpv4, parseMac } from '../../../src/lib/wire/addr.js';
import { EtherType, emitEthernetHeader } from '../../../src/lib/wire/ethernet.js';
import { IpProtocol, Ipv4Repr } from '../../../src/lib/wire/ipv4.js';
import { emitTcp, TcpFlags } from '../../../src/lib/wire/tcp.js';
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
