/**
 * The Internet checksum (RFC 1071; used by IPv4 RFC 791, ICMP RFC 792, UDP
 * RFC 768, TCP RFC 9293 §3.1). The accumulator is kept unfolded (a plain JS
 * number, exact up to 2^53, i.e. far beyond any frame) so sums over several
 * pieces chain: `finishChecksum(onesComplementSum(b, 0, n, pseudoHeaderSum(...)))`.
 * Words are big-endian 16-bit values counted from `start`; an odd trailing
 * byte is padded with a zero low byte (RFC 1071 §4.1).
 */
import type { Ipv4 } from './addr.js';

/**
 * Sum of the 16-bit big-endian words of buf[start, end), added to `initial`.
 * Reads 32 bits at a time (RFC 1071 §2(C): the sum is byte-order independent
 * under folding, and a 32-bit word contributes its two halves).
 */
export function onesComplementSum(buf: Buffer, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  const end8 = end - 7;
  while (i < end8) {
    const a = buf.readUInt32BE(i);
    const b = buf.readUInt32BE(i + 4);
    sum += (a >>> 16) + (a & 0xffff) + (b >>> 16) + (b & 0xffff);
    i += 8;
  }
  const end2 = end - 1;
  while (i < end2) {
    sum += (buf[i] << 8) | buf[i + 1];
    i += 2;
  }
  if (i < end) sum += buf[i] << 8;
  return sum;
}

/** Fold the carries back in (end-around carry) and complement: the 16-bit field value. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/**
 * The IPv4 pseudo-header (RFC 768; RFC 9293 §3.1): source, destination, zero,
 * protocol, and the transport length (header + data).
 */
export function pseudoHeaderSum(src: Ipv4, dst: Ipv4, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}
