/**
 * An independent DNS client against DnsServer: node's c-ares resolver talks to
 * a loopback UDP+TCP front end wired exactly as the stack wires gateway:53
 * (datagram -> handleUdp; TCP stream -> DnsTcpFramer -> handleTcp -> frame),
 * and the server forwards to a FakeUpstream. Everything stays on 127.0.0.1.
 */
import { expect } from 'chai';
import { Resolver } from 'node:dns/promises';
import { createServer, type Server } from 'node:net';
import { Counters } from '../../../../src/lib/counters.js';
import { DnsServer } from '../../../../src/lib/services/dns/server.js';
import { DnsTcpFramer } from '../../../../src/lib/services/dns/tcp-framer.js';
import { parseIpv4 } from '../../../../src/lib/wire/addr.js';
import { BIG_TXT, FakeUpstream, udpAndTcpOnOnePort } from './fake-upstream.js';

/** Serve `dns` on 127.0.0.1 (one port for UDP and TCP). */
async function serve(dns: DnsServer): Promise<{ port: number; close: () => Promise<void>; tcpQueries: () => number }> {
  let tcpQueries = 0;
  const tcp: Server = createServer((conn) => {
    const framer = new DnsTcpFramer();
    conn.on('data', (chunk) => {
      for (const msg of framer.push(chunk)) {
        tcpQueries++;
        void dns.handleTcp(msg).then((reply) => reply && !conn.destroyed && conn.write(framer.frame(reply)));
      }
    });
    conn.on('error', () => undefined);
  });
  const { udp, port } = await udpAndTcpOnOnePort(tcp);
  udp.on('message', (msg, rinfo) => {
    void dns.handleUdp(msg).then((reply) => reply && udp.send(reply, rinfo.port, rinfo.address));
  });
  return {
    port,
    tcpQueries: () => tcpQueries,
    close: async () => {
      udp.close();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}

describe('DNS server with a real resolver client (c-ares)', () => {
  let up: FakeUpstream;
  let front: Awaited<ReturnType<typeof serve>>;
  let resolver: Resolver;
  const counters = new Counters();

  before(async () => {
    up = new FakeUpstream();
    await up.start();
    const dns = new DnsServer(
      {
        hostIp: parseIpv4('192.168.65.254')!,
        gateway: parseIpv4('192.168.65.1')!,
        upstreams: [{ host: '127.0.0.1', port: up.port }],
        lookup: async (name, family) => {
          if (name === 'corp.example' && family === 4) return ['10.20.30.40'];
          throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
        },
        timeoutMs: 500,
      },
      counters,
    );
    front = await serve(dns);
    resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${front.port}`]);
  });
  after(async () => {
    await front?.close();
    await up?.stop();
  });

  it('resolves hnet names and host-resolver names', async () => {
    expect(await resolver.resolve4('host.hnet.internal')).to.deep.equal(['192.168.65.254']);
    expect(await resolver.resolve4('gateway.docker.internal')).to.deep.equal(['192.168.65.1']);
    expect(await resolver.resolve4('corp.example')).to.deep.equal(['10.20.30.40']);
    expect(await resolver.reverse('192.168.65.1')).to.deep.equal(['gateway.hnet.internal']);
  });

  it('reports NODATA and NXDOMAIN as c-ares distinguishes them', async () => {
    await resolver.resolve6('host.hnet.internal').then(
      () => expect.fail('no AAAA expected'),
      (err: NodeJS.ErrnoException) => expect(err.code).to.equal('ENODATA'),
    );
    await resolver.resolve4('nope.hnet.internal').then(
      () => expect.fail('NXDOMAIN expected'),
      (err: NodeJS.ErrnoException) => expect(err.code).to.equal('ENOTFOUND'),
    );
    await resolver.resolveMx('servfail.test').then(
      () => expect.fail('SERVFAIL expected'),
      (err: NodeJS.ErrnoException) => expect(err.code).to.equal('ESERVFAIL'),
    );
  });

  it('forwards MX, SRV and TXT', async () => {
    expect(await resolver.resolveMx('mx.test')).to.deep.equal([{ exchange: 'mail.mx.test', priority: 10 }]);
    expect(await resolver.resolveSrv('_sip._tcp.srv.test')).to.deep.equal([{ name: 'sip.srv.test', port: 5060, priority: 1, weight: 5 }]);
    expect(await resolver.resolveTxt('txt.test')).to.deep.equal([['hello', 'world']]);
  });

  it('delivers a TXT answer over 3 KB: truncated over UDP, the client retries over TCP (RFC 7766)', async () => {
    const before = front.tcpQueries();
    expect(await resolver.resolveTxt('big.test')).to.deep.equal([[...BIG_TXT]]);
    expect(front.tcpQueries()).to.equal(before + 1);
  });
});
