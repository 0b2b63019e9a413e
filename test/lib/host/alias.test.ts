import { expect } from 'chai';
import {
  aliasAddCommand,
  aliasRemoveCommand,
  commandText,
  isPermissionFailure,
  parseAliasSpec,
  parseLoopbackAddresses,
  prefixToHexNetmask,
  validateAlias,
  type HostView,
} from '../../../src/lib/host/alias.js';
import { parseIfconfig, parseIpAddrJson } from '../../../src/lib/host/addresses.js';
import { parseIpRouteJson, parseNetstatRn } from '../../../src/lib/host/routes.js';
import { HnetError, UsageError } from '../../../src/lib/errors.js';
import { hostFixture } from './fixtures.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as HnetError).code;
  }
  return undefined;
}

describe('loopback alias: command construction', () => {
  it('adds and removes on Linux with ip addr add|del IP/PREFIX dev lo', () => {
    expect(commandText(aliasAddCommand({ ip: '10.200.10.1', prefix: 32 }, 'linux'))).to.equal('ip addr add 10.200.10.1/32 dev lo');
    expect(commandText(aliasRemoveCommand({ ip: '10.200.10.1', prefix: 24 }, 'linux'))).to.equal('ip addr del 10.200.10.1/24 dev lo');
  });

  it('adds on macOS with ifconfig lo0 alias IP netmask HEX and removes with -alias', () => {
    expect(aliasAddCommand({ ip: '10.200.10.1', prefix: 24 }, 'darwin')).to.deep.equal({ cmd: 'ifconfig', args: ['lo0', 'alias', '10.200.10.1', 'netmask', '0xffffff00'] });
    expect(commandText(aliasAddCommand({ ip: '10.200.10.1', prefix: 32 }, 'darwin'))).to.equal('ifconfig lo0 alias 10.200.10.1 netmask 0xffffffff');
    expect(commandText(aliasRemoveCommand({ ip: '10.200.10.1', prefix: 32 }, 'darwin'))).to.equal('ifconfig lo0 -alias 10.200.10.1');
  });

  it('writes netmasks as BSD ifconfig prints them', () => {
    expect([1, 8, 16, 20, 31, 32].map(prefixToHexNetmask)).to.deep.equal(['0x80000000', '0xff000000', '0xffff0000', '0xfffff000', '0xfffffffe', '0xffffffff']);
  });
});

describe('loopback alias: parsing what the user typed', () => {
  it('defaults to a /32 and keeps an explicit prefix', () => {
    expect(parseAliasSpec('10.200.10.1')).to.deep.equal({ ip: '10.200.10.1', prefix: 32 });
    expect(parseAliasSpec(' 10.200.10.1/24 ')).to.deep.equal({ ip: '10.200.10.1', prefix: 24 });
  });

  for (const bad of ['', 'db', '10.200.10', '10.200.10.256', '::1', 'fd00::1/64', '10.1.1.1/0', '10.1.1.1/33', '10.1.1.1/x', '10.1.1.1/24/1', '0.1.2.3', '224.0.0.251', '255.255.255.255', '127.0.0.1']) {
    it(`refuses "${bad}" as a usage error`, () => {
      expect(() => parseAliasSpec(bad)).to.throw(UsageError).with.property('code', 'HNET_BAD_ALIAS');
    });
  }
});

describe('loopback alias: reading the loopback', () => {
  it('reads IPv4 addresses of lo from ip -j addr show dev lo', () => {
    expect(parseLoopbackAddresses(hostFixture('linux-netns-ip-addr-lo.json'), 'linux')).to.deep.equal([
      { ip: '127.0.0.1', prefix: 8 },
      { ip: '10.200.10.1', prefix: 32 },
      { ip: '10.200.10.2', prefix: 24 },
    ]);
  });

  it('reads IPv4 addresses of lo0 from ifconfig lo0', () => {
    expect(parseLoopbackAddresses(hostFixture('macos-ifconfig-lo0.txt'), 'darwin')).to.deep.equal([
      { ip: '127.0.0.1', prefix: 8 },
      { ip: '10.200.10.1', prefix: 24 },
    ]);
  });

  it('recognises permission failures of ip and ifconfig', () => {
    expect(isPermissionFailure('RTNETLINK answers: Operation not permitted')).to.equal(true);
    expect(isPermissionFailure('ifconfig: ioctl (SIOCAIFADDR): Permission denied')).to.equal(true);
    expect(isPermissionFailure('RTNETLINK answers: File exists')).to.equal(false);
  });
});

describe('loopback alias: validation table', () => {
  const linux: HostView = {
    interfaces: parseIpAddrJson(hostFixture('linux-netns-ip-addr.json')),
    routes: parseIpRouteJson(hostFixture('linux-netns-ip-route.json')),
  };
  const mac: HostView = { interfaces: parseIfconfig(hostFixture('macos-ifconfig.txt')), routes: parseNetstatRn(hostFixture('macos-netstat-rn-vpn.txt')) };
  const spec = (ip: string) => ({ ip, prefix: 32 });

  it('accepts a free address covered only by the default route, without warnings', () => {
    expect(validateAlias(spec('10.200.20.1'), linux, undefined, 'linux')).to.deep.equal({ status: 'absent', warnings: [] });
  });

  it('refuses an address inside the default guest subnet 192.168.65.0/24 (exit 1)', () => {
    let err: HnetError | undefined;
    try {
      validateAlias(spec('192.168.65.7'), linux, undefined, 'linux');
    } catch (e) {
      err = e as HnetError;
    }
    expect(err).to.be.instanceOf(HnetError);
    expect(err!.code).to.equal('HNET_ALIAS_IN_SUBNET');
    expect(err!.exitCode).to.equal(1);
    expect(err!.message).to.include('192.168.65.0/24');
  });

  it('uses the configured guest subnet instead of the default', () => {
    expect(code(() => validateAlias(spec('192.168.65.7'), linux, '192.168.70.0/24', 'linux'))).to.equal(undefined);
    expect(code(() => validateAlias(spec('192.168.70.9'), linux, '192.168.70.0/24', 'linux'))).to.equal('HNET_ALIAS_IN_SUBNET');
  });

  it('refuses an address that another interface carries', () => {
    expect(code(() => validateAlias(spec('172.31.5.2'), linux, undefined, 'linux'))).to.equal('HNET_ALIAS_IN_USE');
    expect(code(() => validateAlias(spec('172.30.7.47'), mac, undefined, 'darwin'))).to.equal('HNET_ALIAS_IN_USE');
    expect(code(() => validateAlias(spec('10.8.0.6'), mac, undefined, 'darwin'))).to.equal('HNET_ALIAS_IN_USE');
  });

  it('reports an address already on the loopback as present (idempotent)', () => {
    expect(validateAlias(spec('10.200.10.1'), linux, undefined, 'linux').status).to.equal('present');
    expect(validateAlias(spec('10.200.10.2'), linux, undefined, 'linux').status).to.equal('present');
  });

  it('warns when a route other than the default covers the address', () => {
    const check = validateAlias(spec('10.99.1.1'), linux, undefined, 'linux');
    expect(check.status).to.equal('absent');
    expect(check.warnings).to.have.length(1);
    expect(check.warnings[0]).to.include('10.99.0.0/16').and.include('172.31.5.1');
    expect(validateAlias(spec('10.66.0.1'), linux, undefined, 'linux').warnings[0]).to.include('10.66.0.0/16');
  });

  it('warns about a VPN split default on macOS but not about routes via lo0', () => {
    expect(validateAlias(spec('10.201.0.1'), mac, undefined, 'darwin').warnings.join()).to.include('0.0.0.0/1').and.include('utun3');
    const onLo = parseNetstatRn(hostFixture('macos-netstat-rn-legacy.txt'));
    expect(validateAlias(spec('127.0.0.2'), { interfaces: [], routes: onLo }, undefined, 'darwin').warnings).to.deep.equal([]);
  });
});
