/**
 * ICMPv4 (RFC 792). `Icmpv4Packet.checked` takes the IPv4 payload (already
 * trimmed to the IP total length), requires the 8-byte header and a valid
 * checksum over the whole message. `Icmpv4Repr` is a discriminated union on
 * `kind`: echo request/reply, destination unreachable (with the next-hop MTU
 * of RFC 1191 §4 for code 4), time exceeded, and `other` for every type hnet
 * does not speak, which parses without throwing so the caller can count it.
 * `original` in error messages is the offending IP header plus payload bytes:
 * RFC 792 asks for at least 8 payload bytes, RFC 1812 §4.3.2.3 allows up to a
 * 576-byte ICMP datagram; `icmpQuote` cuts a packet to that size.
 */
import { finishChecksum, onesComplementSum } from './checksum.js';
import { check } from './errors.js';
import { put16be, put32be, u16be } from './bytes.js';

export const Icmpv4Type = { EchoReply: 0, DstUnreachable: 3, EchoRequest: 8, TimeExceeded: 11 } as const;

/** RFC 792 destination-unreachable codes used by hnet. */
export const Icmpv4Unreachable = {
  NetUnreachable: 0,
  HostUnreachable: 1,
  ProtocolUnreachable: 2,
  PortUnreachable: 3,
  FragNeeded: 4,
  AdminProhibited: 13,
} as const;

export const ICMPV4_HEADER_LEN = 8;
/** RFC 1812 §4.3.2.3: an ICMP error datagram is at most 576 bytes: 20 IP + 8 ICMP + 548 quoted. */
export const ICMPV4_MAX_QUOTE = 576 - 20 - ICMPV4_HEADER_LEN;

// Field offsets (RFC 792).
const TYPE = 0;
const CODE = 1;
const CHECKSUM = 2;
const IDENT = 4;
const SEQ = 6;
const NEXT_HOP_MTU = 6;

export class Icmpv4Packet {
  private constructor(readonly buf: Buffer) {}

  static checked(buf: Buffer): Icmpv4Packet {
    check(buf.length >= ICMPV4_HEADER_LEN, 'icmpv4_truncated');
    check(finishChecksum(onesComplementSum(buf, 0, buf.length)) === 0, 'icmpv4_bad_checksum');
    return new Icmpv4Packet(buf);
  }

  get type(): number {
    return this.buf[TYPE];
  }

  get code(): number {
    return this.buf[CODE];
  }

  get checksum(): number {
    return u16be(this.buf, CHECKSUM);
  }

  /** Echo identifier (bytes 4-5); for other types the raw "rest of header". */
  get ident(): number {
    return u16be(this.buf, IDENT);
  }

  get seqNo(): number {
    return u16be(this.buf, SEQ);
  }

  /** Everything after the 8-byte header. */
  get data(): Buffer {
    return this.buf.subarray(ICMPV4_HEADER_LEN);
  }
}

export interface IcmpEcho {
  kind: 'echoRequest' | 'echoReply';
  ident: number;
  seqNo: number;
  data: Buffer;
}

export interface IcmpDstUnreachable {
  kind: 'dstUnreachable';
  code: number;
  /** RFC 1191: only meaningful with code 4 (fragmentation needed and DF set). */
  nextHopMtu?: number;
  original: Buffer;
}

export interface IcmpTimeExceeded {
  kind: 'timeExceeded';
  /** 0: TTL exceeded in transit, 1: fragment reassembly time exceeded. */
  code: number;
  original: Buffer;
}

export interface IcmpOther {
  kind: 'other';
  type: number;
  code: number;
  /** Bytes 4..end: the "rest of header" word and the data. */
  raw: Buffer;
}

export type Icmpv4Repr = IcmpEcho | IcmpDstUnreachable | IcmpTimeExceeded | IcmpOther;

/** Views into the packet: copy data/original/raw before keeping them past the frame. */
export function parseIcmpv4(p: Icmpv4Packet): Icmpv4Repr {
  switch (p.type) {
    case Icmpv4Type.EchoRequest:
    case Icmpv4Type.EchoReply:
      return {
        kind: p.type === Icmpv4Type.EchoRequest ? 'echoRequest' : 'echoReply',
        ident: p.ident,
        seqNo: p.seqNo,
        data: p.data,
      };
    case Icmpv4Type.DstUnreachable: {
      const r: IcmpDstUnreachable = { kind: 'dstUnreachable', code: p.code, original: p.data };
      if (p.code === Icmpv4Unreachable.FragNeeded) r.nextHopMtu = u16be(p.buf, NEXT_HOP_MTU);
      return r;
    }
    case Icmpv4Type.TimeExceeded:
      return { kind: 'timeExceeded', code: p.code, original: p.data };
    default:
      return { kind: 'other', type: p.type, code: p.code, raw: p.buf.subarray(4) };
  }
}

/** Bytes `emitIcmpv4` writes for `repr`. */
export function icmpv4Len(repr: Icmpv4Repr): number {
  switch (repr.kind) {
    case 'echoRequest':
    case 'echoReply':
      return ICMPV4_HEADER_LEN + repr.data.length;
    case 'dstUnreachable':
    case 'timeExceeded':
      return ICMPV4_HEADER_LEN + repr.original.length;
    case 'other':
      return 4 + repr.raw.length;
  }
}

/** Copy `src` into buf at `at` unless it already sits exactly there. */
function place(src: Buffer, buf: Buffer, at: number): void {
  if (src.buffer === buf.buffer && src.byteOffset === buf.byteOffset + at) return;
  src.copy(buf, at);
}

/** Write the message with its checksum at `offset`; returns the bytes written. */
export function emitIcmpv4(repr: Icmpv4Repr, buf: Buffer, offset: number): number {
  const len = icmpv4Len(repr);
  switch (repr.kind) {
    case 'echoRequest':
    case 'echoReply':
      buf[offset + TYPE] = repr.kind === 'echoRequest' ? Icmpv4Type.EchoRequest : Icmpv4Type.EchoReply;
      buf[offset + CODE] = 0;
      put16be(buf, offset + IDENT, repr.ident);
      put16be(buf, offset + SEQ, repr.seqNo);
      place(repr.data, buf, offset + ICMPV4_HEADER_LEN);
      break;
    case 'dstUnreachable':
      buf[offset + TYPE] = Icmpv4Type.DstUnreachable;
      buf[offset + CODE] = repr.code;
      put16be(buf, offset + 4, 0);
      put16be(buf, offset + NEXT_HOP_MTU, repr.nextHopMtu ?? 0);
      place(repr.original, buf, offset + ICMPV4_HEADER_LEN);
      break;
    case 'timeExceeded':
      buf[offset + TYPE] = Icmpv4Type.TimeExceeded;
      buf[offset + CODE] = repr.code;
      put32be(buf, offset + 4, 0);
      place(repr.original, buf, offset + ICMPV4_HEADER_LEN);
      break;
    case 'other':
      buf[offset + TYPE] = repr.type;
      buf[offset + CODE] = repr.code;
      place(repr.raw, buf, offset + 4);
      break;
  }
  put16be(buf, offset + CHECKSUM, 0);
  put16be(buf, offset + CHECKSUM, finishChecksum(onesComplementSum(buf, offset, offset + len)));
  return len;
}

/** `Icmpv4Repr.parse(p)` / `Icmpv4Repr.emit(repr, buf, offset)` / `Icmpv4Repr.len(repr)`, same as the functions. */
export const Icmpv4Repr = { parse: parseIcmpv4, emit: emitIcmpv4, len: icmpv4Len } as const;

/**
 * The part of an offending IPv4 packet an ICMP error quotes: the whole packet
 * up to `limit` bytes (default: what fits a 576-byte error, RFC 1812 §4.3.2.3;
 * never less than header + 8 bytes when the packet has them, RFC 792). A view.
 */
export function icmpQuote(ipPacket: Buffer, limit = ICMPV4_MAX_QUOTE): Buffer {
  return ipPacket.subarray(0, Math.min(ipPacket.length, limit));
}
