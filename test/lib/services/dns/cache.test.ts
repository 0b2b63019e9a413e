import { expect } from 'chai';
import * as dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { DnsCache, walkResponse } from '../../../../src/lib/services/dns/cache.js';
import { decode } from './helpers.js';

function response(o: { rcode?: number; tc?: boolean; answers?: Answer[]; authorities?: Answer[]; opt?: boolean }): Buffer {
  return dnsPacket.encode({
    id: 1,
    type: 'response',
    flags: (o.rcode ?? 0) | (o.tc ? dnsPacket.TRUNCATED_RESPONSE : 0),
    questions: [{ name: 'a.example', type: 'A', class: 'IN' }],
    answers: o.answers ?? [],
    authorities: o.authorities ?? [],
    additionals: o.opt ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0x8000, flag_do: true, options: [] }] : [],
  });
}
const a = (ttl: number, ip = '10.0.0.1'): Answer => ({ name: 'a.example', type: 'A', ttl, data: ip });
const soa = (ttl: number, minimum: number): Answer => ({
  name: 'example', type: 'SOA', ttl,
  data: { mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum },
});

describe('DNS cache (RFC 1035 §7.4, RFC 2308 §5)', () => {
  it('lives for the smallest answer TTL', () => {
    expect(walkResponse(response({ answers: [a(300), a(30, '10.0.0.2')] }))!.ttl).to.equal(30);
  });

  it('keeps a negative answer for min(SOA TTL, SOA MINIMUM), and not at all without an SOA', () => {
    expect(walkResponse(response({ rcode: 3, authorities: [soa(900, 45)] }))!.ttl).to.equal(45);
    expect(walkResponse(response({ rcode: 0, authorities: [soa(20, 45)] }))!.ttl).to.equal(20);
    expect(walkResponse(response({ rcode: 3 }))!.ttl).to.equal(undefined);
  });

  it('does not keep truncated or SERVFAIL answers', () => {
    expect(walkResponse(response({ tc: true, answers: [a(300)] }))!.ttl).to.equal(undefined);
    expect(walkResponse(response({ rcode: 2, authorities: [soa(900, 45)] }))!.ttl).to.equal(undefined);
  });

  it('ages TTLs, sets the id, leaves the OPT record alone and expires entries', () => {
    const c = new DnsCache();
    expect(c.put('k', response({ answers: [a(100)], opt: true }), 0)).to.equal(true);
    const hit = decode(c.get('k', 0xbeef, 40_500)!);
    expect(hit.id).to.equal(0xbeef);
    expect(hit.answers[0].ttl).to.equal(60);
    expect((hit.additionals![0] as { flag_do: boolean }).flag_do).to.equal(true);
    expect(c.get('k', 1, 100_000)).to.equal(undefined);
    expect(c.size).to.equal(0);
  });

  it('evicts the least recently used entry beyond its bound', () => {
    const c = new DnsCache(2);
    c.put('a', response({ answers: [a(100)] }), 0);
    c.put('b', response({ answers: [a(100)] }), 0);
    c.get('a', 1, 1);
    c.put('c', response({ answers: [a(100)] }), 2);
    expect(c.get('b', 1, 3)).to.equal(undefined);
    expect(c.get('a', 1, 3)).to.not.equal(undefined);
    expect(c.get('c', 1, 3)).to.not.equal(undefined);
  });

  it('refuses responses whose records run past the end', () => {
    const wire = response({ answers: [a(100)] });
    expect(walkResponse(wire.subarray(0, wire.length - 2))).to.equal(undefined);
    expect(new DnsCache().put('k', wire.subarray(0, wire.length - 2), 0)).to.equal(false);
  });
});
