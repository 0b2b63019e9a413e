/**
 * The virtio-net header a Linux tap puts in front of every frame once it is
 * opened with IFF_VNET_HDR (Documentation/networking/tuntap.rst;
 * include/uapi/linux/virtio_net.h, struct virtio_net_hdr - the 10-byte legacy
 * layout, little-endian on every host hnet runs on; virtio 1.x §5.1.6).
 *
 *   flags u8  gso_type u8  hdr_len u16  gso_size u16  csum_start u16  csum_offset u16
 *
 * Receive side (guest -> hnet), after TUNSETOFFLOAD TUN_F_CSUM|TUN_F_TSO4:
 *  - flags NEEDS_CSUM: the L4 checksum is partial. The field at
 *    csum_start + csum_offset holds the folded pseudo-header sum; the full
 *    checksum is the complement of the ones'-complement sum from csum_start to
 *    the end of the frame (virtio 1.x §5.1.6.2.1). `completeChecksum` fills it
 *    in, so everything downstream (stack, switch, pcap) sees a valid frame.
 *  - gso_type TCPV4: a TCP super-segment (IPv4 total length up to 65535) that
 *    the guest would otherwise have cut into gso_size pieces. The stack takes
 *    it whole: TCP is a byte stream (RFC 9293 §3.8.6) and the guest's MSS
 *    applies to what it puts on a real wire, not to what it hands its host.
 * Send side (hnet -> guest): `emitVnetHdr` writes gso NONE (or TCPV4 with the
 * segment size the guest may cut it into) and DATA_VALID, telling the guest
 * kernel the checksum was verified/computed by us (RFC 1122 §3.2.1.2 allows
 * the link to vouch for it; we always compute full checksums anyway).
 */
import { finishChecksum, onesComplementSum } from '../wire/checksum.js';
import { put16be, put16le, u16be, u16le } from '../wire/bytes.js';

export const VNET_HDR_LEN = 10;
/** if_tun.h ioctls and flags. */
export const IFF_VNET_HDR = 0x4000;
export const TUNSETOFFLOAD = 0x400454d0;
export const TUNSETVNETHDRSZ = 0x400454d8;
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
/** virtio_net.h flags and gso types. */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

export interface VnetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

/** Decode the header at buf[offset]; the caller checks there are VNET_HDR_LEN bytes. */
export function parseVnetHdr(buf: Buffer, offset = 0): VnetHdr {
  return {
    flags: buf[offset],
    gsoType: buf[offset + 1],
    hdrLen: u16le(buf, offset + 2),
    gsoSize: u16le(buf, offset + 4),
    csumStart: u16le(buf, offset + 6),
    csumOffset: u16le(buf, offset + 8),
  };
}

/** Write a header at buf[offset]; returns VNET_HDR_LEN. */
export function emitVnetHdr(buf: Buffer, offset: number, h: VnetHdr): number {
  buf[offset] = h.flags;
  buf[offset + 1] = h.gsoType;
  put16le(buf, offset + 2, h.hdrLen);
  put16le(buf, offset + 4, h.gsoSize);
  put16le(buf, offset + 6, h.csumStart);
  put16le(buf, offset + 8, h.csumOffset);
  return VNET_HDR_LEN;
}

/**
 * Finish a NEEDS_CSUM frame in place: checksum field = ~sum(frame[start..end)).
 * A result of 0 is written as 0xffff (UDP reserves 0 for "no checksum", RFC 768;
 * the same value is valid for TCP). Returns false when the offsets do not fit
 * the frame (the caller drops it).
 */
export function completeChecksum(frame: Buffer, csumStart: number, csumOffset: number): boolean {
  const at = csumStart + csumOffset;
  if (at + 2 > frame.length || csumStart >= frame.length) return false;
  const v = finishChecksum(onesComplementSum(frame, csumStart, frame.length));
  put16be(frame, at, v === 0 ? 0xffff : v);
  return true;
}

/** Where a TCP checksum field sits in the TCP header (RFC 9293 §3.1). */
export const TCP_CSUM_OFFSET = 16;

/** Offset of the TCP header in an Ethernet + IPv4 frame (IHL from the IPv4 header). */
export function tcpCsumStart(frame: Buffer): number {
  return 14 + (frame[14] & 0x0f) * 4;
}

/**
 * A copy of an Ethernet/IPv4/TCP frame sent with a partial checksum
 * (Link.send partialCsum), completed: what the guest ends up with, for pcap
 * files and live captures.
 */
export function completedTcpCopy(frame: Buffer): Buffer {
  const copy = Buffer.from(frame);
  completeChecksum(copy, tcpCsumStart(copy), TCP_CSUM_OFFSET);
  return copy;
}

/**
 * Payload bytes of the Ethernet/IPv4/TCP frame in buf[at, end) (IPv4 total
 * length minus the IP and TCP headers), or -1 when it is not IPv4/TCP or too
 * short to say. A hint for batching decisions only: nothing is validated here.
 * Offsets rather than a view, so the per-wakeup caller allocates nothing.
 */
export function tcpPayloadLength(buf: Buffer, at = 0, end = buf.length): number {
  if (end - at < 14 + 20 || u16be(buf, at + 12) !== 0x0800 || buf[at + 14 + 9] !== 6) return -1;
  const ihl = (buf[at + 14] & 0x0f) * 4;
  if (end - at < 14 + ihl + 13) return -1;
  return u16be(buf, at + 16) - ihl - (buf[at + 14 + ihl + 12] >>> 4) * 4;
}
