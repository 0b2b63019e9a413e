/**
 * Forwarding to upstream nameservers (RFC 1035 §7, RFC 5452, RFC 7766).
 *
 * exchange(query) sends the query (whose id the caller has already
 * randomised) to each upstream in turn: over UDP first, and again over TCP to
 * the same server when the UDP answer has TC set (RFC 7766 §5). An attempt
 * ends with an answer whose id and question match the query (RFC 5452 §9.1;
 * anything else arriving on the socket is ignored and counted), or after
 * `timeoutMs`; then the next upstream is tried. SERVFAIL and REFUSED answers
 * also move on to the next upstream, but are returned if nobody does better.
 * Each UDP attempt uses a fresh socket, so the source port is random too.
 * Resolves to undefined when every upstream failed; never rejects.
 *
 * At most `maxInflight` exchanges run at once; beyond that `busy` is true and
 * the caller answers SERVFAIL.
 */
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import type { Counters } from '../../counters.js';
import { questionEnd } from './cache.js';
import { DnsTcpFramer } from './tcp-framer.js';

export interface Upstream {
  host: string;
  port: number;
}

const RCODE_SERVFAIL = 2;
const RCODE_REFUSED = 5;

/** Does `answer` respond to `query`: same id, QR set, same question (case-insensitive)? */
export function answersQuery(query: Buffer, answer: Buffer): boolean {
  if (answer.length < 12 || answer.readUInt16BE(0) !== query.readUInt16BE(0) || (answer[2] & 0x80) === 0) return false;
  const qEnd = questionEnd(query);
  if (qEnd < 0) return true; // a compressed question (legal, rare): the random id must do
  if (answer.readUInt16BE(4) !== 1 || answer.length < qEnd) return false;
  return answer.subarray(12, qEnd).toString('latin1').toLowerCase() === query.subarray(12, qEnd).toString('latin1').toLowerCase();
}

export class DnsUpstreams {
  private inflight = 0;

  /** `upstreams` is asked at every exchange, so the list may change (resolv.conf edits, VPNs). */
  constructor(
    private readonly upstreams: () => Upstream[],
    private readonly counters: Counters,
    private readonly timeoutMs = 2000,
    private readonly maxInflight = 64,
  ) {}

  get busy(): boolean {
    return this.inflight >= this.maxInflight;
  }

  async exchange(query: Buffer): Promise<Buffer | undefined> {
    this.inflight++;
    try {
      let fallback: Buffer | undefined;
      for (const up of this.upstreams()) {
        let answer = await this.udp(up, query);
        if (answer && answer[2] & 0x02) {
          this.counters.inc('dns.upstream_tcp_retry');
          answer = (await this.tcp(up, query)) ?? answer;
        }
        if (!answer) {
          this.counters.inc('dns.upstream_timeout');
          continue;
        }
        const rcode = answer[3] & 0xf;
        if (rcode === RCODE_SERVFAIL || rcode === RCODE_REFUSED) {
          fallback = answer;
          continue;
        }
        return answer;
      }
      return fallback;
    } finally {
      this.inflight--;
    }
  }

  private udp(up: Upstream, query: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = createSocket(isIPv6(up.host.split('%')[0]) ? 'udp6' : 'udp4');
      let done = false;
      const finish = (b: Buffer | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.close();
        resolve(b);
      };
      const timer = setTimeout(() => finish(undefined), this.timeoutMs);
      sock.on('error', () => finish(undefined));
      sock.on('message', (msg, rinfo) => {
        if (rinfo.port !== up.port || !answersQuery(query, msg)) {
          this.counters.inc('dns.upstream_mismatch');
          return;
        }
        finish(msg);
      });
      sock.send(query, up.port, up.host, (err) => {
        if (err) finish(undefined);
      });
    });
  }

  private tcp(up: Upstream, query: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const framer = new DnsTcpFramer();
      const sock = connect({ host: up.host, port: up.port });
      let done = false;
      const finish = (b: Buffer | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        resolve(b);
      };
      const timer = setTimeout(() => finish(undefined), this.timeoutMs);
      sock.on('error', () => finish(undefined));
      sock.on('close', () => finish(undefined));
      sock.on('connect', () => sock.write(DnsTcpFramer.frame(query)));
      sock.on('data', (chunk: Buffer) => {
        for (const msg of framer.push(chunk)) if (answersQuery(query, msg)) return finish(msg);
      });
    });
  }
}
