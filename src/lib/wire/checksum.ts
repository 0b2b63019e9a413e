/**
 * The Internet checksum (RFC 1071; used by IPv4 RFC 791, ICMP RFC 792, UDP
 * RFC 768, TCP RFC 9293 §3.1). The accumulator is kept unfolded (a plain JS
 * number, exact up to 2^53, i.e. far beyond any frame) so sums over several
 * pieces chain: `finishChecksum(onesComplementSum(b, 0, n, pseudoHeaderSum(...)))`.
 * Words are big-endian 16-bit values counted from `start`; an odd trailing
 * byte is padded with a zero low byte (RFC 1071 §4.1).
 */
import type { Ipv4 } from './addr.js';

// One cached DataView over the last backing ArrayBuffer: frames of one read
// share a slab, so the hot path allocates nothing. DataView reads are several
// times faster than Buffer.readUInt32BE (no per-call bounds-check wrapper).
let cachedBuffer: ArrayBufferLike | undefined;
let cachedView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/**
 * Sum of the 16-bit big-endian words of buf[start, end), added to `initial`.
 * Reads 32 bits at a time (RFC 1071 §2(C): a 32-bit word contributes its two
 * 16-bit halves, and the carries are folded at the end).
 */
export function onesComplementSum(buf: Buffer, start: number, end: number, initial = 0): number {
  if (end - start <= SHORT_SUM) return shortSum(buf, start, Math.min(end, buf.length), initial);
  const ab = buf.buffer;
  if (ab !== cachedBuffer) {
    cachedBuffer = ab;
    cachedView = new DataView(ab);
  }
  const v = cachedView;
  const base = buf.byteOffset;
  let sum = initial;
  let i = base + start;
  const e = base + Math.min(end, buf.length);
  const e8 = e - 7;
  while (i < e8) {
    const a = v.getUint32(i);
    const b = v.getUint32(i + 4);
    sum += (a >>> 16) + (a & 0xffff) + (b >>> 16) + (b & 0xffff);
    i += 8;
  }
  const e2 = e - 1;
  while (i < e2) {
    sum += v.getUint16(i);
    i += 2;
  }
  if (i < e) sum += v.getUint8(i) << 8;
  return sum;
}

/**
 * Spans up to this long (an IPv4 header, a TCP header, a small segment) are
 * summed byte by byte: `buf.buffer` is a call into V8's C++ runtime on every
 * frame (not inlined where the loads are megamorphic), which costs more than
 * the whole sum of a 20-byte header.
 */
const SHORT_SUM = 64;

function shortSum(buf: Buffer, i: number, e: number, sum: number): number {
  const e2 = e - 1;
  while (i < e2) {
    sum += (buf[i] << 8) | buf[i + 1];
    i += 2;
  }
  if (i < e) sum += buf[i] << 8;
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
