import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counters } from '../../../../src/lib/counters.js';
import { BrokenFileError } from '../../../../src/lib/errors.js';
import { DECLINE_HOLD_MS, DhcpConfig, DhcpServer, OFFER_HOLD_MS } from '../../../../src/lib/services/dhcp/server.js';
import { LeaseStore } from '../../../../src/lib/services/dhcp/lease-store.js';
import {
  DhcpMessage,
  MsgType,
  Opt,
  decodeDomainSearch,
  emitDhcp,
  ipOption,
  messageType,
  parseDhcp,
  u32Value,
} from '../../../../src/lib/services/dhcp/message.js';
import { ipv4ToString, macToString, parseCidr, parseIpv4, parseMac } from '../../../../src/lib/wire/addr.js';
import { fixture } from './fixtures.js';

const ip = (s: string): number => parseIpv4(s)!;
const GW = ip('192.168.65.1');
const T0 = 1_800_000_000_000;

function config(over: Partial<DhcpConfig> = {}): DhcpConfig {
  return {
    subnet: parseCidr('192.168.65.0/24')!,
    gateway: GW,
    hostIp: ip('192.168.65.254'),
    poolStart: ip('192.168.65.2'),
    poolEnd: ip('192.168.65.253'),
    dns: [GW],
    domainSearch: ['hnet.internal', 'corp.example.com'],
    mtu: 1500,
    leaseTimeS: 3600,
    staticLeases: [],
    ...over,
  };
}

function client(type: number, mac: string, o: { ciaddr?: string; requested?: string; serverId?: string; flags?: number; hostname?: string; prl?: number[] } = {}): Buffer {
  const options = new Map<number, Buffer>([[Opt.MessageType, Buffer.from([type])]]);
  if (o.requested) options.set(Opt.RequestedIp, u32Value(ip(o.requested)));
  if (o.serverId) options.set(Opt.ServerId, u32Value(ip(o.serverId)));
  if (o.hostname) options.set(Opt.Hostname, Buffer.from(o.hostname));
  if (o.prl) options.set(Opt.ParameterRequestList, Buffer.from(o.prl));
  const m: DhcpMessage = {
    op: 1, htype: 1, hlen: 6, hops: 0, xid: 0x1234, secs: 0, flags: o.flags ?? 0,
    ciaddr: o.ciaddr ? ip(o.ciaddr) : 0, yiaddr: 0, siaddr: 0, giaddr: 0,
    chaddr: parseMac(mac)!, sname: '', file: '', options,
  };
  return emitDhcp(m);
}

const FROM = { mac: parseMac('02:00:00:00:c0:01')!, ip: 0 };

describe('DHCP server (RFC 2131 §4.3)', () => {
  let counters: Counters;
  let server: DhcpServer;
  let dir: string;

  beforeEach(() => {
    counters = new Counters();
    server = new DhcpServer(config(), new LeaseStore(null), counters);
    dir = mkdtempSync(join(tmpdir(), 'hnt-leases-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** DISCOVER + REQUEST(selecting); returns the bound address. */
  function dora(s: DhcpServer, mac: string, now = T0): string {
    const offer = parseDhcp(s.handle(now, client(MsgType.Discover, mac), FROM)!.payload);
    const yi = ipv4ToString(offer.yiaddr);
    const ack = s.handle(now, client(MsgType.Request, mac, { requested: yi, serverId: '192.168.65.1' }), FROM);
    expect(messageType(parseDhcp(ack!.payload))).to.equal(MsgType.Ack);
    return yi;
  }

  it('offers the first pool address to a udhcpc DISCOVER, unicast to yiaddr and chaddr (§4.1)', () => {
    const r = server.handle(T0, fixture('dhcp-udhcpc-discover.hex'), FROM)!;
    const m = parseDhcp(r.payload);
    expect(messageType(m)).to.equal(MsgType.Offer);
    expect(m.op).to.equal(2);
    expect(m.xid).to.equal(0x40363d50);
    expect(ipv4ToString(m.yiaddr)).to.equal('192.168.65.2');
    expect(r.payload.length).to.be.at.least(300);
    expect(r.broadcast).to.equal(false);
    expect(ipv4ToString(r.dstIp)).to.equal('192.168.65.2');
    expect(macToString(r.dstMac)).to.equal('02:00:00:00:c0:01');
    expect(ipOption(m, Opt.ServerId)).to.equal(GW);
    expect(m.options.get(Opt.LeaseTime)!.readUInt32BE(0)).to.equal(3600);
    expect(m.options.get(Opt.RenewalTime)!.readUInt32BE(0)).to.equal(1800);
    expect(m.options.get(Opt.RebindingTime)!.readUInt32BE(0)).to.equal(3150);
    expect(ipv4ToString(m.options.get(Opt.SubnetMask)!.readUInt32BE(0))).to.equal('255.255.255.0');
    expect(ipOption(m, Opt.Router)).to.equal(GW);
    expect(ipv4ToString(ipOption(m, Opt.BroadcastAddress)!)).to.equal('192.168.65.255');
    expect(m.options.get(Opt.Hostname)!.toString()).to.equal('hntguest');
    expect(m.options.get(Opt.DomainName)!.toString()).to.equal('hnet.internal');
  });

  it('answers the options of the parameter request list in the client\'s order (dhclient)', () => {
    const m = parseDhcp(server.handle(T0, fixture('dhcp-dhclient-discover.hex'), FROM)!.payload);
    const codes = [...m.options.keys()];
    expect(codes.slice(0, 5)).to.deep.equal([53, 54, 51, 58, 59]);
    // dhclient asks 1,28,2,3,15,6,119,12,44,47,26,121,42; we know 1,28,3,15,6,119,12,26
    expect(codes.slice(5)).to.deep.equal([1, 28, 3, 15, 6, 119, 12, 26]);
    expect(decodeDomainSearch(m.options.get(Opt.DomainSearch)!)).to.deep.equal(['hnet.internal', 'corp.example.com']);
    expect(m.options.get(Opt.InterfaceMtu)!.readUInt16BE(0)).to.equal(1500);
  });

  it('offers a non-default MTU even when the client did not ask (RFC 2132 §5.1)', () => {
    const s = new DhcpServer(config({ mtu: 9000 }), new LeaseStore(null), counters);
    const m = parseDhcp(s.handle(T0, fixture('dhcp-udhcpc-discover.hex'), FROM)!.payload);
    expect(m.options.get(Opt.InterfaceMtu)!.readUInt16BE(0)).to.equal(9000);
  });

  it('leaves out the search list when the reply would exceed the client\'s maximum message size (RFC 2132 §9.10)', () => {
    const long = Array.from({ length: 12 }, (_, i) => `team${i}.department${i}.corp.example.com`);
    const s = new DhcpServer(config({ domainSearch: long }), new LeaseStore(null), counters);
    // udhcpc says 576 (IP + UDP + DHCP) and asks for the search list
    const withPrl = parseDhcp(fixture('dhcp-udhcpc-discover.hex'));
    withPrl.options.set(Opt.ParameterRequestList, Buffer.from([1, 3, 6, 15, 119]));
    const r = s.handle(T0, emitDhcp(withPrl), FROM)!;
    expect(r.payload.length).to.be.at.most(576 - 28);
    const m = parseDhcp(r.payload);
    expect(m.options.has(Opt.DomainSearch)).to.equal(false);
    expect(m.options.get(Opt.DomainName)!.toString()).to.equal('team0.department0.corp.example.com');
    // without a size limit the whole list goes
    withPrl.options.delete(Opt.MaxMessageSize);
    const full = parseDhcp(s.handle(T0, emitDhcp(withPrl), FROM)!.payload);
    expect(decodeDomainSearch(full.options.get(Opt.DomainSearch)!)).to.deep.equal(long);
  });

  it('broadcasts the reply when the client sets the broadcast bit (§4.1)', () => {
    const r = server.handle(T0, client(MsgType.Discover, '02:00:00:00:00:0a', { flags: 0x8000 }), FROM)!;
    expect(r.broadcast).to.equal(true);
    expect(ipv4ToString(r.dstIp)).to.equal('255.255.255.255');
    expect(macToString(r.dstMac)).to.equal('ff:ff:ff:ff:ff:ff');
    expect(parseDhcp(r.payload).flags).to.equal(0x8000);
  });

  it('binds on REQUEST in SELECTING state and lists the lease', () => {
    expect(dora(server, '02:00:00:00:00:0a')).to.equal('192.168.65.2');
    expect(dora(server, '02:00:00:00:00:0b')).to.equal('192.168.65.3');
    expect(server.list()).to.deep.equal([
      { mac: '02:00:00:00:00:0a', ip: '192.168.65.2', hostname: '', expiresAt: T0 + 3600_000 },
      { mac: '02:00:00:00:00:0b', ip: '192.168.65.3', hostname: '', expiresAt: T0 + 3600_000 },
    ]);
  });

  it('ACKs a SELECTING request for a free address whose offer it lost (restart)', () => {
    const r = server.handle(T0, client(MsgType.Request, '02:00:00:00:00:0a', { requested: '192.168.65.9', serverId: '192.168.65.1' }), FROM)!;
    expect(messageType(parseDhcp(r.payload))).to.equal(MsgType.Ack);
    expect(server.list()[0].ip).to.equal('192.168.65.9');
    const nak = server.handle(T0, client(MsgType.Request, '02:00:00:00:00:0b', { requested: '192.168.65.254', serverId: '192.168.65.1' }), FROM)!;
    expect(messageType(parseDhcp(nak.payload))).to.equal(MsgType.Nak);
  });

  it('stays silent when the client selected another server, and frees the offer', () => {
    server.handle(T0, client(MsgType.Discover, '02:00:00:00:00:0a'), FROM);
    const r = server.handle(T0, client(MsgType.Request, '02:00:00:00:00:0a', { requested: '192.168.65.2', serverId: '192.168.65.9' }), FROM);
    expect(r).to.equal(null);
    expect(parseDhcp(server.handle(T0, client(MsgType.Discover, '02:00:00:00:00:0b'), FROM)!.payload).yiaddr).to.equal(ip('192.168.65.2'));
  });

  it('keeps an outstanding offer away from other clients', () => {
    server.handle(T0, client(MsgType.Discover, '02:00:00:00:00:0a'), FROM);
    const b = parseDhcp(server.handle(T0, client(MsgType.Discover, '02:00:00:00:00:0b'), FROM)!.payload);
    expect(ipv4ToString(b.yiaddr)).to.equal('192.168.65.3');
  });

  it('lets an unanswered offer lapse after OFFER_HOLD_MS', () => {
    server.handle(T0, client(MsgType.Discover, '02:00:00:00:00:0a'), FROM);
    const b = parseDhcp(server.handle(T0 + OFFER_HOLD_MS, client(MsgType.Discover, '02:00:00:00:00:0b'), FROM)!.payload);
    expect(ipv4ToString(b.yiaddr)).to.equal('192.168.65.2');
  });

  it('NAKs a SELECTING request for an address it did not offer, broadcast (§4.1)', () => {
    dora(server, '02:00:00:00:00:0a');
    const r = server.handle(T0, client(MsgType.Request, '02:00:00:00:00:0b', { requested: '192.168.65.2', serverId: '192.168.65.1' }), FROM)!;
    expect(messageType(parseDhcp(r.payload))).to.equal(MsgType.Nak);
    expect(parseDhcp(r.payload).yiaddr).to.equal(0);
    expect(r.dstIp).to.equal(0xffffffff);
    expect(r.broadcast).to.equal(true);
  });

  it('extends a lease in RENEWING and REBINDING, replying unicast to ciaddr', () => {
    const a = dora(server, '02:00:00:00:00:0a');
    const later = T0 + 1900_000;
    const r = server.handle(later, client(MsgType.Request, '02:00:00:00:00:0a', { ciaddr: a }), { mac: parseMac('02:00:00:00:00:0a')!, ip: ip(a) })!;
    const m = parseDhcp(r.payload);
    expect(messageType(m)).to.equal(MsgType.Ack);
    expect(ipv4ToString(m.yiaddr)).to.equal(a);
    expect(ipv4ToString(r.dstIp)).to.equal(a);
    expect(r.broadcast).to.equal(false);
    expect(server.list()[0].expiresAt).to.equal(later + 3600_000);
    const nak = server.handle(later, client(MsgType.Request, '02:00:00:00:00:0b', { ciaddr: a }), FROM)!;
    expect(messageType(parseDhcp(nak.payload))).to.equal(MsgType.Nak);
  });

  it('answers an INIT-REBOOT request from dhclient: silent without a record, ACK with one, NAK when wrong', () => {
    const req = fixture('dhcp-dhclient-initreboot.hex'); // asks for 192.168.65.7
    expect(server.handle(T0, req, FROM)).to.equal(null);
    const store = new LeaseStore(null);
    store.put({ mac: '02:00:00:00:c0:01', ip: '192.168.65.7', hostname: 'vm', expiresAt: T0 - 1 });
    const s = new DhcpServer(config(), store, counters);
    const ack = parseDhcp(s.handle(T0, req, FROM)!.payload);
    expect(messageType(ack)).to.equal(MsgType.Ack);
    expect(ipv4ToString(ack.yiaddr)).to.equal('192.168.65.7');
    store.put({ mac: '02:00:00:00:c0:01', ip: '192.168.65.8', hostname: 'vm', expiresAt: T0 + 1 });
    expect(messageType(parseDhcp(s.handle(T0, req, FROM)!.payload))).to.equal(MsgType.Nak);
  });

  it('NAKs an INIT-REBOOT request for another network', () => {
    const r = server.handle(T0, client(MsgType.Request, '02:00:00:00:00:0a', { requested: '10.0.0.5' }), FROM)!;
    expect(messageType(parseDhcp(r.payload))).to.equal(MsgType.Nak);
  });

  it('gives a released address back to the same client (§4.3.4)', () => {
    const a = dora(server, '02:00:00:00:00:0a');
    expect(server.handle(T0 + 10, client(MsgType.Release, '02:00:00:00:00:0a', { ciaddr: a, serverId: '192.168.65.1' }), FROM)).to.equal(null);
    expect(server.list()[0].expiresAt).to.equal(T0 + 10);
    dora(server, '02:00:00:00:00:0b', T0 + 20); // takes a never-used address, not the released one
    expect(dora(server, '02:00:00:00:00:0a', T0 + 30)).to.equal(a);
  });

  it('keeps a DECLINEd address out of the pool for a while (§4.3.3)', () => {
    const a = dora(server, '02:00:00:00:00:0a');
    server.handle(T0 + 1, client(MsgType.Decline, '02:00:00:00:00:0a', { requested: a, serverId: '192.168.65.1' }), FROM);
    expect(dora(server, '02:00:00:00:00:0a', T0 + 2)).to.not.equal(a);
    const s = new DhcpServer(config({ poolEnd: ip('192.168.65.2') }), new LeaseStore(null), counters);
    s.handle(T0, client(MsgType.Decline, '02:00:00:00:00:0c', { requested: '192.168.65.2' }), FROM);
    expect(s.handle(T0 + 1, client(MsgType.Discover, '02:00:00:00:00:0d'), FROM)).to.equal(null);
    expect(dora(s, '02:00:00:00:00:0d', T0 + DECLINE_HOLD_MS + 1)).to.equal('192.168.65.2');
  });

  it('serves a static lease with its hostname, outside the dynamic pool', () => {
    const s = new DhcpServer(
      config({ staticLeases: [{ mac: '02:00:00:00:00:5A', ip: '192.168.65.2', hostname: 'builder' }] }),
      new LeaseStore(null),
      counters,
    );
    expect(dora(s, '02:00:00:00:00:01')).to.equal('192.168.65.3');
    const offer = parseDhcp(s.handle(T0, client(MsgType.Discover, '02:00:00:00:00:5a'), FROM)!.payload);
    expect(ipv4ToString(offer.yiaddr)).to.equal('192.168.65.2');
    expect(offer.options.get(Opt.Hostname)!.toString()).to.equal('builder');
    expect(dora(s, '02:00:00:00:00:5a')).to.equal('192.168.65.2');
  });

  it('makes no offer and NAKs requests when the pool is exhausted, counting it', () => {
    const s = new DhcpServer(config({ poolEnd: ip('192.168.65.3') }), new LeaseStore(null), counters);
    dora(s, '02:00:00:00:00:01');
    dora(s, '02:00:00:00:00:02');
    expect(s.handle(T0, client(MsgType.Discover, '02:00:00:00:00:03'), FROM)).to.equal(null);
    expect(counters.get('dhcp_pool_exhausted')).to.equal(1);
    const r = s.handle(T0, client(MsgType.Request, '02:00:00:00:00:03', { requested: '192.168.65.2', serverId: '192.168.65.1' }), FROM)!;
    expect(messageType(parseDhcp(r.payload))).to.equal(MsgType.Nak);
    expect(counters.get('dhcp_pool_exhausted')).to.equal(2);
    // once a lease has expired its address is reclaimed, the longest-expired first
    expect(dora(s, '02:00:00:00:00:03', T0 + 3600_001)).to.equal('192.168.65.2');
  });

  it('answers INFORM with configuration only, unicast to ciaddr (§4.3.5)', () => {
    const r = server.handle(T0, client(MsgType.Inform, '02:00:00:00:00:0a', { ciaddr: '192.168.65.77' }), FROM)!;
    const m = parseDhcp(r.payload);
    expect(messageType(m)).to.equal(MsgType.Ack);
    expect(m.yiaddr).to.equal(0);
    expect(m.options.has(Opt.LeaseTime)).to.equal(false);
    expect(ipv4ToString(r.dstIp)).to.equal('192.168.65.77');
  });

  it('keeps leases across a new server on the same file', () => {
    const file = join(dir, 'state', 'leases.json');
    mkdirSync(join(dir, 'state'));
    const a = dora(new DhcpServer(config(), new LeaseStore(file), counters), '02:00:00:00:00:0a');
    dora(new DhcpServer(config(), new LeaseStore(file), counters), '02:00:00:00:00:0b');
    const s3 = new DhcpServer(config(), new LeaseStore(file), counters);
    expect(s3.list().map((l) => l.mac)).to.deep.equal(['02:00:00:00:00:0a', '02:00:00:00:00:0b']);
    expect(dora(s3, '02:00:00:00:00:0a', T0 + 99_999_999)).to.equal(a);
  });

  it('refuses a leases file that does not parse, and leaves it alone', () => {
    const file = join(dir, 'leases.json');
    for (const text of ['{"version":1,"leases":[', '{"version":1,"leases":[{"mac":"zz","ip":"1.2.3.4","hostname":"","expiresAt":1}]}', '[]']) {
      writeFileSync(file, text);
      expect(() => new LeaseStore(file)).to.throw(BrokenFileError).with.property('code', 'HNET_BROKEN_FILE');
      expect(readFileSync(file, 'utf8')).to.equal(text);
    }
  });

  it('drops and counts malformed, relayed and non-request messages', () => {
    const good = client(MsgType.Discover, '02:00:00:00:00:0a');
    expect(server.handle(T0, good.subarray(0, 200), FROM)).to.equal(null);
    const reply = Buffer.from(good);
    reply[0] = 2;
    expect(server.handle(T0, reply, FROM)).to.equal(null);
    expect(counters.get('drop.dhcp_malformed')).to.equal(2);
    const relayed = Buffer.from(good);
    relayed.writeUInt32BE(ip('10.1.1.1'), 24);
    expect(server.handle(T0, relayed, FROM)).to.equal(null);
    expect(counters.get('drop.dhcp_relayed')).to.equal(1);
  });

  it('never throws on random input (property)', () => {
    const head = fixture('dhcp-udhcpc-discover.hex').subarray(0, 240);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (bytes, withHeader) => {
        const buf = withHeader ? Buffer.concat([head, Buffer.from(bytes)]) : Buffer.from(bytes);
        server.handle(T0, buf, FROM);
      }),
      { numRuns: 2000 },
    );
  });
});
