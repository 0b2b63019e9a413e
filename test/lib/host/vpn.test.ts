// VPN detection from captured routing tables and interface lists (test/fixtures/diagnose, test/fixtures/host).
import { expect } from 'chai';
import { parseIfconfig, parseIpAddrJson, type HostInterface } from '../../../src/lib/host/addresses.js';
import { parseIpRouteJson, parseNetstatRn } from '../../../src/lib/host/routes.js';
import { findVpnInterfaces, subnetOverlaps, tunnelMode, vpnMtuProblems } from '../../../src/lib/host/vpn.js';
import { parseIpLinkJson, parseScutilNcList, readLinkKinds, readNcServices } from '../../../src/lib/host/vpn-readers.js';
import { fakeRunner } from '../../../src/lib/host/exec.js';
import { parseCidr } from '../../../src/lib/wire/addr.js';
import { hostFixture } from './fixtures.js';
import { diagFixture } from '../diagnose/fixtures.js';

const linuxIfaces = () => parseIpAddrJson(diagFixture('linux-ip-addr-cscotun.json'));
const linuxKinds = () => new Map(parseIpLinkJson(diagFixture('linux-ip-link-cscotun.json')).filter((l) => l.kind).map((l) => [l.name, l.kind!] as [string, string]));
const utun = (name: string, ip: string, mtu: number): HostInterface => ({ name, up: true, loopback: false, pointToPoint: true, mtu, flags: ['UP', 'POINTOPOINT'], addresses: [{ family: 'inet', ip, prefix: 32 }] });

describe('VPN interfaces (host/vpn.ts)', () => {
  it('finds a Linux cscotun0 tun device carrying IPv4, not the veth or loopback', () => {
    const routes = parseIpRouteJson(diagFixture('linux-ip-route-cscotun.json'));
    const vpns = findVpnInterfaces(linuxIfaces(), routes, linuxKinds());
    expect(vpns.map((v) => v.name)).to.deep.equal(['cscotun0']);
    expect(vpns[0]!.reason).to.equal('tun');
    expect(vpns[0]!.ipv4).to.deep.equal(['10.77.0.5/24']);
    expect(vpns[0]!.mtu).to.equal(1390);
    expect(vpns[0]!.routes.map((r) => r.dst)).to.include.members(['10.10.0.0/16', '192.168.65.0/25']);
  });

  it('recognises a tun device by its link kind whatever its name', () => {
    const ifaces = linuxIfaces().map((i) => (i.name === 'cscotun0' ? { ...i, name: 'corpnet' } : i));
    const vpns = findVpnInterfaces(ifaces, [], new Map([['corpnet', 'tun']]));
    expect(vpns.map((v) => v.name)).to.deep.equal(['corpnet']);
  });

  it('ignores a VPN-named interface without IPv4 (macOS utun0 with only IPv6)', () => {
    const vpns = findVpnInterfaces(parseIfconfig(diagFixture('macos-ifconfig-split.txt')), []);
    expect(vpns.map((v) => v.name)).to.deep.equal(['utun2']);
  });
});

describe('full versus split tunnel (host/vpn.ts tunnelMode)', () => {
  it('Linux: routes to 10.10/16 and a /25 on cscotun0 are a split tunnel', () => {
    const routes = parseIpRouteJson(diagFixture('linux-ip-route-cscotun.json'));
    const t = tunnelMode(routes, findVpnInterfaces(linuxIfaces(), routes, linuxKinds()));
    expect(t.mode).to.equal('split');
    expect(t.via).to.equal('cscotun0');
  });

  it('Linux: 0/1 + 128.0/1 on cscotun0 are a full tunnel', () => {
    const routes = parseIpRouteJson(diagFixture('linux-ip-route-cscotun-full.json'));
    const t = tunnelMode(routes, findVpnInterfaces(linuxIfaces(), routes, linuxKinds()));
    expect(t).to.deep.include({ mode: 'full', via: 'cscotun0' });
    expect(t.evidence).to.deep.equal(['0.0.0.0/1', '128.0.0.0/1']);
  });

  it('macOS: 0/1 + 128.0/1 via utun3 are a full tunnel', () => {
    const routes = parseNetstatRn(hostFixture('macos-netstat-rn-vpn.txt'));
    const t = tunnelMode(routes, findVpnInterfaces(parseIfconfig(hostFixture('macos-ifconfig.txt')), routes));
    expect(t).to.deep.include({ mode: 'full', via: 'utun3' });
  });

  it('macOS: a default route on utun4 is a full tunnel', () => {
    const routes = parseNetstatRn(diagFixture('macos-netstat-rn-full-utun.txt'));
    const t = tunnelMode(routes, findVpnInterfaces([utun('utun4', '10.64.0.2', 1420)], routes));
    expect(t).to.deep.include({ mode: 'full', via: 'utun4' });
    expect(t.evidence).to.deep.equal(['0.0.0.0/0']);
  });

  it('macOS: 10/8, 172.16/12 and 192.168.64/18 via utun2 are a split tunnel', () => {
    const routes = parseNetstatRn(diagFixture('macos-netstat-rn-split.txt'));
    const t = tunnelMode(routes, findVpnInterfaces(parseIfconfig(diagFixture('macos-ifconfig-split.txt')), routes));
    expect(t.mode).to.equal('split');
    expect(t.via).to.equal('utun2');
    expect(t.evidence).to.include.members(['10.0.0.0/8', '172.16.0.0/12', '192.168.64.0/18']);
  });

  it('no VPN interface: none', () => {
    expect(tunnelMode(parseIpRouteJson(hostFixture('linux-ip-route.json')), []).mode).to.equal('none');
  });
});

describe('guest subnet overlap and MTU (host/vpn.ts)', () => {
  it('flags a VPN route to 192.168.65.0/25 as overlapping 192.168.65.0/24 (netmask, not equality)', () => {
    const routes = parseIpRouteJson(diagFixture('linux-ip-route-cscotun.json'));
    const o = subnetOverlaps(routes, parseCidr('192.168.65.0/24')!, findVpnInterfaces(linuxIfaces(), routes, linuxKinds()));
    expect(o.routes).to.deep.equal([{ dst: '192.168.65.0/25', dev: 'cscotun0', vpn: true }]);
    expect(subnetOverlaps(routes, parseCidr('192.168.66.0/24')!, []).routes).to.deep.equal([]);
  });

  it('flags a macOS 192.168.64/18 route as covering 192.168.65.0/24', () => {
    const routes = parseNetstatRn(diagFixture('macos-netstat-rn-split.txt'));
    expect(subnetOverlaps(routes, parseCidr('192.168.65.0/24')!, []).routes.map((r) => r.dst)).to.deep.equal(['192.168.64.0/18']);
  });

  it('reports VPN MTUs below the guest MTU only', () => {
    const vpns = findVpnInterfaces(linuxIfaces(), [], linuxKinds());
    expect(vpnMtuProblems(vpns, 1500)).to.deep.equal([{ name: 'cscotun0', mtu: 1390 }]);
    expect(vpnMtuProblems(vpns, 1390)).to.deep.equal([]);
  });
});

describe('VPN readers (host/vpn-readers.ts)', () => {
  it('reads link kinds from ip -j -d link', () => {
    const links = parseIpLinkJson(diagFixture('linux-ip-link-cscotun.json'));
    expect(links.find((l) => l.name === 'cscotun0')).to.deep.include({ kind: 'tun', mtu: 1390 });
    expect(links.find((l) => l.name === 'hntv0')!.kind).to.equal('veth');
    expect(parseIpLinkJson('not json')).to.deep.equal([]);
  });

  it('reads VPN services and their state from scutil --nc list', () => {
    const s = parseScutilNcList(diagFixture('macos-scutil-nc-list.txt'));
    expect(s.map((x) => [x.name, x.state, x.enabled, x.type])).to.deep.equal([
      ['Corp AnyConnect', 'Connected', true, 'VPN/com.cisco.anyconnect'],
      ['Home L2TP', 'Disconnected', true, 'PPP/L2TP'],
      ['Old IPSec', 'Disconnected', false, 'IPSec'],
    ]);
  });

  it('readers run the right commands and read failures as empty', async () => {
    const r = fakeRunner([{ match: 'ip -j -d link', result: { stdout: diagFixture('linux-ip-link-cscotun.json') } }]);
    expect((await readLinkKinds(r, 'linux')).get('cscotun0')).to.equal('tun');
    expect(await readNcServices(fakeRunner([]), 'darwin')).to.deep.equal([]);
    expect((await readLinkKinds(fakeRunner([]), 'darwin')).size).to.equal(0);
  });
});
