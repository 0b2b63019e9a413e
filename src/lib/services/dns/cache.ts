/**
 * A bounded, TTL-respecting cache of whole DNS responses (RFC 1035 §7.4,
 * RFC 2181 §8, negative answers per RFC 2308 §5).
 *
 * Responses are kept as wire bytes. On a hit the TTL of every record is
 * lowered by the time spent in the cache (patched in place on a copy; the
 * OPT pseudo-record's TTL field holds EDNS flags and is left alone, RFC 6891
 * §6.1.3) and the caller's id is written in. The entry lives for the smallest
 * TTL of its answer records; a negative answer (NXDOMAIN, or NOERROR without
 * answers) lives for min(SOA TTL, SOA MINIMUM) of the SOA in its authority
 * section and is not cached without one (RFC 2308 §5). Truncated responses
 * and other rcodes are not cached. At most `maxEntries`, least recently used
 * evicted first; TTLs are capped at `maxTtlS`.
 *
 * The clock is passed in (ms), so tests use a fake one.
 */

const TYPE_SOA = 6;
const TYPE_OPT = 41;
const RCODE_NOERROR = 0;
const RCODE_NXDOMAIN = 3;
const FLAG_TC = 0x0200;

interface Walked {
  /** byte offsets of the TTL fields to age */
  ttlOffsets: number[];
  /** seconds this response may be cached, or undefined if not cacheable */
  ttl: number | undefined;
}

/** Skip a (possibly compressed) name; returns the offset after it, or -1 if malformed. */
function skipName(buf: Buffer, off: number): number {
  for (let labels = 0; labels < 128; labels++) {
    if (off >= buf.length) return -1;
    const len = buf[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= buf.length ? off + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    off += 1 + len;
  }
  return -1;
}

/** Walk a response's records (RFC 1035 §4.1); undefined if it does not parse. */
export function walkResponse(buf: Buffer): Walked | undefined {
  if (buf.length < 12) return undefined;
  const flags = buf.readUInt16BE(2);
  const rcode = flags & 0xf;
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  let off = 12;
  for (let i = 0; i < qd; i++) {
    off = skipName(buf, off);
    if (off < 0 || off + 4 > buf.length) return undefined;
    off += 4;
  }
  const ttlOffsets: number[] = [];
  let answerTtl = Infinity;
  let negTtl: number | undefined;
  for (let i = 0; i < an + ns + ar; i++) {
    off = skipName(buf, off);
    if (off < 0 || off + 10 > buf.length) return undefined;
    const type = buf.readUInt16BE(off);
    const ttl = buf.readUInt32BE(off + 4);
    const rdlen = buf.readUInt16BE(off + 8);
    const rdata = off + 10;
    if (rdata + rdlen > buf.length) return undefined;
    if (type !== TYPE_OPT) ttlOffsets.push(off + 4);
    if (i < an) answerTtl = Math.min(answerTtl, ttl);
    else if (i < an + ns && type === TYPE_SOA) {
      // SOA RDATA: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 §3.3.13)
      let p = skipName(buf, rdata);
      if (p >= 0) p = skipName(buf, p);
      if (p >= 0 && p + 20 <= rdata + rdlen) negTtl = Math.min(ttl, buf.readUInt32BE(p + 16));
    }
    off = rdata + rdlen;
  }
  let ttl: number | undefined;
  if (flags & FLAG_TC) ttl = undefined;
  else if (rcode === RCODE_NOERROR && an > 0) ttl = answerTtl;
  else if (rcode === RCODE_NXDOMAIN || (rcode === RCODE_NOERROR && an === 0)) ttl = negTtl;
  return { ttlOffsets, ttl };
}

/** End of an uncompressed single question (RFC 1035 §4.1.2), or -1. */
export function questionEnd(buf: Buffer): number {
  if (buf.length < 12) return -1;
  let off = 12;
  for (let i = 0; i < 128 && off < buf.length; i++) {
    const len = buf[off];
    if (len === 0) return off + 5 <= buf.length ? off + 5 : -1;
    if ((len & 0xc0) !== 0) return -1;
    off += 1 + len;
  }
  return -1;
}

interface Entry {
  wire: Buffer;
  storedAt: number;
  expiresAt: number;
  ttlOffsets: number[];
}

export class DnsCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxEntries = 1024,
    private readonly maxTtlS = 86400,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Store `wire` under `key` if it is cacheable; returns whether it was stored. */
  put(key: string, wire: Buffer, now: number): boolean {
    const walked = walkResponse(wire);
    if (!walked || walked.ttl === undefined || walked.ttl <= 0) return false;
    const ttl = Math.min(walked.ttl, this.maxTtlS);
    this.entries.delete(key);
    this.entries.set(key, { wire: Buffer.from(wire), storedAt: now, expiresAt: now + ttl * 1000, ttlOffsets: walked.ttlOffsets });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return true;
  }

  /**
   * A fresh copy of the cached response with aged TTLs and `id`, or undefined.
   * With `query`, its question is copied over the cached one when both are
   * uncompressed and equally long: the name's letter case is the asker's, as
   * resolvers that randomise it (DNS 0x20) check.
   */
  get(key: string, id: number, now: number, query?: Buffer): Buffer | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (now >= e.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key); // most recently used goes last
    this.entries.set(key, e);
    const out = Buffer.from(e.wire);
    out.writeUInt16BE(id, 0);
    if (query) {
      const q = questionEnd(query);
      if (q > 0 && q === questionEnd(out)) query.copy(out, 12, 12, q);
    }
    const aged = Math.floor((now - e.storedAt) / 1000);
    for (const off of e.ttlOffsets) out.writeUInt32BE(Math.max(0, out.readUInt32BE(off) - aged), off);
    return out;
  }

  clear(): void {
    this.entries.clear();
  }
}
