/**
 * IPv4 headers (RFC 791 §3.1). `Ipv4Packet.checked` accepts a buffer only when
 * the version is 4, IHL ≥ 5, the header fits, total length ≥ header length and
 * ≤ the buffer, and the header checksum verifies (RFC 791, RFC 1071); the view
 * it returns is trimmed to the total length, so Ethernet padding is gone.
 * IP options are kept in the header and skipped (payload starts at IHL*4);
 * hnet never emits options. Fragments are views too: reassembly lives in
 * src/lib/iface/fragments.ts. For sending, `Ipv4Repr.emit` writes a 20-byte
 * header with checksum; `planFragments` + `emitFragmentHeader` split a payload
 * that does not fit the MTU (RFC 791 §2.3 "Fragmentation", offsets in 8-byte units).
 */
import { type Ipv4 } from './addr.js';
import { finishChecksum, onesComplementSum } from './checksum.js';
import { check } from './errors.js';
import { put16be, put32be, u16be, u32be } from './bytes.js';

export const IpProtocol = { ICMP: 1, TCP: 6, UDP: 17 } as const;

export const IPV4_HEADER_LEN = 20;
/** RFC 791: the total length field is 16 bits. */
export const IPV4_MAX_LEN = 65535;

// Field offsets (RFC 791 §3.1 "Internet Header Format").
const VER_IHL = 0;
const DSCP_ECN = 1;
const TOTAL_LEN = 2;
const IDENT = 4;
const FLAGS_FRAG = 6;
const TTL = 8;
const PROTOCOL = 9;
const CHECKSUM = 10;
const SRC = 12;
const DST = 16;

const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_MASK = 0x1fff;

export class Ipv4Packet {
  private constructor(readonly buf: Buffer) {}

  static checked(buf: Buffer): Ipv4Packet {
    check(buf.length >= IPV4_HEADER_LEN, 'ipv4_truncated');
    check(buf[VER_IHL] >>> 4 === 4, 'ipv4_bad_version');
    const headerLen = (buf[VER_IHL] & 0x0f) * 4;
    check(headerLen >= IPV4_HEADER_LEN, 'ipv4_bad_header_len');
    check(headerLen <= buf.length, 'ipv4_truncated');
    const totalLen = u16be(buf, TOTAL_LEN);
    check(totalLen >= headerLen, 'ipv4_bad_length');
    check(totalLen <= buf.length, 'ipv4_truncated');
    check(finishChecksum(onesComplementSum(buf, 0, headerLen)) === 0, 'ipv4_bad_checksum');
    return new Ipv4Packet(totalLen === buf.length ? buf : buf.subarray(0, totalLen));
  }

  get headerLen(): number {
    return (this.buf[VER_IHL] & 0x0f) * 4;
  }

  get totalLen(): number {
    return this.buf.length;
  }

  get dscpEcn(): number {
    return this.buf[DSCP_ECN];
  }

  get id(): number {
    return u16be(this.buf, IDENT);
  }

  get dontFragment(): boolean {
    return (u16be(this.buf, FLAGS_FRAG) & FLAG_DF) !== 0;
  }

  get moreFragments(): boolean {
    return (u16be(this.buf, FLAGS_FRAG) & FLAG_MF) !== 0;
  }

  /** Offset of this fragment's payload within the datagram, in bytes. */
  get fragmentOffset(): number {
    return (u16be(this.buf, FLAGS_FRAG) & FRAG_MASK) * 8;
  }

  /** True for every piece of a fragmented datagram (MF set or a non-zero offset). */
  get isFragment(): boolean {
    return (u16be(this.buf, FLAGS_FRAG) & (FLAG_MF | FRAG_MASK)) !== 0;
  }

  get ttl(): number {
    return this.buf[TTL];
  }

  get protocol(): number {
    return this.buf[PROTOCOL];
  }

  get checksum(): number {
    return u16be(this.buf, CHECKSUM);
  }

  get src(): Ipv4 {
    return u32be(this.buf, SRC);
  }

  get dst(): Ipv4 {
    return u32be(this.buf, DST);
  }

  get payload(): Buffer {
    return this.buf.subarray(this.headerLen);
  }
}

/** The IP header and 8 payload bytes of a checked datagram: what an ICMP error quotes (RFC 792). A view. */
export function ipv4Quote(datagram: Buffer): Buffer {
  return datagram.subarray(0, Math.min(datagram.length, (datagram[VER_IHL] & 0x0f) * 4 + 8));
}

export interface Ipv4Fields {
  src: Ipv4;
  dst: Ipv4;
  protocol: number;
  /** Bytes after the header. */
  payloadLen: number;
  /** Default 64. */
  ttl?: number;
  /** Default 0. */
  id?: number;
  /** Default false. */
  dontFragment?: boolean;
  /** Default 0. */
  dscpEcn?: number;
}

export class Ipv4Repr {
  src: Ipv4;
  dst: Ipv4;
  protocol: number;
  ttl: number;
  payloadLen: number;
  id: number;
  dontFragment: boolean;
  dscpEcn: number;

  constructor(f: Ipv4Fields) {
    this.src = f.src;
    this.dst = f.dst;
    this.protocol = f.protocol;
    this.payloadLen = f.payloadLen;
    this.ttl = f.ttl ?? 64;
    this.id = f.id ?? 0;
    this.dontFragment = f.dontFragment ?? false;
    this.dscpEcn = f.dscpEcn ?? 0;
  }

  /** Options are not carried; payloadLen is what follows IHL*4. Fragment fields are not carried either. */
  static parse(p: Ipv4Packet): Ipv4Repr {
    return new Ipv4Repr({
      src: p.src,
      dst: p.dst,
      protocol: p.protocol,
      payloadLen: p.totalLen - p.headerLen,
      ttl: p.ttl,
      id: p.id,
      dontFragment: p.dontFragment,
      dscpEcn: p.dscpEcn,
    });
  }

  /** Write an unfragmented 20-byte header with its checksum at `offset`; returns 20. */
  emit(buf: Buffer, offset: number): number {
    return writeHeader(this, buf, offset, 0, false, this.payloadLen);
  }
}

/** One piece of a fragmented payload: byte offset, length, and the MF flag. */
export interface FragmentPlan {
  offset: number;
  length: number;
  more: boolean;
}

/**
 * Split `payloadLen` bytes for a link whose MTU (largest IPv4 packet, header
 * included) is `mtu`. Every fragment but the last carries a multiple of 8
 * bytes (RFC 791 §3.2 "Fragmentation and reassembly"); a payload that fits
 * yields a single unfragmented plan entry with more=false.
 */
export function planFragments(payloadLen: number, mtu: number): FragmentPlan[] {
  const maxChunk = Math.floor((mtu - IPV4_HEADER_LEN) / 8) * 8;
  if (maxChunk <= 0) throw new RangeError(`mtu ${mtu} leaves no room for fragment payload`);
  if (payloadLen + IPV4_HEADER_LEN <= mtu) return [{ offset: 0, length: payloadLen, more: false }];
  const plan: FragmentPlan[] = [];
  for (let off = 0; off < payloadLen; off += maxChunk) {
    const length = Math.min(maxChunk, payloadLen - off);
    plan.push({ offset: off, length, more: off + length < payloadLen });
  }
  return plan;
}

/**
 * Write the 20-byte header of one fragment of `repr` (its payloadLen is the
 * whole datagram's; `frag` comes from planFragments) at `offset`; returns 20.
 * The caller puts datagram bytes [frag.offset, frag.offset + frag.length) after it.
 */
export function emitFragmentHeader(buf: Buffer, offset: number, repr: Ipv4Repr, frag: FragmentPlan): number {
  if (frag.more && frag.length % 8 !== 0) throw new RangeError('a non-final fragment must carry a multiple of 8 bytes');
  return writeHeader(repr, buf, offset, frag.offset, frag.more, frag.length);
}

function writeHeader(r: Ipv4Repr, buf: Buffer, o: number, fragOffset: number, more: boolean, payloadLen: number): number {
  buf[o + VER_IHL] = 0x45;
  buf[o + DSCP_ECN] = r.dscpEcn;
  put16be(buf, o + TOTAL_LEN, IPV4_HEADER_LEN + payloadLen);
  put16be(buf, o + IDENT, r.id & 0xffff);
  put16be(buf, o + FLAGS_FRAG, (r.dontFragment ? FLAG_DF : 0) | (more ? FLAG_MF : 0) | (fragOffset >>> 3));
  buf[o + TTL] = r.ttl;
  buf[o + PROTOCOL] = r.protocol;
  put16be(buf, o + CHECKSUM, 0);
  put32be(buf, o + SRC, r.src >>> 0);
  put32be(buf, o + DST, r.dst >>> 0);
  put16be(buf, o + CHECKSUM, finishChecksum(onesComplementSum(buf, o, o + IPV4_HEADER_LEN)));
  return IPV4_HEADER_LEN;
}

/**
 * Rewrite total length, flags/offset and checksum of a header in place (used by
 * reassembly and by NAT-style rewriting). `headerLen` bytes at `offset` must
 * already hold a header.
 */
export function rewriteIpv4Header(buf: Buffer, offset: number, headerLen: number, totalLen: number, flagsFrag: number): void {
  put16be(buf, offset + TOTAL_LEN, totalLen);
  put16be(buf, offset + FLAGS_FRAG, flagsFrag);
  put16be(buf, offset + CHECKSUM, 0);
  put16be(buf, offset + CHECKSUM, finishChecksum(onesComplementSum(buf, offset, offset + headerLen)));
}

export const IPV4_FLAG_DF = FLAG_DF;
export const IPV4_FLAG_MF = FLAG_MF;
