/**
 * Software segmentation of a TCP/IPv4 super-segment (what a NIC does for TSO,
 * RFC 9293 §3.7.1 for the size rule): a frame a TSO guest sent us that the
 * switch must forward to a port without TSO (another guest, at its MTU).
 *
 * `segmentTcpFrame(frame, mtu, emit)` cuts the payload into pieces that fit
 * `mtu` with the original IP and TCP headers (options included): each piece
 * gets its own IPv4 total length, identification (id + i) and header checksum
 * (RFC 791), its sequence number (seq + offset), FIN and PSH only on the last
 * piece, CWR only on the first (RFC 3168 §6.1.2), and a full TCP checksum.
 * Returns false (emitting nothing) for anything that is not an unfragmented
 * TCP/IPv4 frame whose headers leave room for payload. Each piece is a fresh
 * buffer: this is the rare guest-to-guest path, never the stack's.
 */
import { finishChecksum, onesComplementSum, pseudoHeaderSum } from '../wire/checksum.js';
import { put16be, put32be, u16be, u32be } from '../wire/bytes.js';

const ETH = 14;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

export function segmentTcpFrame(frame: Buffer, mtu: number, emit: (piece: Buffer) => void): boolean {
  if (frame.length < ETH + 40 || u16be(frame, 12) !== 0x0800) return false;
  const ihl = (frame[ETH] & 0x0f) * 4;
  if (frame[ETH] >> 4 !== 4 || ihl < 20 || frame[ETH + 9] !== 6) return false;
  if ((u16be(frame, ETH + 6) & 0x3fff) !== 0) return false; // a fragment (MF or offset)
  const total = u16be(frame, ETH + 2);
  const tcp = ETH + ihl;
  if (ETH + total > frame.length || tcp + 20 > ETH + total) return false;
  const thl = (frame[tcp + 12] >> 4) * 4;
  const dataStart = tcp + thl;
  const dataEnd = ETH + total;
  const mss = mtu - ihl - thl;
  if (thl < 20 || dataStart > dataEnd || mss <= 0) return false;
  const id = u16be(frame, ETH + 4);
  const seq = u32be(frame, tcp + 4);
  const flags = frame[tcp + 13];
  const src = u32be(frame, ETH + 12);
  const dst = u32be(frame, ETH + 16);
  let i = 0;
  for (let off = dataStart; ; off += mss, i++) {
    const len = Math.min(mss, dataEnd - off);
    const last = off + len >= dataEnd;
    const piece = Buffer.allocUnsafe(dataStart + len);
    frame.copy(piece, 0, 0, dataStart);
    frame.copy(piece, dataStart, off, off + len);
    put16be(piece, ETH + 2, ihl + thl + len);
    put16be(piece, ETH + 4, (id + i) & 0xffff);
    put16be(piece, ETH + 10, 0);
    put16be(piece, ETH + 10, finishChecksum(onesComplementSum(piece, ETH, tcp)));
    put32be(piece, tcp + 4, (seq + (off - dataStart)) >>> 0);
    piece[tcp + 13] = flags & ~(last ? 0 : TCP_FIN | TCP_PSH) & ~(i === 0 ? 0 : TCP_CWR);
    put16be(piece, tcp + 16, 0);
    const sum = onesComplementSum(piece, tcp, piece.length, pseudoHeaderSum(src, dst, 6, thl + len));
    put16be(piece, tcp + 16, finishChecksum(sum));
    emit(piece);
    if (last) break;
  }
  return true;
}
