/**
 * A tiny authoritative DNS server for e2e tests, on a loopback address only
 * (default 127.0.0.153:53, UDP and TCP), serving the records it is given
 * (RFC 1035). It plays "the host's nameserver": the daemon reaches it through
 * --dns-upstream (forwarded types) and, inside a private mount namespace,
 * through a bind-mounted /etc/resolv.conf (getaddrinfo for A/AAAA).
 *
 * - a name it has: NOERROR with the records of the asked type (maybe none);
 * - a name it lacks: NXDOMAIN with the zone's SOA (RFC 2308 §3);
 * - over UDP an answer longer than 512 bytes, or than the client's EDNS
 *   payload size (RFC 6891 §6.2.5), is sent as header + question with TC set
 *   (RFC 7766 §5); over TCP (2-byte length framing, RFC 1035 §4.2.2) it is whole.
 * Every query is recorded (name, type, transport) so tests can tell which
 * path an answer took. It refuses to bind anything but 127.0.0.0/8.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer } from 'dns-packet';
import type { Cleanup } from '../harness/env.js';

export interface ZoneRecords {
  A?: string[];
  AAAA?: string[];
  MX?: Array<{ preference: number; exchange: string }>;
  /** each entry is one TXT record; strings longer than 255 bytes are split into character-strings */
  TXT?: string[];
  SRV?: Array<{ priority: number; weight: number; port: number; target: string }>;
}

export interface ZoneDnsServer {
  host: string;
  port: number;
  queries: Array<{ name: string; type: string; transport: 'udp' | 'tcp' }>;
  close(): Promise<void>;
}

const TTL = 30;

function chunks(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 255) out.push(text.slice(i, i + 255));
  return out.length > 0 ? out : [''];
}

function answersFor(name: string, type: string, r: ZoneRecords): Answer[] {
  switch (type) {
    case 'A':
    case 'AAAA':
      return (r[type] ?? []).map((data) => ({ name, type, ttl: TTL, data }));
    case 'MX':
      return (r.MX ?? []).map((data) => ({ name, type: 'MX', ttl: TTL, data }));
    case 'TXT':
      return (r.TXT ?? []).map((t) => ({ name, type: 'TXT', ttl: TTL, data: chunks(t) }));
    case 'SRV':
      return (r.SRV ?? []).map((data) => ({ name, type: 'SRV', ttl: TTL, data }));
    default:
      return [];
  }
}

export async function zoneDnsServer(opts: { zone: string; records: Record<string, ZoneRecords>; host?: string; port?: number; cleanup?: Cleanup }): Promise<ZoneDnsServer> {
  const host = opts.host ?? '127.0.0.153';
  const port = opts.port ?? 53;
  if (!host.startsWith('127.')) throw new Error(`SAFETY: the test DNS server binds loopback only, not ${host}`);
  const zone = opts.zone.toLowerCase();
  const records = new Map(Object.entries(opts.records).map(([k, v]) => [k.toLowerCase(), v]));
  const queries: ZoneDnsServer['queries'] = [];

  const respond = (msg: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined => {
    let q: DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    const question = q.questions?.[0];
    if (!question || q.type !== 'query') return undefined;
    const name = question.name.toLowerCase().replace(/\.$/, '');
    queries.push({ name, type: question.type, transport });
    const rec = records.get(name);
    const clientOpt = (q.additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');
    const soa: Answer = { name: zone, type: 'SOA', ttl: TTL, data: { mname: `ns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: TTL } };
    const answers = rec ? answersFor(question.name, question.type, rec) : [];
    const base = { id: q.id, type: 'response' as const, questions: [question], additionals: clientOpt ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as unknown as Answer] : [] };
    // AA (0x0400) | RD copied | RA (0x0080) | rcode
    const flags = 0x0400 | (q.flags! & 0x0100) | 0x0080 | (rec ? 0 : 3);
    const full = dnsPacket.encode({ ...base, flags, answers, authorities: answers.length === 0 ? [soa] : [] });
    const limit = transport === 'tcp' ? 65535 : clientOpt ? Math.max(512, clientOpt.udpPayloadSize) : 512;
    if (full.length <= limit) return full;
    return dnsPacket.encode({ ...base, flags: flags | 0x0200 });
  };

  const udp: Socket = createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const reply = respond(msg, 'udp');
    if (reply) udp.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((res, rej) => {
    udp.once('error', rej);
    udp.bind(port, host, () => res());
  });
  const conns = new Set<TcpSocket>();
  const tcp: Server = createServer((sock) => {
    conns.add(sock);
    sock.once('close', () => conns.delete(sock));
    let buf = Buffer.alloc(0);
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const reply = respond(Buffer.from(msg), 'tcp');
        if (reply) sock.write(Buffer.concat([Buffer.from([reply.length >> 8, reply.length & 0xff]), reply]));
      }
    });
  });
  try {
    await new Promise<void>((res, rej) => {
      tcp.once('error', rej);
      tcp.listen(port, host, () => res());
    });
  } catch (err) {
    udp.close();
    throw err;
  }
  const server: ZoneDnsServer = {
    host,
    port,
    queries,
    close: async () => {
      await new Promise<void>((res) => udp.close(() => res()));
      for (const c of conns) c.destroy();
      await new Promise<void>((res) => tcp.close(() => res()));
    },
  };
  opts.cleanup?.add(`zone dns ${host}:${port}`, () => server.close());
  return server;
}
