/**
 * The gateway's DNS server (RFC 1035, RFC 2308, RFC 6891, RFC 7766).
 *
 * handleUdp(query) / handleTcp(query) take one DNS message (for TCP, one
 * message the DnsTcpFramer cut out of the stream) and resolve to the reply
 * message or null (dropped). They never reject: bad input is counted as
 * `drop.dns_malformed` and dropped (no usable header, or a response) or
 * answered FORMERR (RFC 1035 §4.1.1).
 *
 * Answers, in order:
 *  1. local names: hnet's own (host/gateway/http .hnet.internal, host/gateway
 *     .docker.internal) and the user's records (A, AAAA, CNAME, TXT; aliases
 *     are A records under hnet.internal). hnet.internal is ours: unknown
 *     names there are NXDOMAIN, with an SOA for negative caching (RFC 2308 §3).
 *     Reverse (PTR) queries for their IPv4 addresses are answered too.
 *  2. A and AAAA through the host's resolver (getaddrinfo via opts.lookup), so
 *     /etc/hosts, VPN split DNS and per-domain resolvers apply. getaddrinfo has
 *     no NODATA: a name missing in one family but present in the other is
 *     NOERROR without answers, never NXDOMAIN (RFC 2308 §2.2); other lookup
 *     failures are SERVFAIL.
 *  3. every other query is forwarded verbatim with a random id (RFC 5452) to
 *     the upstreams (default: the host's resolv.conf nameservers, re-read
 *     every RESOLV_REFRESH_MS) and the answer
 *     passed back with the guest's id.
 * Answers from 2 and 3 are cached (cache.ts). A UDP reply is limited to 512
 * bytes, or to the client's EDNS payload size (RFC 6891 §6.2.5, at least 512,
 * at most opts.maxUdpSize); a larger one is replaced by its header and
 * question with TC set so the client retries over TCP (RFC 7766 §5). TCP
 * replies may use 65535 bytes.
 */
import { randomBytes } from 'node:crypto';
import { promises as dnsPromises } from 'node:dns';
import { isIPv6 } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet, Question } from 'dns-packet';
import type { Counters } from '../../counters.js';
import { ipv4ToString, parseIpv4, type Ipv4 } from '../../wire/addr.js';
import { DnsCache } from './cache.js';
import { readHostResolvConf } from './resolv-conf.js';
import { DnsUpstreams, type Upstream } from './upstream.js';

export interface DnsRecord {
  name: string;
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT';
  value: string;
}

/** Resolve `name` in one family; reject with err.code ENOTFOUND / ENODATA / other, like dns.promises.lookup. */
export type LookupFn = (name: string, family: 4 | 6) => Promise<string[]>;

export interface DnsServerOptions {
  hostIp: Ipv4;
  gateway: Ipv4;
  records?: DnsRecord[];
  /** default: nameservers of the host's /etc/resolv.conf */
  upstreams?: Upstream[];
  /** default: dns.promises.lookup(name, { all: true, family }) */
  lookup?: LookupFn;
  /** ms clock for the cache; default Date.now */
  now?: () => number;
  /** per upstream attempt, default 2000 */
  timeoutMs?: number;
  /** concurrent upstream exchanges, default 64; more are answered SERVFAIL */
  maxInflight?: number;
  /**
   * concurrent host lookups, default 8; more are answered SERVFAIL. getaddrinfo
   * runs on libuv's threadpool (4 threads unless UV_THREADPOOL_SIZE says more),
   * which file I/O shares, so slow lookups must not take all of it.
   */
  maxLookups?: number;
  /** cached responses, default 1024 */
  cacheEntries?: number;
  /** largest UDP reply whatever the client advertises, default 4096 */
  maxUdpSize?: number;
}

export const LOCAL_ZONE = 'hnet.internal';
/** TTL of local answers and of getaddrinfo results, which carry none (seconds). */
export const LOCAL_TTL_S = 60;
export const LOOKUP_TTL_S = 30;
/** How often the host's resolv.conf is re-read when no upstreams are configured (ms). */
export const RESOLV_REFRESH_MS = 5000;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const RA = 0x0080;
const CD = 0x0010;

interface LocalName {
  A: string[];
  AAAA: string[];
  TXT: string[];
  CNAME?: string;
}

async function hostLookup(name: string, family: 4 | 6): Promise<string[]> {
  const res = await dnsPromises.lookup(name, { all: true, family });
  return res.filter((r) => r.family === family).map((r) => r.address);
}

const norm = (name: string): string => name.toLowerCase().replace(/\.$/, '');

export class DnsServer {
  private readonly lookup: LookupFn;
  private readonly now: () => number;
  private readonly cache: DnsCache;
  private readonly upstreams: DnsUpstreams;
  private readonly maxUdp: number;
  private local = new Map<string, LocalName>();
  private ptr = new Map<string, string>();
  private lookups = 0;

  constructor(
    private readonly opts: DnsServerOptions,
    private readonly counters: Counters,
  ) {
    this.lookup = opts.lookup ?? hostLookup;
    this.now = opts.now ?? Date.now;
    this.cache = new DnsCache(opts.cacheEntries ?? 1024);
    this.maxUdp = Math.max(512, Math.min(opts.maxUdpSize ?? 4096, 65535));
    // The host's nameservers change with networks and VPNs: re-read resolv.conf every RESOLV_REFRESH_MS.
    let hostServers: Upstream[] = [];
    let readAt = -Infinity;
    const servers = opts.upstreams
      ? () => opts.upstreams!
      : () => {
          if (this.now() - readAt >= RESOLV_REFRESH_MS) {
            hostServers = readHostResolvConf().nameservers;
            readAt = this.now();
          }
          return hostServers;
        };
    this.upstreams = new DnsUpstreams(servers, counters, opts.timeoutMs ?? 2000, opts.maxInflight ?? 64);
    this.setRecords(opts.records ?? []);
  }

  /** Replace the user's records (config DNS records and alias names). Invalid ones are skipped and counted. */
  setRecords(records: DnsRecord[]): void {
    const local = new Map<string, LocalName>();
    const entry = (name: string): LocalName => {
      let e = local.get(norm(name));
      if (!e) local.set(norm(name), (e = { A: [], AAAA: [], TXT: [] }));
      return e;
    };
    const host = ipv4ToString(this.opts.hostIp);
    const gw = ipv4ToString(this.opts.gateway);
    for (const n of ['host.hnet.internal', 'host.docker.internal']) entry(n).A.push(host);
    for (const n of ['gateway.hnet.internal', 'gateway.docker.internal', 'http.hnet.internal']) entry(n).A.push(gw);
    for (const r of records) {
      const ok =
        (r.type === 'A' && parseIpv4(r.value) !== undefined) ||
        (r.type === 'AAAA' && isIPv6(r.value)) ||
        (r.type === 'CNAME' && r.value.length > 0) ||
        r.type === 'TXT';
      if (!ok || norm(r.name).length === 0) {
        this.counters.inc('dns_bad_record');
        continue;
      }
      const e = entry(r.name);
      if (r.type === 'CNAME') e.CNAME = norm(r.value);
      else if (r.type === 'A' || r.type === 'AAAA') e[r.type] = e[r.type].filter((v) => v !== r.value).concat(r.value);
      else e.TXT.push(r.value);
    }
    // PTR for every local A record: d.c.b.a.in-addr.arpa -> the first name (RFC 1035 §3.5)
    const ptr = new Map<string, string>();
    for (const [name, e] of local) {
      for (const a of e.A) {
        const rev = `${a.split('.').reverse().join('.')}.in-addr.arpa`;
        if (!ptr.has(rev)) ptr.set(rev, name);
      }
    }
    this.local = local;
    this.ptr = ptr;
    this.cache.clear();
  }

  handleUdp(query: Buffer): Promise<Buffer | null> {
    return this.handle(query, false);
  }

  handleTcp(query: Buffer): Promise<Buffer | null> {
    return this.handle(query, true);
  }

  private async handle(query: Buffer, tcp: boolean): Promise<Buffer | null> {
    try {
      return await this.answer(query, tcp);
    } catch {
      // a bug of ours, not the guest's: count it and drop rather than crash the stack
      this.counters.inc('dns_internal_error');
      return null;
    }
  }

  private async answer(query: Buffer, tcp: boolean): Promise<Buffer | null> {
    this.counters.inc(tcp ? 'dns.queries_tcp' : 'dns.queries_udp');
    // RFC 1035 §4.1.1: without a full header there is no id to answer; responses are never answered.
    if (query.length < 12 || query[2] & 0x80) {
      this.counters.drop('dns_malformed');
      return null;
    }
    const id = query.readUInt16BE(0);
    const opcode = (query[2] >> 3) & 0xf;
    let pkt: DecodedPacket;
    try {
      pkt = dnsPacket.decode(query);
    } catch {
      this.counters.drop('dns_malformed');
      return bareHeader(id, query, RCODE.FORMERR);
    }
    const opts = (pkt.additionals ?? []).filter((a): a is OptAnswer => a.type === 'OPT');
    const questions = pkt.questions ?? [];
    // RFC 9619: exactly one question; RFC 6891 §6.1.1: at most one OPT.
    if (questions.length !== 1 || opts.length > 1) {
      this.counters.drop('dns_malformed');
      return bareHeader(id, query, RCODE.FORMERR);
    }
    if (opcode !== 0) return bareHeader(id, query, RCODE.NOTIMP);
    const clientOpt = opts[0];
    const limit = tcp ? 65535 : clientOpt ? Math.max(512, Math.min(clientOpt.udpPayloadSize, this.maxUdp)) : 512;
    const q = questions[0];
    const ctx: Ctx = { id, q, clientOpt, rd: query[2] & 0x01 ? RD : 0 };
    if (clientOpt && clientOpt.ednsVersion > 0) {
      // RFC 6891 §6.1.3: BADVERS (16) = extended rcode 1, header rcode 0
      return this.fit(this.encode(ctx, RCODE.NOERROR, [], [], 1), ctx, limit);
    }
    const name = norm(q.name);
    const cls = q.class ?? 'IN';
    const key = `${name}|${q.type}|${cls}|${clientOpt ? 1 : 0}|${clientOpt?.flag_do ? 1 : 0}|${query[3] & CD ? 1 : 0}`;
    let reply: Buffer;
    const ptr = q.type === 'PTR' && cls === 'IN' ? this.ptr.get(name) : undefined;
    if (ptr) {
      reply = this.encode(ctx, RCODE.NOERROR, [{ name: q.name, type: 'PTR', ttl: LOCAL_TTL_S, data: ptr }], [], 0, AA);
    } else if (cls === 'IN' && (this.local.has(name) || name === LOCAL_ZONE || name.endsWith(`.${LOCAL_ZONE}`))) {
      reply = await this.localAnswer(ctx, name);
    } else {
      const cached = this.cache.get(key, id, this.now(), query);
      if (cached) {
        this.counters.inc('dns.cache_hit');
        return this.fit(cached, ctx, limit);
      }
      if (cls === 'IN' && (q.type === 'A' || q.type === 'AAAA')) reply = await this.lookupAnswer(ctx, name, q.type);
      else {
        const fwd = await this.forward(query, id);
        if (!fwd) return this.fit(this.encode(ctx, RCODE.SERVFAIL, []), ctx, limit);
        reply = fwd;
      }
      this.cache.put(key, reply, this.now());
    }
    return this.fit(reply, ctx, limit);
  }

  // --- local names ------------------------------------------------------

  private async localAnswer(ctx: Ctx, name: string): Promise<Buffer> {
    const answers: Answer[] = [];
    const type = ctx.q.type;
    let cur = name;
    for (let depth = 0; depth < 8; depth++) {
      const e = this.local.get(cur);
      if (!e) {
        // a CNAME leaving our names: resolve A/AAAA through the host like any name
        if (depth > 0 && (type === 'A' || type === 'AAAA')) {
          const r = await this.resolve(cur, type);
          if (r.rcode === RCODE.NOERROR) for (const v of r.addrs) answers.push({ name: cur, type, ttl: LOOKUP_TTL_S, data: v });
        }
        break;
      }
      if (e.CNAME && type !== 'CNAME') {
        answers.push({ name: cur, type: 'CNAME', ttl: LOCAL_TTL_S, data: e.CNAME });
        cur = e.CNAME;
        continue;
      }
      if (type === 'A' || type === 'AAAA') for (const v of e[type]) answers.push({ name: cur, type, ttl: LOCAL_TTL_S, data: v });
      else if (type === 'TXT') for (const v of e.TXT) answers.push({ name: cur, type: 'TXT', ttl: LOCAL_TTL_S, data: v });
      else if (type === 'CNAME' && e.CNAME) answers.push({ name: cur, type: 'CNAME', ttl: LOCAL_TTL_S, data: e.CNAME });
      break;
    }
    const exists = this.local.has(name) || name === LOCAL_ZONE;
    const soa: Answer = {
      name: LOCAL_ZONE,
      type: 'SOA',
      ttl: LOCAL_TTL_S,
      data: { mname: `gateway.${LOCAL_ZONE}`, rname: `hostmaster.${LOCAL_ZONE}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: LOCAL_TTL_S },
    };
    const inZone = name === LOCAL_ZONE || name.endsWith(`.${LOCAL_ZONE}`);
    return this.encode(ctx, exists ? RCODE.NOERROR : RCODE.NXDOMAIN, answers, answers.length === 0 && inZone ? [soa] : [], 0, AA);
  }

  // --- host resolver ----------------------------------------------------

  private async resolve(name: string, type: 'A' | 'AAAA'): Promise<{ rcode: number; addrs: string[] }> {
    const family = type === 'A' ? 4 : 6;
    if (this.lookups >= (this.opts.maxLookups ?? 8)) {
      this.counters.inc('dns_lookup_busy');
      return { rcode: RCODE.SERVFAIL, addrs: [] };
    }
    this.lookups++;
    try {
      return await this.resolveFamily(name, family);
    } finally {
      this.lookups--;
    }
  }

  private async resolveFamily(name: string, family: 4 | 6): Promise<{ rcode: number; addrs: string[] }> {
    try {
      const addrs = await this.lookup(name, family);
      return { rcode: RCODE.NOERROR, addrs };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTFOUND' && code !== 'ENODATA') {
        this.counters.inc('dns.lookup_failed');
        return { rcode: RCODE.SERVFAIL, addrs: [] };
      }
      // getaddrinfo says "no such name" for a name that only lacks this family:
      // ask for the other family before claiming NXDOMAIN (RFC 2308 §2.1 vs §2.2).
      try {
        const other = await this.lookup(name, family === 4 ? 6 : 4);
        if (other.length > 0) return { rcode: RCODE.NOERROR, addrs: [] };
      } catch {
        /* the other family has nothing either */
      }
      return { rcode: code === 'ENODATA' ? RCODE.NOERROR : RCODE.NXDOMAIN, addrs: [] };
    }
  }

  private async lookupAnswer(ctx: Ctx, name: string, type: 'A' | 'AAAA'): Promise<Buffer> {
    const r = await this.resolve(name, type);
    const answers: Answer[] = r.addrs.map((v) => ({ name: ctx.q.name, type, ttl: LOOKUP_TTL_S, data: v }));
    return this.encode(ctx, r.rcode, answers);
  }

  // --- forwarding -------------------------------------------------------

  private async forward(query: Buffer, guestId: number): Promise<Buffer | undefined> {
    if (this.upstreams.busy) {
      this.counters.inc('dns_upstream_busy');
      return undefined;
    }
    const out = Buffer.from(query);
    randomBytes(2).copy(out, 0);
    const answer = await this.upstreams.exchange(out);
    if (!answer) {
      this.counters.inc('dns.upstream_failed');
      return undefined;
    }
    const reply = Buffer.from(answer);
    reply.writeUInt16BE(guestId, 0);
    return reply;
  }

  // --- encoding ---------------------------------------------------------

  private encode(ctx: Ctx, rcode: number, answers: Answer[], authorities: Answer[] = [], extRcode = 0, aa = 0): Buffer {
    const p: Packet = {
      id: ctx.id,
      type: 'response',
      flags: aa | ctx.rd | RA | rcode,
      questions: [ctx.q],
      answers,
      authorities,
      additionals: ctx.clientOpt ? [this.ourOpt(extRcode)] : [],
    };
    return dnsPacket.encode(p);
  }

  private ourOpt(extendedRcode = 0): OptAnswer {
    return { type: 'OPT', name: '.', udpPayloadSize: this.maxUdp, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
  }

  /** RFC 7766 §5 / RFC 2181 §9: a reply too large for the client becomes header + question with TC. */
  private fit(reply: Buffer, ctx: Ctx, limit: number): Buffer {
    if (reply.length <= limit) return reply;
    this.counters.inc('dns.truncated');
    const flags = (reply.readUInt16BE(2) & ~QR & 0x7fff) | TC;
    return dnsPacket.encode({
      id: ctx.id,
      type: 'response',
      flags,
      questions: [ctx.q],
      additionals: ctx.clientOpt ? [this.ourOpt()] : [],
    });
  }
}

interface Ctx {
  id: number;
  q: Question;
  clientOpt: OptAnswer | undefined;
  rd: number;
}

/** A header-only reply: the query's id, opcode and RD, with `rcode` (RFC 1035 §4.1.1). */
function bareHeader(id: number, query: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(QR | ((query[2] & 0x79) << 8) | RA | rcode, 2);
  return out;
}
