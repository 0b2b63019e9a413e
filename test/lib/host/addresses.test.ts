import { expect } from 'chai';
import { interfacesWith, netmaskToPrefix, parseIfconfig, parseIpAddrJson, readInterfaces } from '../../../src/lib/host/addresses.js';
import { fakeRunner } from '../../../src/lib/host/exec.js';
import { HnetError } from '../../../src/lib/errors.js';
import { hostFixture } from './fixtures.js';

describe('host addresses: Linux ip -j addr', () => {
  it('reads lo of this machine as an up loopback with 127.0.0.1/8 and ::1/128', () => {
    const [lo, ...rest] = parseIpAddrJson(hostFixture('linux-ip-addr-lo.json'));
    expect(rest).to.have.length(0);
    expect(lo).to.include({ name: 'lo', up: true, loopback: true, mtu: 65536 });
    expect(lo.addresses).to.deep.equal([
      { family: 'inet', ip: '127.0.0.1', prefix: 8 },
      { family: 'inet6', ip: '::1', prefix: 128 },
    ]);
    expect(lo.mac).to.equal(undefined);
  });

  it('reads aliases on lo, including labelled ones', () => {
    const [lo] = parseIpAddrJson(hostFixture('linux-netns-ip-addr-lo.json'));
    expect(lo.addresses.filter((a) => a.family === 'inet').map((a) => `${a.ip}/${a.prefix}`)).to.deep.equal(['127.0.0.1/8', '10.200.10.1/32', '10.200.10.2/24']);
  });

  it('reads every interface, with MACs on Ethernet links and down links marked down', () => {
    const all = parseIpAddrJson(hostFixture('linux-ip-addr.json'));
    const eth0 = all.find((i) => i.name === 'eth0')!;
    expect(eth0).to.include({ up: true, loopback: false, mac: '02:fc:00:00:00:01', mtu: 1400 });
    expect(eth0.addresses[0]).to.deep.equal({ family: 'inet', ip: '192.0.2.2', prefix: 24 });
    expect(all.find((i) => i.name === 'ifb0')).to.include({ up: false });
    expect(interfacesWith(all, '192.0.2.2').map((i) => i.name)).to.deep.equal(['eth0']);
    expect(interfacesWith(all, '192.0.2.3')).to.deep.equal([]);
  });

  it('returns nothing rather than throwing on garbage', () => {
    expect(parseIpAddrJson('not json')).to.deep.equal([]);
    expect(parseIpAddrJson('{"a":1}')).to.deep.equal([]);
    expect(parseIpAddrJson('[null, 3, {"ifname":"x","addr_info":[{"family":"inet"}]}]')).to.deep.equal([
      { name: 'x', up: false, loopback: false, pointToPoint: false, flags: [], addresses: [] },
    ]);
  });
});

describe('host addresses: macOS ifconfig', () => {
  it('reads lo0 with its alias and strips the inet6 scope', () => {
    const [lo0] = parseIfconfig(hostFixture('macos-ifconfig-lo0.txt'));
    expect(lo0).to.include({ name: 'lo0', up: true, loopback: true, mtu: 16384 });
    expect(lo0.addresses).to.deep.equal([
      { family: 'inet', ip: '127.0.0.1', prefix: 8 },
      { family: 'inet6', ip: '::1', prefix: 128 },
      { family: 'inet6', ip: 'fe80::1', prefix: 64 },
      { family: 'inet', ip: '10.200.10.1', prefix: 24 },
    ]);
  });

  it('reads every interface, Ethernet MACs, empty flag sets and point-to-point peers', () => {
    const all = parseIfconfig(hostFixture('macos-ifconfig.txt'));
    expect(all.map((i) => i.name)).to.deep.equal(['lo0', 'gif0', 'stf0', 'en0', 'en1', 'awdl0', 'utun3']);
    const en0 = all.find((i) => i.name === 'en0')!;
    expect(en0).to.include({ mac: '64:76:ba:ae:a3:02', up: true });
    expect(en0.addresses).to.deep.include({ family: 'inet', ip: '172.30.7.47', prefix: 16 });
    expect(all.find((i) => i.name === 'stf0')).to.include({ up: false, mtu: 1280 });
    const utun = all.find((i) => i.name === 'utun3')!;
    expect(utun.pointToPoint).to.equal(true);
    expect(utun.addresses).to.deep.equal([{ family: 'inet', ip: '10.8.0.6', prefix: 32, peer: '10.8.0.5' }]);
  });

  it('converts netmasks in hex and dotted form, refusing non-contiguous ones', () => {
    expect(netmaskToPrefix('0xffffff00')).to.equal(24);
    expect(netmaskToPrefix('0xffffffff')).to.equal(32);
    expect(netmaskToPrefix('0x00000000')).to.equal(0);
    expect(netmaskToPrefix('255.255.240.0')).to.equal(20);
    expect(netmaskToPrefix('0xff00ff00')).to.equal(undefined);
    expect(netmaskToPrefix('bogus')).to.equal(undefined);
  });
});

describe('host addresses: readInterfaces', () => {
  it('runs ip -j addr on Linux and ifconfig on macOS', async () => {
    const r = fakeRunner([
      { match: 'ip -j addr', result: { stdout: hostFixture('linux-ip-addr-lo.json') } },
      { match: 'ifconfig', result: { stdout: hostFixture('macos-ifconfig-lo0.txt') } },
    ]);
    expect((await readInterfaces(r, 'linux'))[0].name).to.equal('lo');
    expect((await readInterfaces(r, 'darwin'))[0].name).to.equal('lo0');
    expect(r.calls).to.deep.equal(['ip -j addr', 'ifconfig']);
  });

  it('fails with HNET_HOST_READ when the command fails', async () => {
    const r = fakeRunner([{ match: 'ip -j addr', result: { exitCode: 1, stderr: 'boom' } }]);
    const err = await readInterfaces(r, 'linux').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HnetError).with.property('code', 'HNET_HOST_READ');
  });
});
