import { expect } from 'chai';
import fc from 'fast-check';
import { fixture } from './fixtures.js';
import {
  DhcpMessage,
  MsgType,
  Opt,
  WireError,
  decodeDomainSearch,
  emitDhcp,
  encodeDomainSearch,
  ipOption,
  messageType,
  parseDhcp,
} from '../../../../src/lib/services/dhcp/message.js';
import { ipv4ToString, macToString } from '../../../../src/lib/wire/addr.js';


function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(WireError);
    return (err as WireError).reason;
  }
  return 'no error';
}

describe('DHCP message codec (RFC 2131 §2, RFC 2132)', () => {
  it('parses a DHCPDISCOVER captured from busybox udhcpc', () => {
    const m = parseDhcp(fixture('dhcp-udhcpc-discover.hex'));
    expect(m.op).to.equal(1);
    expect(m.xid).to.equal(0x40363d50);
    expect(macToString(m.chaddr)).to.equal('02:00:00:00:c0:01');
    expect(messageType(m)).to.equal(MsgType.Discover);
    expect(m.options.get(Opt.Hostname)!.toString()).to.equal('hntguest');
    expect([...m.options.get(Opt.ParameterRequestList)!]).to.deep.equal([1, 3, 6, 12, 15, 28, 42]);
    expect(m.options.get(Opt.MaxMessageSize)!.readUInt16BE(0)).to.equal(576);
    expect(m.options.get(Opt.ClientId)!.toString('hex')).to.equal('01020000' + '00c001');
  });

  it('parses an INIT-REBOOT DHCPREQUEST captured from ISC dhclient', () => {
    const m = parseDhcp(fixture('dhcp-dhclient-initreboot.hex'));
    expect(messageType(m)).to.equal(MsgType.Request);
    expect(m.ciaddr).to.equal(0);
    expect(ipv4ToString(ipOption(m, Opt.RequestedIp)!)).to.equal('192.168.65.7');
    expect(ipOption(m, Opt.ServerId)).to.equal(undefined);
    expect([...m.options.get(Opt.ParameterRequestList)!]).to.include.members([1, 3, 6, 15, 26, 119]);
  });

  it('round-trips every fixture through emit and parse', () => {
    for (const name of ['dhcp-udhcpc-discover.hex', 'dhcp-dhclient-discover.hex', 'dhcp-dhclient-initreboot.hex']) {
      const m = parseDhcp(fixture(name));
      const again = parseDhcp(emitDhcp(m));
      expect(again).to.deep.equal(m);
      expect(emitDhcp(m).length).to.equal(300);
    }
  });

  it('drops a message shorter than the fixed header and cookie', () => {
    const buf = fixture('dhcp-udhcpc-discover.hex');
    for (const len of [0, 1, 100, 236, 239]) expect(reason(() => parseDhcp(buf.subarray(0, len)))).to.equal('dhcp_truncated');
  });

  it('drops an option whose length runs past the end of the datagram', () => {
    const buf = fixture('dhcp-udhcpc-discover.hex');
    // cut inside the hostname option (code 12 at offset 256)
    expect(reason(() => parseDhcp(buf.subarray(0, 260)))).to.equal('dhcp_bad_option');
  });

  it('refuses a wrong magic cookie and a bad op', () => {
    const buf = Buffer.from(fixture('dhcp-udhcpc-discover.hex'));
    buf[236] = 0;
    expect(reason(() => parseDhcp(buf))).to.equal('dhcp_bad_cookie');
    const op = Buffer.from(fixture('dhcp-udhcpc-discover.hex'));
    op[0] = 7;
    expect(reason(() => parseDhcp(op))).to.equal('dhcp_bad_op');
  });

  it('reads options from file and sname when option 52 says they are overloaded (RFC 2131 §4.1)', () => {
    const buf = Buffer.alloc(300);
    buf[0] = 1;
    buf[1] = 1;
    buf[2] = 6;
    buf.writeUInt32BE(0x63825363, 236);
    Buffer.from([53, 1, 1, 52, 1, 3, 255]).copy(buf, 240);
    Buffer.from([12, 2, 0x68, 0x69, 52, 1, 3, 255]).copy(buf, 108); // file; a nested 52 is ignored
    Buffer.from([15, 1, 0x78, 255]).copy(buf, 44); // sname
    const m = parseDhcp(buf);
    expect(m.options.get(Opt.Hostname)!.toString()).to.equal('hi');
    expect(m.options.get(Opt.DomainName)!.toString()).to.equal('x');
    expect(m.file).to.equal('');
    expect(m.sname).to.equal('');
  });

  it('splits values over 255 bytes and concatenates them again (RFC 3396)', () => {
    const m = parseDhcp(fixture('dhcp-udhcpc-discover.hex'));
    const long = Buffer.alloc(600, 0x61);
    m.options.set(Opt.DomainSearch, long);
    const wire = emitDhcp(m);
    expect(wire.length).to.be.greaterThan(600 + 240);
    expect(parseDhcp(wire).options.get(Opt.DomainSearch)).to.deep.equal(long);
  });

  it('encodes the domain search list with compression as in RFC 3397 §3', () => {
    const v = encodeDomainSearch(['eng.apple.com.', 'marketing.apple.com.']);
    const expected = Buffer.concat([
      Buffer.from([3]), Buffer.from('eng'), Buffer.from([5]), Buffer.from('apple'), Buffer.from([3]), Buffer.from('com'), Buffer.from([0]),
      Buffer.from([9]), Buffer.from('marketing'), Buffer.from([0xc0, 0x04]),
    ]);
    expect(v).to.deep.equal(expected);
    expect(decodeDomainSearch(v)).to.deep.equal(['eng.apple.com', 'marketing.apple.com']);
  });

  it('refuses a domain search pointer that loops or points forward', () => {
    expect(reason(() => decodeDomainSearch(Buffer.from([0xc0, 0x00])))).to.equal('dhcp_bad_option');
    expect(reason(() => decodeDomainSearch(Buffer.from([1, 0x61, 0xc0, 0x05, 0, 0])))).to.equal('dhcp_bad_option');
  });

  it('parse(emit(m)) == m for any message (property)', () => {
    const ip = fc.integer({ min: 0, max: 0xffffffff });
    const msg = fc.record({
      op: fc.constantFrom(1, 2),
      htype: fc.constant(1),
      hlen: fc.constant(6),
      hops: fc.integer({ min: 0, max: 255 }),
      xid: ip,
      secs: fc.integer({ min: 0, max: 0xffff }),
      flags: fc.constantFrom(0, 0x8000),
      ciaddr: ip,
      yiaddr: ip,
      siaddr: ip,
      giaddr: ip,
      chaddr: fc.uint8Array({ minLength: 6, maxLength: 6 }).map((a) => Buffer.from(a)),
      sname: fc.stringMatching(/^[a-z0-9.-]{0,20}$/),
      file: fc.stringMatching(/^[a-z0-9./]{0,40}$/),
      options: fc
        .array(fc.tuple(fc.integer({ min: 1, max: 254 }).filter((c) => c !== 52 && c !== 53), fc.uint8Array({ maxLength: 400 })), { maxLength: 6 })
        .map((pairs) => new Map(pairs.map(([c, v]) => [c, Buffer.from(v)]))),
    });
    fc.assert(
      fc.property(msg, (m: DhcpMessage) => {
        const wire = emitDhcp(m);
        expect(wire.length).to.be.at.least(300);
        const back = parseDhcp(wire);
        expect(back).to.deep.equal(m);
      }),
    );
  });

  it('random bytes either parse or throw WireError, nothing else (property)', () => {
    const head = fixture('dhcp-udhcpc-discover.hex').subarray(0, 240);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, withHeader) => {
        const buf = withHeader ? Buffer.concat([head, Buffer.from(bytes)]) : Buffer.from(bytes);
        try {
          parseDhcp(buf);
        } catch (err) {
          expect(err).to.be.instanceOf(WireError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
