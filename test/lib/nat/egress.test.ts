import { expect } from 'chai';
import { buildStackConfig } from '../../../src/lib/iface/config.js';
import { egressFor, guestViewOf } from '../../../src/lib/nat/egress.js';
import { parseIpv4 } from '../../../src/lib/wire/addr.js';

const ip = (t: string) => parseIpv4(t)!;

describe('egress: where a guest flow goes on the host', () => {
  const cfg = buildStackConfig({});

  it('maps the host address to the host loopback, and back for replies', () => {
    expect(egressFor(cfg, ip('192.168.65.254'))).to.deep.equal({ ok: true, hostAddress: '127.0.0.1' });
    expect(guestViewOf(cfg, '127.0.0.1')).to.equal('192.168.65.254');
    expect(guestViewOf(cfg, '198.18.42.2')).to.equal('198.18.42.2');
  });

  it('refuses the host address with --no-host-loopback', () => {
    expect(egressFor(buildStackConfig({ hostLoopback: false }), ip('192.168.65.254'))).to.deep.equal({ ok: false, reason: 'host_loopback_off' });
  });

  it('never turns martians into host sockets: 0/8, 127/8, multicast, broadcasts, the guest subnet', () => {
    for (const t of ['0.1.2.3', '127.0.0.1', '224.0.0.251', '255.255.255.255', '192.168.65.255', '192.168.65.9']) {
      expect(egressFor(cfg, ip(t)), t).to.deep.equal({ ok: false, reason: 'martian' });
    }
  });

  it('lets any other address out, unless --allow-egress limits it', () => {
    expect(egressFor(cfg, ip('198.18.42.2'))).to.deep.equal({ ok: true, hostAddress: '198.18.42.2' });
    const locked = buildStackConfig({ allowEgress: ['127.0.0.0/8', '198.18.42.2/32'] });
    expect(egressFor(locked, ip('198.18.42.2')).ok).to.equal(true);
    expect(egressFor(locked, ip('198.18.42.3'))).to.deep.equal({ ok: false, reason: 'egress_denied' });
    expect(egressFor(locked, ip('192.168.65.254')).ok, 'the host address is loopback, which is allowed').to.equal(true);
  });
});

describe('guest network config', () => {
  it('derives gateway .1, host .254 and the pool from the subnet', () => {
    const c = buildStackConfig({ subnet: '10.254.65.0/24', mtu: 65520 });
    expect([c.gateway, c.hostIp, c.poolStart, c.poolEnd]).to.deep.equal(['10.254.65.1', '10.254.65.254', '10.254.65.2', '10.254.65.253'].map(ip));
    expect(c.mtu).to.equal(65520);
  });

  it('refuses a bad subnet, an MTU out of range and a bad --allow-egress with usage errors', () => {
    expect(() => buildStackConfig({ subnet: 'nope' })).to.throw(/not an IPv4 CIDR/);
    expect(() => buildStackConfig({ subnet: '10.0.0.0/30' })).to.throw(/prefix/);
    expect(() => buildStackConfig({ mtu: 70000 })).to.throw(/outside/);
    expect(() => buildStackConfig({ allowEgress: ['x'] })).to.throw(/allow-egress/);
  });
});
