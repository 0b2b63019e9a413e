import { expect } from 'chai';
import fc from 'fast-check';
import type { OptAnswer } from 'dns-packet';
import { Counters } from '../../../../src/lib/counters.js';
import { DnsServer, type DnsServerOptions, type LookupFn } from '../../../../src/lib/services/dns/server.js';
import { parseIpv4 } from '../../../../src/lib/wire/addr.js';
import { decode, query } from './helpers.js';

const HOST = parseIpv4('192.168.65.254')!;
const GW = parseIpv4('192.168.65.1')!;

function enoent(code: string): Error {
  return Object.assign(new Error(`getaddrinfo ${code}`), { code });
}

/** An injected getaddrinfo: a table of names, and calls recorded. */
function fakeLookup(table: Record<string, { 4?: string[]; 6?: string[] } | 'EAI_AGAIN'>, calls: string[] = []): LookupFn {
  return async (name, family) => {
    calls.push(`${name}/${family}`);
    const e = table[name.toLowerCase()];
    if (e === 'EAI_AGAIN') throw enoent('EAI_AGAIN');
    const v = e?.[family];
    if (!v || v.length === 0) throw enoent('ENOTFOUND');
    return v;
  };
}

describe('DNS server: local names and the host resolver', () => {
  let counters: Counters;
  const make = (o: Partial<DnsServerOptions> = {}): DnsServer =>
    new DnsServer({ hostIp: HOST, gateway: GW, upstreams: [], lookup: fakeLookup({}), ...o }, counters);
  beforeEach(() => (counters = new Counters()));

  it('answers hnet\'s names locally and authoritatively', async () => {
    const s = make();
    for (const [name, ip] of [
      ['host.hnet.internal', '192.168.65.254'],
      ['HOST.docker.internal', '192.168.65.254'],
      ['gateway.hnet.internal', '192.168.65.1'],
      ['gateway.docker.internal', '192.168.65.1'],
      ['http.hnet.internal.', '192.168.65.1'],
    ]) {
      const r = decode(await s.handleUdp(query(name, 'A')));
      expect(r.id).to.equal(0x4242);
      expect(r.rcode).to.equal('NOERROR');
      expect(r.flag_aa).to.equal(true);
      expect(r.flag_rd).to.equal(true);
      expect(r.answers!.map((a) => a.data)).to.deep.equal([ip]);
    }
  });

  it('answers AAAA for a local name with NOERROR and no records', async () => {
    const r = decode(await make().handleUdp(query('host.hnet.internal', 'AAAA')));
    expect(r.rcode).to.equal('NOERROR');
    expect(r.answers).to.deep.equal([]);
    expect(r.authorities![0].type).to.equal('SOA');
  });

  it('says NXDOMAIN for unknown names under hnet.internal, with an SOA (RFC 2308 §3)', async () => {
    const calls: string[] = [];
    const r = decode(await make({ lookup: fakeLookup({}, calls) }).handleUdp(query('nope.hnet.internal', 'A')));
    expect(r.rcode).to.equal('NXDOMAIN');
    expect(r.authorities![0].type).to.equal('SOA');
    expect(calls).to.deep.equal([]);
  });

  it('serves user records, aliases and CNAME chains, and replaces them on setRecords', async () => {
    const s = make({
      records: [
        { name: 'db.hnet.internal', type: 'A', value: '10.9.8.7' },
        { name: 'db.hnet.internal', type: 'AAAA', value: 'fd00::7' },
        { name: 'www.dev.example', type: 'CNAME', value: 'db.hnet.internal' },
        { name: 'note.hnet.internal', type: 'TXT', value: 'v=hnet1' },
        { name: 'bad.hnet.internal', type: 'A', value: 'not-an-ip' },
      ],
    });
    expect(counters.get('dns_bad_record')).to.equal(1);
    expect(decode(await s.handleUdp(query('db.hnet.internal', 'A'))).answers!.map((a) => a.data)).to.deep.equal(['10.9.8.7']);
    expect(decode(await s.handleUdp(query('db.hnet.internal', 'AAAA'))).answers!.map((a) => a.data)).to.deep.equal(['fd00::7']);
    const chain = decode(await s.handleUdp(query('www.dev.example', 'A'))).answers!;
    expect(chain.map((a) => [a.type, a.data])).to.deep.equal([['CNAME', 'db.hnet.internal'], ['A', '10.9.8.7']]);
    const txt = decode(await s.handleUdp(query('note.hnet.internal', 'TXT'))).answers!;
    expect((txt[0].data as Buffer[]).map(String)).to.deep.equal(['v=hnet1']);
    s.setRecords([]);
    expect(decode(await s.handleUdp(query('db.hnet.internal', 'A'))).rcode).to.equal('NXDOMAIN');
    expect(decode(await s.handleUdp(query('host.hnet.internal', 'A'))).answers).to.have.length(1);
  });

  it('answers PTR for the local IPv4 addresses (RFC 1035 §3.5)', async () => {
    const s = make({ records: [{ name: 'db.hnet.internal', type: 'A', value: '10.9.8.7' }] });
    const ptr = async (n: string): Promise<unknown[]> => decode(await s.handleUdp(query(n, 'PTR'))).answers.map((a) => a.data);
    expect(await ptr('1.65.168.192.in-addr.arpa')).to.deep.equal(['gateway.hnet.internal']);
    expect(await ptr('254.65.168.192.IN-ADDR.ARPA')).to.deep.equal(['host.hnet.internal']);
    expect(await ptr('7.8.9.10.in-addr.arpa')).to.deep.equal(['db.hnet.internal']);
  });

  it('resolves A and AAAA through the host resolver', async () => {
    const s = make({ lookup: fakeLookup({ 'corp.example': { 4: ['10.1.2.3', '10.1.2.4'], 6: ['fd00::1'] } }) });
    const a = decode(await s.handleUdp(query('corp.example', 'A')));
    expect(a.flag_aa).to.equal(false);
    expect(a.flag_ra).to.equal(true);
    expect(a.answers!.map((x) => x.data)).to.deep.equal(['10.1.2.3', '10.1.2.4']);
    expect(decode(await s.handleUdp(query('corp.example', 'AAAA'))).answers!.map((x) => x.data)).to.deep.equal(['fd00::1']);
  });

  it('uses the host\'s getaddrinfo by default (localhost from /etc/hosts; IPv4 only, so no DNS leaves the machine)', async () => {
    const s = new DnsServer({ hostIp: HOST, gateway: GW, upstreams: [] }, counters);
    const r = decode(await s.handleUdp(query('localhost', 'A')));
    expect(r.rcode).to.equal('NOERROR');
    expect(r.answers.map((a) => a.data)).to.include('127.0.0.1');
  });

  it('invents no AAAA: a name with only IPv4 is NOERROR without answers, not NXDOMAIN', async () => {
    const s = make({ lookup: fakeLookup({ 'v4only.example': { 4: ['10.1.2.3'] } }) });
    const r = decode(await s.handleUdp(query('v4only.example', 'AAAA')));
    expect(r.rcode).to.equal('NOERROR');
    expect(r.answers).to.deep.equal([]);
  });

  it('keeps NXDOMAIN (no such name) apart from SERVFAIL (resolver failure)', async () => {
    const s = make({ lookup: fakeLookup({ 'flaky.example': 'EAI_AGAIN' }) });
    expect(decode(await s.handleUdp(query('missing.example', 'A'))).rcode).to.equal('NXDOMAIN');
    expect(decode(await s.handleUdp(query('flaky.example', 'A'))).rcode).to.equal('SERVFAIL');
  });

  it('answers SERVFAIL beyond the concurrent lookup limit, and counts it', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow: LookupFn = async () => {
      await gate;
      return ['10.1.1.1'];
    };
    const s = make({ lookup: slow, maxLookups: 2 });
    const pending = [s.handleUdp(query('a.example', 'A')), s.handleUdp(query('b.example', 'A'))];
    expect(decode(await s.handleUdp(query('c.example', 'A'))).rcode).to.equal('SERVFAIL');
    expect(counters.get('dns_lookup_busy')).to.equal(1);
    release();
    for (const p of pending) expect(decode(await p).answers.map((a) => a.data)).to.deep.equal(['10.1.1.1']);
  });

  it('caches host lookups for their TTL on an injected clock', async () => {
    let now = 1_000_000;
    const calls: string[] = [];
    const s = make({ lookup: fakeLookup({ 'corp.example': { 4: ['10.1.2.3'] } }, calls), now: () => now });
    await s.handleUdp(query('corp.example', 'A'));
    now += 10_000;
    const hit = decode(await s.handleUdp(query('corp.example', 'A', { id: 7 })));
    expect(hit.id).to.equal(7);
    expect(hit.answers![0].ttl).to.equal(20);
    expect(calls).to.deep.equal(['corp.example/4']);
    now += 21_000;
    await s.handleUdp(query('corp.example', 'A'));
    expect(calls).to.deep.equal(['corp.example/4', 'corp.example/4']);
  });

  it('answers from the cache with the asker\'s letter case in the question (DNS 0x20)', async () => {
    const s = make({ lookup: fakeLookup({ 'corp.example': { 4: ['10.1.2.3'] } }) });
    await s.handleUdp(query('corp.example', 'A'));
    const r = decode(await s.handleUdp(query('CoRp.ExAmPlE', 'A')));
    expect(counters.get('dns.cache_hit')).to.equal(1);
    expect(r.questions![0].name).to.equal('CoRp.ExAmPlE');
  });

  it('truncates a UDP answer beyond 512 bytes without EDNS, and honours the EDNS size (RFC 6891)', async () => {
    const many = Array.from({ length: 40 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    const s = make({ lookup: fakeLookup({ 'many.example': { 4: many } }) });
    const plain = await s.handleUdp(query('many.example', 'A'));
    expect(plain!.length).to.be.at.most(512);
    expect(decode(plain).flag_tc).to.equal(true);
    expect(decode(plain).questions![0].name).to.equal('many.example');
    const edns = await s.handleUdp(query('many.example', 'A', { edns: 1232 }));
    expect(decode(edns).flag_tc).to.equal(false);
    expect(decode(edns).answers).to.have.length(40);
    expect((decode(edns).additionals![0] as OptAnswer).udpPayloadSize).to.equal(4096);
    const tcp = await s.handleTcp(query('many.example', 'A'));
    expect(decode(tcp).answers).to.have.length(40);
    // a client advertising less than 512 still gets 512 (RFC 6891 §6.2.5)
    expect(decode(await s.handleUdp(query('many.example', 'A', { edns: 100 }))).flag_tc).to.equal(true);
  });

  it('answers BADVERS to EDNS versions above 0 (RFC 6891 §6.1.3)', async () => {
    const r = decode(await make().handleUdp(query('host.hnet.internal', 'A', { edns: 1232, version: 1 })));
    expect((r.additionals![0] as OptAnswer).extendedRcode).to.equal(1);
    expect(r.answers).to.deep.equal([]);
  });

  it('drops a query shorter than a header and never answers a response', async () => {
    const s = make();
    expect(await s.handleUdp(Buffer.alloc(11))).to.equal(null);
    const resp = query('host.hnet.internal', 'A');
    resp[2] |= 0x80;
    expect(await s.handleUdp(resp)).to.equal(null);
    expect(counters.get('drop.dns_malformed')).to.equal(2);
  });

  it('answers FORMERR to a truncated question, a bad count and a compression-pointer loop', async () => {
    const s = make();
    const q = query('host.hnet.internal', 'A');
    const cut = q.subarray(0, q.length - 3);
    const twoQ = Buffer.from(q);
    twoQ.writeUInt16BE(2, 4);
    // the question name is a pointer to itself: offset 12 -> 0xc00c
    const loop = Buffer.concat([q.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
    // a pointer chain that goes forward: 12 -> 14 -> 12
    const chain = Buffer.concat([q.subarray(0, 12), Buffer.from([0xc0, 0x0e, 0xc0, 0x0c, 0, 1, 0, 1])]);
    for (const bad of [cut, twoQ, loop, chain]) {
      const r = await s.handleUdp(bad);
      expect(r!.length).to.equal(12);
      expect(r!.readUInt16BE(0)).to.equal(0x4242);
      expect(r![3] & 0xf).to.equal(1);
    }
    expect(counters.get('drop.dns_malformed')).to.equal(4);
  });

  it('answers NOTIMP to opcodes other than QUERY', async () => {
    const q = query('host.hnet.internal', 'A');
    q[2] |= 2 << 3; // STATUS
    const r = await make().handleUdp(q);
    expect(r![3] & 0xf).to.equal(4);
  });

  it('never throws and never rejects on random bytes (property)', async () => {
    const s = make({ lookup: fakeLookup({ 'x.example': 'EAI_AGAIN' }) });
    const head = query('host.hnet.internal', 'A').subarray(0, 12);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, withHead) => {
        const buf = withHead ? Buffer.concat([head, Buffer.from(bytes)]) : Buffer.from(bytes);
        const r = await s.handleUdp(buf);
        if (r !== null) expect(r.length).to.be.at.most(4096);
        await s.handleTcp(buf);
      }),
      { numRuns: 1000 },
    );
    expect(counters.get('dns_internal_error')).to.equal(0);
  });
});
