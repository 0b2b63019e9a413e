/**
 * TCP header (RFC 9293 §3.1) with the options hnet speaks: MSS (RFC 9293
 * §3.2), window scale and timestamps (RFC 7323), SACK-permitted and SACK
 * blocks (RFC 2018). The shapes below are the contract between the wire codec
 * and the TCP socket (src/lib/socket/tcp); the codec itself follows.
 */

export const TcpFlags = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

export interface TcpTimestamps {
  tsVal: number;
  tsEcr: number;
}

export interface TcpOptions {
  /** Maximum segment size, only on SYN segments. */
  mss?: number;
  /** Window scale shift count (0..14), only on SYN segments. */
  windowScale?: number;
  sackPermitted?: boolean;
  timestamps?: TcpTimestamps;
  /** SACK blocks as [leftEdge, rightEdge) sequence number pairs. */
  sack?: Array<[number, number]>;
}

/** A parsed (or to-be-emitted) TCP segment. Sequence numbers are uint32. */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Bit set of TcpFlags. */
  flags: number;
  /** The 16-bit window field exactly as on the wire (unscaled). */
  window: number;
  urgent: number;
  options: TcpOptions;
  /** A view into the received frame (parse) or the data to send (emit). */
  payload: Buffer;
}
