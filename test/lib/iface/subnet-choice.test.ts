// Subnet choice at hnet start (DESIGN §1): the default moves off host routes, an explicit --subnet never does.
import { expect } from 'chai';
import { parseIpRouteJson, type HostRoute } from '../../../src/lib/host/routes.js';
import { chooseStartSubnet, chooseSubnet, cidrsOverlap, SUBNET_CANDIDATES } from '../../../src/lib/iface/subnet-choice.js';
import { parseCidr } from '../../../src/lib/wire/addr.js';
import { diagFixture } from '../diagnose/fixtures.js';

const routes = () => parseIpRouteJson(diagFixture('linux-ip-route-cscotun.json'));
const r = (dst: string, dev = 'eth0'): HostRoute => {
  const c = parseCidr(dst)!;
  return { dst, network: c.network, prefix: c.prefix, dev, flags: [], isDefault: c.prefix === 0 };
};

describe('guest subnet choice (iface/subnet-choice.ts)', () => {
  it('CIDRs overlap when one contains the other', () => {
    expect(cidrsOverlap(parseCidr('192.168.65.0/24')!, parseCidr('192.168.65.0/25')!)).to.equal(true);
    expect(cidrsOverlap(parseCidr('192.168.64.0/18')!, parseCidr('192.168.65.0/24')!)).to.equal(true);
    expect(cidrsOverlap(parseCidr('192.168.65.0/24')!, parseCidr('192.168.66.0/24')!)).to.equal(false);
  });

  it('keeps the default when no host route overlaps it', () => {
    const c = chooseSubnet([r('0.0.0.0/0'), r('10.0.0.0/8')]);
    expect(c).to.deep.include({ subnet: '192.168.65.0/24', changed: false, explicit: false });
    expect(c.message).to.equal(undefined);
  });

  it('moves the default to the next free candidate when a VPN route overlaps it, and says so', () => {
    const c = chooseSubnet(routes());
    expect(c).to.deep.include({ subnet: '192.168.66.0/24', changed: true });
    expect(c.message).to.match(/using 192\.168\.66\.0\/24.*192\.168\.65\.0\/25 dev cscotun0/);
  });

  it('skips every overlapped candidate in list order', () => {
    const c = chooseSubnet([r('192.168.64.0/20', 'utun2')]);
    expect(c.subnet).to.equal('172.30.65.0/24');
  });

  it('does not count catch-all routes (default, 0/1, 128.0/1) as overlaps', () => {
    expect(chooseSubnet([r('0.0.0.0/1', 'tun0'), r('128.0.0.0/1', 'tun0'), r('0.0.0.0/0')]).changed).to.equal(false);
  });

  it('never changes an explicit --subnet, only warns', () => {
    const c = chooseSubnet(routes(), '192.168.65.0/24');
    expect(c).to.deep.include({ subnet: '192.168.65.0/24', changed: false, explicit: true });
    expect(c.message).to.match(/kept as given/);
  });

  it('keeps the default and warns when every candidate overlaps', () => {
    const c = chooseSubnet(SUBNET_CANDIDATES.map((s) => r(s)));
    expect(c).to.deep.include({ subnet: '192.168.65.0/24', changed: false });
    expect(c.message).to.match(/no candidate subnet is free/);
  });

  it('a routing table that cannot be read changes nothing', async () => {
    const c = await chooseStartSubnet(undefined, () => Promise.reject(new Error('ip missing')));
    expect(c).to.deep.include({ subnet: '192.168.65.0/24', changed: false });
  });
});
