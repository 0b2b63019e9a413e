import { expect } from 'chai';
import { cidrContains, ipv4ToString, macToString, parseCidr, parseIpv4, parseMac } from '../../../src/lib/wire/addr.js';

describe('addresses', () => {
  it('round-trips dotted-quad IPv4 through its number form', () => {
    for (const text of ['0.0.0.0', '192.168.65.1', '255.255.255.255', '10.200.10.1']) {
      expect(ipv4ToString(parseIpv4(text)!)).to.equal(text);
    }
  });

  it('refuses malformed IPv4', () => {
    for (const text of ['256.1.1.1', '1.2.3', 'a.b.c.d', '1.2.3.4.5', '']) expect(parseIpv4(text)).to.equal(undefined);
  });

  it('parses CIDRs to their network and tests membership', () => {
    const c = parseCidr('192.168.65.7/24')!;
    expect(ipv4ToString(c.network)).to.equal('192.168.65.0');
    expect(cidrContains(c, parseIpv4('192.168.65.254')!)).to.equal(true);
    expect(cidrContains(c, parseIpv4('192.168.66.1')!)).to.equal(false);
    expect(parseCidr('1.2.3.4/33')).to.equal(undefined);
  });

  it('round-trips MAC addresses', () => {
    expect(macToString(parseMac('02:68:6E:65:74:01')!)).to.equal('02:68:6e:65:74:01');
    expect(parseMac('02:68:6e:65:74')).to.equal(undefined);
  });
});
