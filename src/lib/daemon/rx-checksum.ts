/**
 * Which received frames may keep a guest's partial checksum (virtio
 * NEEDS_CSUM, left partial by TapLink.deferRxChecksum): those only the stack
 * will see whose transport checksum it skips. That is a frame unicast to the
 * gateway MAC carrying IPv4 TCP or UDP, not a fragment (a reassembled datagram
 * is summed whole). Anything else (switched to another guest, flooded,
 * captured, ICMP) gets the checksum completed first (Link.completeRxChecksum).
 */
export function stackOnlyTransport(frame: Buffer, gatewayMac: Buffer): boolean {
  if (frame.length < 34 || frame.readUInt16BE(12) !== 0x0800 || frame.compare(gatewayMac, 0, 6, 0, 6) !== 0) return false;
  const proto = frame[23];
  // Flags + fragment offset (RFC 791 §3.1): MF set or an offset means a fragment.
  return (proto === 6 || proto === 17) && (frame.readUInt16BE(20) & 0x3fff) === 0;
}
