// A scripted DNS server on 127.0.0.1 (random ports, UDP and TCP) that the
// forwarding tests use as the upstream. Nothing here talks to anything but loopback.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import { DnsTcpFramer } from '../../../../src/lib/services/dns/tcp-framer.js';

// dns-packet's encode turns TXT strings into Buffers in place: hand it copies.
export const BIG_TXT: readonly string[] = Array.from({ length: 16 }, (_, i) => `${String(i).padStart(2, '0')}:${'x'.repeat(240)}`);

export interface Seen {
  transport: 'udp' | 'tcp';
  id: number;
  name: string;
  type: string;
}

/** The answer for one query; `udp` is true when it came over UDP. */
function respond(q: DecodedPacket, udp: boolean): Buffer | null {
  const question = q.questions![0];
  const base = { id: q.id, type: 'response' as const, flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED, questions: q.questions };
  const name = question.name.toLowerCase();
  const ans = (answers: Answer[]): Buffer => dnsPacket.encode({ ...base, answers });
  if (name === 'silent.test') return null;
  if (name === 'mx.test') return ans([{ name: question.name, type: 'MX', ttl: 300, data: { preference: 10, exchange: 'mail.mx.test' } }]);
  if (name === 'txt.test') return ans([{ name: question.name, type: 'TXT', ttl: 120, data: ['hello', 'world'] }]);
  if (name === '_sip._tcp.srv.test') return ans([{ name: question.name, type: 'SRV', ttl: 60, data: { priority: 1, weight: 5, port: 5060, target: 'sip.srv.test' } }]);
  if (name === 'big.test') {
    if (udp) return dnsPacket.encode({ ...base, flags: base.flags | dnsPacket.TRUNCATED_RESPONSE });
    return ans([{ name: question.name, type: 'TXT', ttl: 300, data: [...BIG_TXT] }]);
  }
  if (name === 'servfail.test') return dnsPacket.encode({ ...base, flags: base.flags | 2 });
  const soa: Answer = {
    name: 'test', type: 'SOA', ttl: 900,
    data: { mname: 'ns.test', rname: 'host.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 45 },
  };
  if (name === 'nodata.test') return dnsPacket.encode({ ...base, authorities: [soa] });
  return dnsPacket.encode({ ...base, flags: base.flags | 3, authorities: [soa] }); // NXDOMAIN
}

/**
 * A UDP socket and `tcp` listening on one random port of 127.0.0.1. The port
 * the kernel picks for UDP can be taken for TCP (another test's connection
 * uses it as its local port): then both are tried again on a new one.
 */
export async function udpAndTcpOnOnePort(tcp: Server): Promise<{ udp: Socket; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const port = udp.address().port;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, '127.0.0.1', () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, port };
    } catch (err) {
      udp.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
    }
  }
}

export class FakeUpstream {
  readonly seen: Seen[] = [];
  /** when set, every UDP answer is preceded by one with a wrong id (a spoof attempt) */
  spoofFirst = false;
  port = 0;
  private udp!: Socket;
  private tcp!: Server;

  async start(): Promise<void> {
    this.tcp = createServer((conn) => {
      const framer = new DnsTcpFramer();
      conn.on('data', (chunk) => {
        for (const msg of framer.push(chunk)) {
          const q = dnsPacket.decode(msg);
          this.seen.push({ transport: 'tcp', id: q.id!, name: q.questions![0].name, type: q.questions![0].type });
          const out = respond(q, false);
          if (out) conn.write(DnsTcpFramer.frame(out));
        }
      });
      conn.on('error', () => undefined);
    });
    // TCP on the same port number as UDP, as a real nameserver
    ({ udp: this.udp, port: this.port } = await udpAndTcpOnOnePort(this.tcp));
    this.udp.on('message', (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      this.seen.push({ transport: 'udp', id: q.id!, name: q.questions![0].name, type: q.questions![0].type });
      const out = respond(q, true);
      if (!out) return;
      if (this.spoofFirst) {
        const fake = Buffer.from(out);
        fake.writeUInt16BE((q.id! + 1) & 0xffff, 0);
        this.udp.send(fake, rinfo.port, rinfo.address);
      }
      this.udp.send(out, rinfo.port, rinfo.address);
    });
  }

  async stop(): Promise<void> {
    this.udp?.close();
    await new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r()));
  }
}

/** A UDP socket on 127.0.0.1 that reads queries and never answers. */
export async function silentUdp(): Promise<{ port: number; close: () => void; count: () => number }> {
  const s = createSocket('udp4');
  let n = 0;
  s.on('message', () => n++);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { port: s.address().port, close: () => s.close(), count: () => n };
}
