/**
 * Which received frames may keep a guest's partial checksum (virtio
 * NEEDS_CSUM, left partial by TapLink.deferRxChecksum): those only the stack
 * will see whose transport checksum it skips. That is a frame unicast to the
 * gateway MAC carrying IPv4 TCP or UDP, not a fragment (a reassembled datagram
 * is summed whole). Anything else (switched to another guest, flooded,
 * captured, ICMP) gets the checksum completed first (Link.completeRxChecksum).
 *
 * Runs on every received frame of an offloading tap: the MAC is compared in
 * place, byte by byte. Buffer#compare with offsets calls into C++: 80 against
 * 15 ns per frame in a micro-benchmark, and ~1% of the daemon's CPU under
 * short connections in a profile. The two header fields are read by byte
 * for the same reason (wire/bytes.ts).
 */
import { macAt } from '../wire/addr.js';
import { u16be } from '../wire/bytes.js';

export function stackOnlyTransport(frame: Buffer, gatewayMac: Buffer): boolean {
  if (frame.length < 34 || u16be(frame, 12) !== 0x0800 || !macAt(frame, 0, gatewayMac)) return false;
  const proto = frame[23];
  // Flags + fragment offset (RFC 791 §3.1): MF set or an offset means a fragment.
  return (proto === 6 || proto === 17) && (u16be(frame, 20) & 0x3fff) === 0;
}
