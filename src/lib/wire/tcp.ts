/**
 * TCP header (RFC 9293 §3.1) with the options hnet speaks: MSS (RFC 9293
 * §3.2), window scale and timestamps (RFC 7323), SACK-permitted and SACK
 * blocks (RFC 2018). The shapes below are the contract between the wire codec
 * and the TCP socket (src/lib/socket/tcp); the codec itself follows.
 */
import { type Ipv4 } from './addr.js';
import { finishChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.js';
import { check, WireError } from './errors.js';
import { put16be, put32be, u16be, u32be } from './bytes.js';

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
  /**
   * Emit only: more payload after `payload`, as views in order. Set only for
   * a socket configured to gather (TcpSocketConfig.gatherPayload), whose
   * emitter writes the views out without copying them into the frame.
   */
  payloadRest?: readonly Buffer[];
}

/** The payload's length, `payloadRest` included. */
export function tcpPayloadLength(repr: TcpRepr): number {
  let n = repr.payload.length;
  if (repr.payloadRest) for (const p of repr.payloadRest) n += p.length;
  return n;
}

// ---------------------------------------------------------------------------
// The codec. `TcpPacket.checked(buf, src, dst)` takes the IPv4 payload and
// requires data offset ≥ 5, the header to fit, and a valid checksum over the
// pseudo-header + segment (RFC 9293 §3.1). `parseTcp` reads the options;
// `emitTcp` writes header, options, payload and checksum.

export const TCP_HEADER_LEN = 20;
/** RFC 9293 §3.1: data offset is 4 bits of 32-bit words, so options ≤ 40 bytes. */
export const TCP_MAX_OPTIONS_LEN = 40;
const PROTO_TCP = 6;

// Field offsets (RFC 9293 §3.1 "Header Format").
const SRC_PORT = 0;
const DST_PORT = 2;
const SEQ = 4;
const ACK = 8;
const DATA_OFF = 12;
const FLAGS = 13;
const WINDOW = 14;
const CHECKSUM = 16;
const URGENT = 18;

// Option kinds (IANA "TCP Option Kind Numbers").
const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2; // RFC 9293 §3.2, length 4
const OPT_WSCALE = 3; // RFC 7323 §2.2, length 3
const OPT_SACK_PERM = 4; // RFC 2018 §2, length 2
const OPT_SACK = 5; // RFC 2018 §3, length 2 + 8n
const OPT_TIMESTAMPS = 8; // RFC 7323 §3.2, length 10

/** RFC 7323 §2.3: a shift count above 14 is used as 14. */
const MAX_WSCALE = 14;

export class TcpPacket {
  private constructor(readonly buf: Buffer) {}

  /** `checksumKnownGood`: the link computed this checksum itself (see Link.rxChecksumValid); not summed again. */
  static checked(buf: Buffer, src: Ipv4, dst: Ipv4, checksumKnownGood = false): TcpPacket {
    check(buf.length >= TCP_HEADER_LEN, 'tcp_truncated');
    const headerLen = (buf[DATA_OFF] >>> 4) * 4;
    check(headerLen >= TCP_HEADER_LEN, 'tcp_bad_header_len');
    check(headerLen <= buf.length, 'tcp_truncated');
    if (!checksumKnownGood) {
      const sum = onesComplementSum(buf, 0, buf.length, pseudoHeaderSum(src, dst, PROTO_TCP, buf.length));
      check(finishChecksum(sum) === 0, 'tcp_bad_checksum');
    }
    return new TcpPacket(buf);
  }

  get srcPort(): number {
    return u16be(this.buf, SRC_PORT);
  }

  get dstPort(): number {
    return u16be(this.buf, DST_PORT);
  }

  get seq(): number {
    return u32be(this.buf, SEQ);
  }

  get ack(): number {
    return u32be(this.buf, ACK);
  }

  get headerLen(): number {
    return (this.buf[DATA_OFF] >>> 4) * 4;
  }

  /** Bit set of TcpFlags (the 8 bits of byte 13). */
  get flags(): number {
    return this.buf[FLAGS];
  }

  get window(): number {
    return u16be(this.buf, WINDOW);
  }

  get checksum(): number {
    return u16be(this.buf, CHECKSUM);
  }

  get urgent(): number {
    return u16be(this.buf, URGENT);
  }

  /** The raw option bytes (a view). */
  get options(): Buffer {
    return this.buf.subarray(TCP_HEADER_LEN, this.headerLen);
  }

  get payload(): Buffer {
    return this.buf.subarray(this.headerLen);
  }
}

/**
 * Read the options of a checked segment. NOP and EOL are honoured, unknown
 * kinds are skipped by their length (RFC 9293 §3.1 "Options", and RFC 9293
 * §3.2 MUST-68: ignore unknown options); a length below 2 or past the header
 * is malformed: WireError('tcp_bad_option'). A known kind with a wrong length
 * is skipped, as Linux does.
 */
export function parseTcp(p: TcpPacket): TcpRepr {
  const buf = p.buf;
  const end = p.headerLen;
  const options: TcpOptions = {};
  let i = TCP_HEADER_LEN;
  while (i < end) {
    const kind = buf[i];
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      i += 1;
      continue;
    }
    if (i + 1 >= end) throw new WireError('tcp_bad_option');
    const len = buf[i + 1];
    if (len < 2 || i + len > end) throw new WireError('tcp_bad_option');
    switch (kind) {
      case OPT_MSS:
        if (len === 4) options.mss = u16be(buf, i + 2);
        break;
      case OPT_WSCALE:
        if (len === 3) options.windowScale = Math.min(buf[i + 2], MAX_WSCALE);
        break;
      case OPT_SACK_PERM:
        if (len === 2) options.sackPermitted = true;
        break;
      case OPT_SACK:
        if (len > 2 && (len - 2) % 8 === 0) {
          const blocks: Array<[number, number]> = [];
          for (let b = i + 2; b < i + len; b += 8) blocks.push([u32be(buf, b), u32be(buf, b + 4)]);
          options.sack = blocks;
        }
        break;
      case OPT_TIMESTAMPS:
        if (len === 10) options.timestamps = { tsVal: u32be(buf, i + 2), tsEcr: u32be(buf, i + 6) };
        break;
    }
    i += len;
  }
  return {
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    seq: p.seq,
    ack: p.ack,
    flags: p.flags,
    window: p.window,
    urgent: p.urgent,
    options,
    payload: p.payload,
  };
}

/**
 * How many SACK blocks fit beside the other options: 40 bytes minus the rest,
 * minus NOP NOP kind len, in 8-byte blocks (RFC 2018 §3: 3 with timestamps, 4 without).
 */
function sackBlocksThatFit(o: TcpOptions, othersLen: number): number {
  if (!o.sack || o.sack.length === 0) return 0;
  return Math.max(0, Math.min(o.sack.length, Math.floor((TCP_MAX_OPTIONS_LEN - othersLen - 4) / 8)));
}

function optionsLenWithoutSack(o: TcpOptions): number {
  let n = 0;
  if (o.mss !== undefined) n += 4;
  if (o.timestamps) n += 12; // SACK-perm + TS, or NOP NOP TS
  else if (o.sackPermitted) n += 4; // NOP NOP SACK-perm
  if (o.windowScale !== undefined) n += 4; // NOP WS
  return n;
}

/** Header length for these options: 20 + options, padded to 4 (they are laid out 4-aligned already). */
export function tcpHeaderLen(options: TcpOptions): number {
  const others = optionsLenWithoutSack(options);
  const blocks = sackBlocksThatFit(options, others);
  return TCP_HEADER_LEN + others + (blocks > 0 ? 4 + 8 * blocks : 0);
}

/**
 * Write header, options (in Linux's SYN order: MSS, SACK-perm, timestamps,
 * NOP, window scale; then NOP NOP SACK), payload (copied unless it already
 * sits right after the header in `buf`) and checksum at `offset`. SACK blocks
 * that do not fit in 40 option bytes are left out. Returns the segment's
 * length, header and payload.
 *
 * `headerOnly` (with `partialChecksum` only): write the header and leave the
 * payload out of `buf`; the caller sends the payload views after it.
 *
 * `partialChecksum`: leave the checksum for the receiver to complete, as
 * Linux does for CHECKSUM_PARTIAL (the field holds the folded pseudo-header
 * sum, so summing from the TCP header to the end yields the full sum); only
 * for a link that says so to its peer (virtio-net NEEDS_CSUM, tap.ts).
 */
export function emitTcp(repr: TcpRepr, buf: Buffer, offset: number, src: Ipv4, dst: Ipv4, partialChecksum = false, headerOnly = false): number {
  if (headerOnly && !partialChecksum) throw new RangeError('emitTcp: a header-only segment needs a partial checksum');
  const o = repr.options;
  const headerLen = tcpHeaderLen(o);
  const total = headerLen + tcpPayloadLength(repr);
  put16be(buf, offset + SRC_PORT, repr.srcPort);
  put16be(buf, offset + DST_PORT, repr.dstPort);
  put32be(buf, offset + SEQ, repr.seq >>> 0);
  put32be(buf, offset + ACK, repr.ack >>> 0);
  buf[offset + DATA_OFF] = (headerLen / 4) << 4;
  buf[offset + FLAGS] = repr.flags & 0xff;
  put16be(buf, offset + WINDOW, repr.window);
  put16be(buf, offset + CHECKSUM, 0);
  put16be(buf, offset + URGENT, repr.urgent);

  let i = offset + TCP_HEADER_LEN;
  if (o.mss !== undefined) {
    buf[i] = OPT_MSS;
    buf[i + 1] = 4;
    put16be(buf, i + 2, o.mss);
    i += 4;
  }
  if (o.timestamps) {
    if (o.sackPermitted) {
      buf[i] = OPT_SACK_PERM;
      buf[i + 1] = 2;
    } else {
      buf[i] = OPT_NOP;
      buf[i + 1] = OPT_NOP;
    }
    buf[i + 2] = OPT_TIMESTAMPS;
    buf[i + 3] = 10;
    put32be(buf, i + 4, o.timestamps.tsVal >>> 0);
    put32be(buf, i + 8, o.timestamps.tsEcr >>> 0);
    i += 12;
  } else if (o.sackPermitted) {
    buf[i] = OPT_NOP;
    buf[i + 1] = OPT_NOP;
    buf[i + 2] = OPT_SACK_PERM;
    buf[i + 3] = 2;
    i += 4;
  }
  if (o.windowScale !== undefined) {
    buf[i] = OPT_NOP;
    buf[i + 1] = OPT_WSCALE;
    buf[i + 2] = 3;
    buf[i + 3] = o.windowScale;
    i += 4;
  }
  const blocks = sackBlocksThatFit(o, optionsLenWithoutSack(o));
  if (blocks > 0) {
    buf[i] = OPT_NOP;
    buf[i + 1] = OPT_NOP;
    buf[i + 2] = OPT_SACK;
    buf[i + 3] = 2 + 8 * blocks;
    i += 4;
    for (let b = 0; b < blocks; b++) {
      put32be(buf, i, o.sack![b][0] >>> 0);
      put32be(buf, i + 4, o.sack![b][1] >>> 0);
      i += 8;
    }
  }

  const at = offset + headerLen;
  const p = repr.payload;
  if (!headerOnly) {
    // Most segments sent are pure ACKs: skip the copy's argument checks. The
    // offsets are compared first: .buffer is a call into V8's C++ runtime, and
    // a payload from the send queue lies in a slab, never at this offset of `buf`.
    if (p.length > 0 && !(p.byteOffset === buf.byteOffset + at && p.buffer === buf.buffer)) p.copy(buf, at);
    if (repr.payloadRest) {
      let pos = at + p.length;
      for (const part of repr.payloadRest) pos += part.copy(buf, pos);
    }
  }
  if (partialChecksum) {
    put16be(buf, offset + CHECKSUM, ~finishChecksum(pseudoHeaderSum(src, dst, PROTO_TCP, total)) & 0xffff);
    return total;
  }
  const sum = onesComplementSum(buf, offset, offset + total, pseudoHeaderSum(src, dst, PROTO_TCP, total));
  put16be(buf, offset + CHECKSUM, finishChecksum(sum));
  return total;
}
