/**
 * UDP (RFC 768). `UdpPacket.checked(buf, src, dst)` takes the IPv4 payload and
 * the addresses for the pseudo-header; it requires 8 ≤ length field ≤ buffer
 * (bytes past the length field are ignored) and, when the checksum field is
 * non-zero, a valid checksum over pseudo-header + header + data. A zero
 * checksum field means "none computed" and is accepted (RFC 768). On emit, a
 * computed checksum of zero is sent as 0xffff (RFC 768: "all ones").
 */
import { type Ipv4 } from './addr.js';
import { finishChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.js';
import { check } from './errors.js';
import { put16be, u16be } from './bytes.js';

export const UDP_HEADER_LEN = 8;
const PROTO_UDP = 17;

// Field offsets (RFC 768 "Format").
const SRC_PORT = 0;
const DST_PORT = 2;
const LENGTH = 4;
const CHECKSUM = 6;

export class UdpPacket {
  private constructor(readonly buf: Buffer) {}

  /** `checksumKnownGood`: the link computed this checksum itself (see Link.rxChecksumValid); not summed again. */
  static checked(buf: Buffer, src: Ipv4, dst: Ipv4, checksumKnownGood = false): UdpPacket {
    check(buf.length >= UDP_HEADER_LEN, 'udp_truncated');
    const len = u16be(buf, LENGTH);
    check(len >= UDP_HEADER_LEN, 'udp_bad_length');
    check(len <= buf.length, 'udp_truncated');
    if (!checksumKnownGood && u16be(buf, CHECKSUM) !== 0) {
      const sum = onesComplementSum(buf, 0, len, pseudoHeaderSum(src, dst, PROTO_UDP, len));
      check(finishChecksum(sum) === 0, 'udp_bad_checksum');
    }
    return new UdpPacket(len === buf.length ? buf : buf.subarray(0, len));
  }

  get srcPort(): number {
    return u16be(this.buf, SRC_PORT);
  }

  get dstPort(): number {
    return u16be(this.buf, DST_PORT);
  }

  /** The length field (header + data). */
  get length(): number {
    return this.buf.length;
  }

  get checksum(): number {
    return u16be(this.buf, CHECKSUM);
  }

  /** Exactly length - 8 bytes. */
  get payload(): Buffer {
    return this.buf.subarray(UDP_HEADER_LEN);
  }
}

export class UdpRepr {
  constructor(
    public srcPort: number,
    public dstPort: number,
  ) {}

  static parse(p: UdpPacket): UdpRepr {
    return new UdpRepr(p.srcPort, p.dstPort);
  }

  /**
   * The payload (`payloadLen` bytes) is already in buf at offset + 8; write
   * the header and the checksum. Returns 8 + payloadLen.
   */
  emit(buf: Buffer, offset: number, src: Ipv4, dst: Ipv4, payloadLen: number): number {
    const len = UDP_HEADER_LEN + payloadLen;
    put16be(buf, offset + SRC_PORT, this.srcPort);
    put16be(buf, offset + DST_PORT, this.dstPort);
    put16be(buf, offset + LENGTH, len);
    put16be(buf, offset + CHECKSUM, 0);
    const sum = finishChecksum(onesComplementSum(buf, offset, offset + len, pseudoHeaderSum(src, dst, PROTO_UDP, len)));
    put16be(buf, offset + CHECKSUM, sum === 0 ? 0xffff : sum);
    return len;
  }
}
