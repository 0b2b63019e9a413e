import { expect } from 'chai';
import { parseBsdDestination, parseIpRouteJson, parseNetstatRn, readRoutes, routesCovering } from '../../../src/lib/host/routes.js';
import { fakeRunner } from '../../../src/lib/host/exec.js';
import { parseIpv4 } from '../../../src/lib/wire/addr.js';
import { hostFixture } from './fixtures.js';

const ip = (s: string) => parseIpv4(s)!;
const brief = (rs: ReturnType<typeof parseIpRouteJson>) => rs.map((r) => `${r.dst} ${r.gateway ?? '-'} ${r.dev}${r.type ? ' ' + r.type : ''}`);

describe('host routes: Linux ip -j route', () => {
  it('reads the default route and the connected subnet of this machine', () => {
    const rs = parseIpRouteJson(hostFixture('linux-ip-route.json'));
    expect(brief(rs)).to.deep.equal(['0.0.0.0/0 192.0.2.1 eth0', '192.0.2.0/24 - eth0']);
    expect(rs[0].isDefault).to.equal(true);
    expect(rs[1].isDefault).to.equal(false);
  });

  it('reads gateways, host routes without a prefix, and blackhole routes', () => {
    const rs = parseIpRouteJson(hostFixture('linux-netns-ip-route.json'));
    expect(brief(rs)).to.deep.equal([
      '0.0.0.0/0 172.31.5.1 hntv0',
      '10.66.0.0/16 -  blackhole',
      '10.99.0.0/16 172.31.5.1 hntv0',
      '172.31.5.0/24 - hntv0',
      '172.31.200.7/32 - hntv0',
    ]);
  });

  it('orders covering routes most specific first', () => {
    const rs = parseIpRouteJson(hostFixture('linux-netns-ip-route.json'));
    expect(routesCovering(rs, ip('10.99.3.4')).map((r) => r.dst)).to.deep.equal(['10.99.0.0/16', '0.0.0.0/0']);
    expect(routesCovering(rs, ip('8.8.8.8')).map((r) => r.dst)).to.deep.equal(['0.0.0.0/0']);
  });

  it('skips records it cannot read', () => {
    expect(parseIpRouteJson('[{"dst":"10.0.0.0/40","dev":"x"},{"dst":"::1"},{"dev":"y"},7]')).to.deep.equal([]);
    expect(parseIpRouteJson('<html>')).to.deep.equal([]);
  });
});

describe('host routes: macOS netstat -rn', () => {
  it('expands classful abbreviations of destinations (netstat(1))', () => {
    const cases: Array<[string, string | undefined]> = [
      ['default', '0.0.0.0/0'],
      ['127', '127.0.0.0/8'],
      ['169.254', '169.254.0.0/16'],
      ['192.168.220', '192.168.220.0/24'],
      ['10.10.10/24', '10.10.10.0/24'],
      ['0/1', '0.0.0.0/1'],
      ['128.0/1', '128.0.0.0/1'],
      ['10.10.10.107', '10.10.10.107/32'],
      ['fe80::%lo0/64', undefined],
      ['300.1', undefined],
      ['10/', undefined],
    ];
    for (const [text, want] of cases) {
      const d = parseBsdDestination(text);
      expect(d ? `${[d.network >>> 24, (d.network >>> 16) & 255, (d.network >>> 8) & 255, d.network & 255].join('.')}/${d.prefix}` : undefined, text).to.equal(want);
    }
  });

  it('reads the legacy layout with Refs and Use columns, IPv4 section only', () => {
    const rs = parseNetstatRn(hostFixture('macos-netstat-rn-legacy.txt'));
    expect(rs).to.have.length(15);
    expect(rs[0]).to.include({ dst: '0.0.0.0/0', gateway: '10.10.10.1', dev: 'en0', isDefault: true });
    expect(rs.find((r) => r.dst === '172.16.111.0/24')).to.include({ dev: 'vmnet1' }).and.not.have.property('gateway');
    expect(rs.find((r) => r.dst === '10.10.10.1/32' && r.flags.includes('L'))).to.include({ dev: 'en0' });
    expect(rs.every((r) => !r.dst.includes(':'))).to.equal(true);
  });

  it('reads the newer layout and finds a VPN split default (0/1 + 128.0/1 via utun)', () => {
    const rs = parseNetstatRn(hostFixture('macos-netstat-rn-vpn.txt'));
    expect(routesCovering(rs, ip('93.184.216.34')).map((r) => `${r.dst} ${r.dev}`)).to.deep.equal(['0.0.0.0/1 utun3', '0.0.0.0/0 en0']);
    expect(routesCovering(rs, ip('198.51.100.7'))[0]).to.include({ dst: '198.51.100.7/32', gateway: '192.168.1.1', dev: 'en0' });
    expect(routesCovering(rs, ip('10.200.10.1'))[0]).to.include({ dev: 'lo0' });
    expect(rs.find((r) => r.dst === '128.0.0.0/1')!.flags).to.deep.equal(['U', 'G', 'S', 'c']);
  });
});

describe('host routes: readRoutes', () => {
  it('runs ip -j route on Linux and netstat -rn -f inet on macOS', async () => {
    const r = fakeRunner([
      { match: 'ip -j route', result: { stdout: hostFixture('linux-ip-route.json') } },
      { match: 'netstat -rn -f inet', result: { stdout: hostFixture('macos-netstat-rn-vpn.txt') } },
    ]);
    expect(await readRoutes(r, 'linux')).to.have.length(2);
    expect((await readRoutes(r, 'darwin'))[0].dev).to.equal('utun3');
    expect(r.calls).to.deep.equal(['ip -j route', 'netstat -rn -f inet']);
  });
});
