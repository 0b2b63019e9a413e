import { expect } from 'chai';
import type { MxData, SrvData } from 'dns-packet';
import { Counters } from '../../../../src/lib/counters.js';
import { DnsServer, type DnsServerOptions } from '../../../../src/lib/services/dns/server.js';
import { parseIpv4 } from '../../../../src/lib/wire/addr.js';
import { BIG_TXT, FakeUpstream, silentUdp } from './fake-upstream.js';
import { decode, query } from './helpers.js';

// Every upstream here is a FakeUpstream or a silent socket on 127.0.0.1.
describe('DNS forwarding to upstreams (RFC 1035 §7, RFC 5452, RFC 7766)', () => {
  let up: FakeUpstream;
  let counters: Counters;
  const closers: Array<() => void> = [];
  const make = (o: Partial<DnsServerOptions> = {}): DnsServer =>
    new DnsServer(
      {
        hostIp: parseIpv4('192.168.65.254')!,
        gateway: parseIpv4('192.168.65.1')!,
        upstreams: [{ host: '127.0.0.1', port: up.port }],
        lookup: async () => {
          throw Object.assign(new Error('no'), { code: 'ENOTFOUND' });
        },
        timeoutMs: 300,
        ...o,
      },
      counters,
    );

  beforeEach(async () => {
    counters = new Counters();
    up = new FakeUpstream();
    await up.start();
  });
  afterEach(async () => {
    await up.stop();
    while (closers.length) closers.pop()!();
  });

  it('forwards MX, TXT and SRV with a random id and restores the guest\'s id', async () => {
    const s = make();
    const mx = decode(await s.handleUdp(query('mx.test', 'MX', { id: 1001 })));
    expect(mx.id).to.equal(1001);
    expect((mx.answers![0].data as MxData).exchange).to.equal('mail.mx.test');
    const txt = decode(await s.handleUdp(query('txt.test', 'TXT', { id: 1002 })));
    expect((txt.answers![0].data as Buffer[]).map(String)).to.deep.equal(['hello', 'world']);
    const srv = decode(await s.handleUdp(query('_sip._tcp.srv.test', 'SRV', { id: 1003 })));
    expect((srv.answers![0].data as SrvData).port).to.equal(5060);
    expect(up.seen.map((q) => q.type)).to.deep.equal(['MX', 'TXT', 'SRV']);
    // ids on the wire are not the guest's
    expect(up.seen.map((q) => q.id)).to.not.deep.equal([1001, 1002, 1003]);
  });

  it('retries over TCP when the UDP answer is truncated, then truncates for a UDP client and serves TCP in full', async () => {
    const s = make();
    const udp = await s.handleUdp(query('big.test', 'TXT', { edns: 1232 }));
    const r = decode(udp);
    expect(r.flag_tc).to.equal(true);
    expect(r.answers).to.deep.equal([]);
    expect(udp!.length).to.be.at.most(1232);
    expect(up.seen.map((q) => q.transport)).to.deep.equal(['udp', 'tcp']);
    const tcp = await s.handleTcp(query('big.test', 'TXT', { edns: 1232 }));
    expect(tcp!.length).to.be.greaterThan(3072);
    const full = decode(tcp);
    expect(full.flag_tc).to.equal(false);
    expect((full.answers![0].data as Buffer[]).map(String)).to.deep.equal(BIG_TXT);
    expect(up.seen).to.have.length(2); // the second came from the cache
  });

  it('passes NXDOMAIN through and answers SERVFAIL when no upstream answers', async () => {
    const silent = await silentUdp();
    closers.push(silent.close);
    expect(decode(await make().handleUdp(query('missing.test', 'MX'))).rcode).to.equal('NXDOMAIN');
    const dead = make({ upstreams: [{ host: '127.0.0.1', port: silent.port }] });
    expect(decode(await dead.handleUdp(query('mx.test', 'MX'))).rcode).to.equal('SERVFAIL');
    expect(counters.get('dns.upstream_failed')).to.equal(1);
    expect(decode(await make({ upstreams: [] }).handleUdp(query('mx.test', 'MX'))).rcode).to.equal('SERVFAIL');
  });

  it('fails over to the next upstream after a timeout and after SERVFAIL', async () => {
    const silent = await silentUdp();
    closers.push(silent.close);
    const s = make({ upstreams: [{ host: '127.0.0.1', port: silent.port }, { host: '127.0.0.1', port: up.port }] });
    const r = decode(await s.handleUdp(query('mx.test', 'MX')));
    expect(r.rcode).to.equal('NOERROR');
    expect(silent.count()).to.equal(1);
    expect(counters.get('dns.upstream_timeout')).to.equal(1);
    const second = new FakeUpstream();
    await second.start();
    closers.push(() => void second.stop());
    const sf = make({ upstreams: [{ host: '127.0.0.1', port: up.port }, { host: '127.0.0.1', port: second.port }] });
    // "servfail.test" fails on both: the last SERVFAIL comes back
    expect(decode(await sf.handleUdp(query('servfail.test', 'MX'))).rcode).to.equal('SERVFAIL');
    expect(second.seen.map((q) => q.name)).to.deep.equal(['servfail.test']);
  });

  it('ignores an answer whose id does not match (RFC 5452 §9.1)', async () => {
    up.spoofFirst = true;
    const r = decode(await make().handleUdp(query('mx.test', 'MX', { id: 77 })));
    expect(r.id).to.equal(77);
    expect(r.rcode).to.equal('NOERROR');
    expect(counters.get('dns.upstream_mismatch')).to.equal(1);
  });

  it('caches answers for their TTL and negative answers for the SOA minimum (RFC 2308 §5)', async () => {
    let now = 5_000_000;
    const s = make({ now: () => now });
    await s.handleUdp(query('txt.test', 'TXT'));
    await s.handleUdp(query('missing.test', 'MX'));
    now += 44_000;
    const txt = decode(await s.handleUdp(query('txt.test', 'TXT')));
    expect(txt.answers![0].ttl).to.equal(120 - 44);
    expect(decode(await s.handleUdp(query('missing.test', 'MX'))).rcode).to.equal('NXDOMAIN');
    expect(up.seen).to.have.length(2);
    now += 2_000; // 46 s: past the SOA minimum of 45, inside the TXT TTL of 120
    await s.handleUdp(query('missing.test', 'MX'));
    await s.handleUdp(query('txt.test', 'TXT'));
    expect(up.seen.map((q) => q.name)).to.deep.equal(['txt.test', 'missing.test', 'missing.test']);
  });

  it('answers SERVFAIL beyond the parallel upstream limit, and counts it', async () => {
    const silent = await silentUdp();
    closers.push(silent.close);
    const s = make({ upstreams: [{ host: '127.0.0.1', port: silent.port }], maxInflight: 2 });
    const pending = [s.handleUdp(query('a.test', 'MX')), s.handleUdp(query('b.test', 'MX'))];
    const third = decode(await s.handleUdp(query('c.test', 'MX')));
    expect(third.rcode).to.equal('SERVFAIL');
    expect(counters.get('dns_upstream_busy')).to.equal(1);
    await Promise.all(pending);
  });
});
