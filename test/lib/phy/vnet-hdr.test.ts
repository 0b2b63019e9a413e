/**
 * virtio-net header (include/uapi/linux/virtio_net.h, 10-byte legacy layout,
 * little-endian) and completion of a NEEDS_CSUM partial checksum (virtio 1.x
 * §5.1.6.2.1: the field holds the pseudo-header sum; the sender of the frame
 * finishes the sum from csum_start to the end).
 */
import { expect } from 'chai';
import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, VNET_HDR_LEN, completeChecksum, emitVnetHdr, parseVnetHdr,
  TUNSETOFFLOAD, TUNSETVNETHDRSZ, tcpPayloadLength,
} from '../../../src/lib/phy/vnet-hdr.js';
import { emitTcp, TcpFlags, TcpPacket, type TcpRepr } from '../../../src/lib/wire/tcp.js';
import { pseudoHeaderSum } from '../../../src/lib/wire/checksum.js';
import { IpProtocol } from '../../../src/lib/wire/ipv4.js';
import { parseListenUri } from '../../../src/lib/phy/uri.js';
import { UsageError } from '../../../src/lib/errors.js';

const SRC = 0xc0a84102; // 192.168.65.2
const DST = 0x7f000001;

function segment(payload: Buffer): Buffer {
  const repr: TcpRepr = { srcPort: 40000, dstPort: 5201, seq: 1, ack: 2, flags: TcpFlags.ACK, window: 1000, urgent: 0, options: {}, payload };
  const buf = Buffer.alloc(20 + payload.length);
  const n = emitTcp(repr, buf, 0, SRC, DST);
  return buf.subarray(0, n);
}

/** What a Linux guest hands the tap for CHECKSUM_PARTIAL: the folded, uncomplemented pseudo-header sum. */
function partial(seg: Buffer): Buffer {
  const out = Buffer.from(seg);
  let s = pseudoHeaderSum(SRC, DST, IpProtocol.TCP, seg.length);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  out.writeUInt16BE(s, 16);
  return out;
}

describe('virtio-net header (virtio_net.h struct virtio_net_hdr)', () => {
  it('is 10 bytes, little-endian, fields in header order', () => {
    const buf = Buffer.alloc(VNET_HDR_LEN);
    emitVnetHdr(buf, 0, { flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: VIRTIO_NET_HDR_GSO_TCPV4, hdrLen: 0x0036, gsoSize: 1448, csumStart: 34, csumOffset: 16 });
    expect(buf.toString('hex')).to.equal('0101' + '3600' + 'a805' + '2200' + '1000');
    expect(parseVnetHdr(buf)).to.deep.equal({ flags: 1, gsoType: 1, hdrLen: 0x36, gsoSize: 1448, csumStart: 34, csumOffset: 16 });
  });

  it('uses the if_tun.h ioctl numbers _IOW(T, 208/216, 4 bytes)', () => {
    const iow = (nr: number): number => ((1 << 30) | (4 << 16) | (0x54 << 8) | nr) >>> 0;
    expect(TUNSETOFFLOAD).to.equal(iow(208));
    expect(TUNSETVNETHDRSZ).to.equal(iow(216));
  });

  it('completes a NEEDS_CSUM TCP checksum to the one a full computation gives', () => {
    for (const len of [0, 1, 1447, 65000]) {
      const payload = Buffer.alloc(len);
      for (let i = 0; i < len; i++) payload[i] = (i * 131 + 7) & 0xff;
      const full = segment(payload);
      const part = partial(full);
      expect(() => TcpPacket.checked(part, SRC, DST), `len ${len} partial`).to.throw();
      const eth = Buffer.concat([Buffer.alloc(34), part]); // Ethernet + IPv4 header in front: csum_start 34
      expect(completeChecksum(eth, 34, 16)).to.equal(true);
      const done = eth.subarray(34);
      expect(() => TcpPacket.checked(done, SRC, DST), `len ${len} completed`).not.to.throw();
      expect(done.readUInt16BE(16)).to.equal(full.readUInt16BE(16));
    }
  });

  it('refuses offsets outside the frame', () => {
    const frame = Buffer.alloc(60);
    expect(completeChecksum(frame, 34, 26)).to.equal(false);
    expect(completeChecksum(frame, 60, 0)).to.equal(false);
    expect(completeChecksum(frame, 40, 18)).to.equal(true);
  });
});

describe('tap:NAME?offload= (listen URI)', () => {
  it('leaves offload to the default unless given, and parses 0/1', () => {
    expect(parseListenUri('tap:hnet0', '/h')).to.not.have.property('offload');
    expect(parseListenUri('tap:hnet0?netns=g1&offload=0', '/h')).to.include({ name: 'hnet0', netns: 'g1', offload: false });
    expect(parseListenUri('tap:hnet0?offload=1', '/h')).to.include({ offload: true });
  });

  it('refuses other values with a usage error', () => {
    expect(() => parseListenUri('tap:hnet0?offload=maybe', '/h')).to.throw(UsageError, /offload must be 0 or 1/);
  });
});

describe('tcpPayloadLength (a batching hint from the frame headers)', () => {
  function frame(tcp: Buffer, ethType = 0x0800, proto = 6): Buffer {
    const f = Buffer.alloc(14 + 20 + tcp.length);
    f.writeUInt16BE(ethType, 12);
    f[14] = 0x45;
    f.writeUInt16BE(20 + tcp.length, 16);
    f[14 + 9] = proto;
    tcp.copy(f, 34);
    return f;
  }

  it('counts the bytes after the IPv4 and TCP headers, options included', () => {
    expect(tcpPayloadLength(frame(segment(Buffer.alloc(64))))).to.equal(64);
    expect(tcpPayloadLength(frame(segment(Buffer.alloc(0))))).to.equal(0);
    // Read in place behind a virtio-net header, as the tap does.
    const f = frame(segment(Buffer.alloc(64)));
    const withHdr = Buffer.concat([Buffer.alloc(VNET_HDR_LEN, 0xee), f]);
    expect(tcpPayloadLength(withHdr, VNET_HDR_LEN, withHdr.length)).to.equal(64);
  });

  it('says -1 for anything that is not IPv4/TCP or is cut short', () => {
    expect(tcpPayloadLength(frame(segment(Buffer.alloc(4)), 0x86dd))).to.equal(-1);
    expect(tcpPayloadLength(frame(segment(Buffer.alloc(4)), 0x0800, 17))).to.equal(-1);
    expect(tcpPayloadLength(frame(segment(Buffer.alloc(4))).subarray(0, 40))).to.equal(-1);
  });
});
