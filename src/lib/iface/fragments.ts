/**
 * IPv4 fragment reassembly (RFC 791 §3.2 "Fragmentation and reassembly";
 * RFC 815 for the hole bookkeeping idea). Sans-IO: the caller passes `now`
 * (ms) to `push` and `expire`, and asks `pollAt()` when to call `expire` next.
 *
 * - Fragments belong together by (source, destination, protocol, id) (RFC 791).
 * - Fragment data is copied (the frame buffer is reused by the transport);
 *   the result is a fresh, unfragmented packet: the first fragment's header
 *   (options included), MF=0, offset 0, the full total length and a new
 *   checksum, so `Ipv4Packet.checked` accepts it.
 * - A datagram whose fragments overlap is discarded whole, and so are its
 *   later fragments until its timer runs out: RFC 5722 §4 says this for IPv6;
 *   Linux applies it to IPv4 too (net/ipv4/ip_fragment.c). Exact duplicates
 *   (same offset and length) are ignored. Counted `frag_overlap`.
 * - A datagram that would exceed 65535 bytes is discarded (`frag_too_big`):
 *   the "ping of death" check. A non-final fragment whose length is not a
 *   multiple of 8, or pieces that disagree about the end, count `frag_bad_length`.
 * - All pending fragment bytes together stay under `maxBytes`; to make room the
 *   oldest datagrams are evicted (`frag_memory`).
 * - A datagram not complete `timeoutMs` after its first fragment is dropped
 *   (`frag_timeout`); RFC 791 suggests 15 s, Linux uses 30 s.
 * Nothing here throws on bad input.
 */
import type { Counters } from '../counters.js';
import { IPV4_MAX_LEN, Ipv4Packet, rewriteIpv4Header, IPV4_FLAG_DF } from '../wire/ipv4.js';

export interface ReassemblerOptions {
  /** Cap on fragment bytes held across all datagrams. Default 4 MiB. */
  maxBytes?: number;
  /** Reassembly timeout from the first fragment, in ms. Default 30000. */
  timeoutMs?: number;
}

interface Piece {
  offset: number;
  data: Buffer;
}

interface Datagram {
  deadline: number;
  /** Sorted by offset, never overlapping. */
  pieces: Piece[];
  /** Header of the offset-0 fragment, once seen. */
  header?: Buffer;
  /** Payload length, once the MF=0 fragment is seen. */
  end?: number;
  received: number;
  /** Bytes charged against maxBytes. */
  bytes: number;
  /** Set after an overlap: later fragments are swallowed until the deadline. */
  dead: boolean;
}

export class Ipv4Reassembler {
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  /** Insertion order is arrival order of each datagram's first fragment, hence deadline order. */
  private readonly datagrams = new Map<string, Datagram>();
  private bytes = 0;

  constructor(
    private readonly counters: Counters,
    opts: ReassemblerOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** Fragment bytes currently held. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Datagrams currently pending (including discarded ones still swallowing fragments). */
  get pending(): number {
    return this.datagrams.size;
  }

  /**
   * Feed one checked packet. Returns the whole datagram when this fragment
   * completes it, `pkt.buf` itself when it is not a fragment, else null.
   */
  push(now: number, pkt: Ipv4Packet): Buffer | null {
    if (!pkt.isFragment) return pkt.buf;
    this.expire(now);

    const key = `${pkt.src}/${pkt.dst}/${pkt.protocol}/${pkt.id}`;
    let dg = this.datagrams.get(key);
    if (dg?.dead) {
      this.counters.drop('frag_overlap');
      return null;
    }
    const data = pkt.payload;
    const offset = pkt.fragmentOffset;
    const last = !pkt.moreFragments;
    const endHere = offset + data.length;

    if (!last && data.length % 8 !== 0) return this.fail(key, dg, 'frag_bad_length');
    if (pkt.headerLen + endHere > IPV4_MAX_LEN) return this.fail(key, dg, 'frag_too_big');
    if (data.length === 0) return this.fail(key, dg, 'frag_bad_length');

    if (!dg) {
      dg = { deadline: now + this.timeoutMs, pieces: [], received: 0, bytes: 0, dead: false };
      this.datagrams.set(key, dg);
    }

    // RFC 791: the MF=0 fragment fixes the datagram's end; nothing may lie past it.
    if (last) {
      if (dg.end !== undefined && dg.end !== endHere) return this.fail(key, dg, 'frag_bad_length');
      const maxSeen = dg.pieces.length ? dg.pieces[dg.pieces.length - 1].data.length + dg.pieces[dg.pieces.length - 1].offset : 0;
      if (maxSeen > endHere) return this.fail(key, dg, 'frag_bad_length');
    } else if (dg.end !== undefined && endHere > dg.end) {
      return this.fail(key, dg, 'frag_bad_length');
    }

    // Find the insertion point; detect overlap with neighbours (RFC 5722 §4).
    const pieces = dg.pieces;
    let at = pieces.length;
    while (at > 0 && pieces[at - 1].offset > offset) at--;
    const prev = at > 0 ? pieces[at - 1] : undefined;
    if (prev && prev.offset === offset && prev.data.length === data.length) {
      this.counters.drop('frag_duplicate');
      return null;
    }
    if (prev && prev.offset + prev.data.length > offset) return this.kill(key, dg);
    const next = at < pieces.length ? pieces[at] : undefined;
    if (next && endHere > next.offset) return this.kill(key, dg);

    // Memory cap: evict oldest datagrams (possibly this one) until the piece fits.
    const cost = data.length + (offset === 0 ? pkt.headerLen : 0);
    while (this.bytes + cost > this.maxBytes && this.datagrams.size > 0) {
      const [oldKey, old] = this.datagrams.entries().next().value as [string, Datagram];
      this.remove(oldKey, old);
      if (!old.dead) this.counters.drop('frag_memory');
      if (old === dg) return null;
    }
    if (cost > this.maxBytes) return null;

    pieces.splice(at, 0, { offset, data: Buffer.from(data) });
    if (offset === 0) dg.header = Buffer.from(pkt.buf.subarray(0, pkt.headerLen));
    if (last) dg.end = endHere;
    dg.received += data.length;
    dg.bytes += cost;
    this.bytes += cost;

    if (dg.end === undefined || dg.header === undefined || dg.received !== dg.end) return null;
    // Pieces never overlap and lie within [0, end), so equal byte count means full coverage.
    this.remove(key, dg);
    this.counters.inc('ipv4.reassembled');
    return assemble(dg.header, pieces, dg.end);
  }

  /** Drop datagrams whose timer ran out by `now` (RFC 791 reassembly timeout). */
  expire(now: number): void {
    for (const [key, dg] of this.datagrams) {
      if (dg.deadline > now) break;
      this.remove(key, dg);
      if (!dg.dead) this.counters.drop('frag_timeout');
    }
  }

  /** When `expire` next has work, or undefined when nothing is pending. */
  pollAt(): number | undefined {
    for (const dg of this.datagrams.values()) return dg.deadline;
    return undefined;
  }

  private remove(key: string, dg: Datagram): void {
    this.datagrams.delete(key);
    this.bytes -= dg.bytes;
    dg.bytes = 0;
    dg.pieces = [];
  }

  /** Overlap: free the data, keep a tombstone that swallows the rest until the deadline. */
  private kill(key: string, dg: Datagram): null {
    this.bytes -= dg.bytes;
    dg.bytes = 0;
    dg.pieces = [];
    dg.header = undefined;
    dg.dead = true;
    this.counters.drop('frag_overlap');
    this.datagrams.set(key, dg);
    return null;
  }

  /** A bad fragment poisons its whole datagram. */
  private fail(key: string, dg: Datagram | undefined, reason: string): null {
    if (dg) this.remove(key, dg);
    this.counters.drop(reason);
    return null;
  }
}

function assemble(header: Buffer, pieces: Piece[], end: number): Buffer {
  const hl = header.length;
  const out = Buffer.allocUnsafe(hl + end);
  header.copy(out, 0);
  for (const p of pieces) p.data.copy(out, hl + p.offset);
  const df = header.readUInt16BE(6) & IPV4_FLAG_DF;
  rewriteIpv4Header(out, 0, hl, hl + end, df);
  return out;
}
