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

const ETH = 14;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

export function segmentTcpFrame(frame: Buffer, mtu: number, emit: (piece: Buffer) => void): boolean {
  if (frame.length < ETH + 40 || frame.readUInt16BE(12) !== 0x0800) return false;
  const ihl = (frame[ETH] & 0x0f) * 4;
  if (frame[ETH] >> 4 !== 4 || ihl < 20 || frame[ETH + 9] !== 6) return false;
  if ((frame.readUInt16BE(ETH + 6) & 0x3fff) !== 0) return false; // a fragment (MF or offset)
  const total = frame.readUInt16BE(ETH + 2);
  const tcp = ETH + ihl;
  if (ETH + total > frame.length || tcp + 20 > ETH + total) return false;
  const thl = (frame[tcp + 12] >> 4) * 4;
  const dataStart = tcp + thl;
  const dataEnd = ETH + total;
  const mss = mtu - ihl - thl;
  if (thl < 20 || dataStart > dataEnd || mss <= 0) return false;
  const id = frame.readUInt16BE(ETH + 4);
  const seq = frame.readUInt32BE(tcp + 4);
  const flags = frame[tcp + 13];
  const src = frame.readUInt32BE(ETH + 12);
  const dst = frame.readUInt32BE(ETH + 16);
  let i = 0;
  for (let off = dataStart; ; off += mss, i++) {
    const len = Math.min(mss, dataEnd - off);
    const last = off + len >= dataEnd;
    const piece = Buffer.allocUnsafe(dataStart + len);
    frame.copy(piece, 0, 0, dataStart);
    frame.copy(piece, dataStart, off, off + len);
    piece.writeUInt16BE(ihl + thl + len, ETH + 2);
    piece.writeUInt16BE((id + i) & 0xffff, ETH + 4);
    piece.writeUInt16BE(0, ETH + 10);
    piece.writeUInt16BE(finishChecksum(onesComplementSum(piece, ETH, tcp)), ETH + 10);
    piece.writeUInt32BE((seq + (off - dataStart)) >>> 0, tcp + 4);
    piece[tcp + 13] = flags & ~(last ? 0 : TCP_FIN | TCP_PSH) & ~(i === 0 ? 0 : TCP_CWR);
    piece.writeUInt16BE(0, tcp + 16);
    const sum = onesComplementSum(piece, tcp, piece.length, pseudoHeaderSum(src, dst, 6, thl + len));
    piece.writeUInt16BE(finishChecksum(sum), tcp + 16);
    emit(piece);
    if (last) break;
  }
  return true;
}
