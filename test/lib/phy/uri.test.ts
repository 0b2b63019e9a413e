/**
 * --listen URIs (DESIGN §4): what parses, and the usage errors for what does not.
 */
import { expect } from 'chai';
import { parseListenUri, createTransport, defaultListenUris } from '../../../src/lib/phy/uri.js';
import { UsageError } from '../../../src/lib/errors.js';

const HOME = '/home/u/.hnet';

function usage(uri: string): UsageError {
  try {
    parseListenUri(uri, HOME);
  } catch (e) {
    expect(e).to.be.instanceOf(UsageError);
    expect((e as UsageError).code).to.equal('HNET_BAD_SPEC');
    expect((e as UsageError).exitCode).to.equal(2);
    return e as UsageError;
  }
  throw new Error(`${uri} was accepted`);
}

describe('listen URIs', () => {
  it('parses every documented form', () => {
    expect(parseListenUri('qemu:///tmp/q.sock', HOME)).to.deep.equal({ kind: 'qemu', uri: 'qemu:///tmp/q.sock', path: '/tmp/q.sock' });
    expect(parseListenUri('qemu:vm1.sock', HOME)).to.include({ kind: 'qemu', path: '/home/u/.hnet/run/vm1.sock' });
    expect(parseListenUri('vfkit:///tmp/v.sock', HOME)).to.include({ kind: 'vfkit', path: '/tmp/v.sock' });
    expect(parseListenUri('vpnkit:///tmp/k.sock', HOME)).to.include({ kind: 'vpnkit', path: '/tmp/k.sock' });
    expect(parseListenUri('qemu+tcp://127.0.0.1:5555', HOME)).to.deep.equal({ kind: 'qemu+tcp', uri: 'qemu+tcp://127.0.0.1:5555', host: '127.0.0.1', port: 5555, allowRemote: false });
    expect(parseListenUri('qemu+tcp://[::1]:5555', HOME)).to.include({ host: '::1', port: 5555 });
    expect(parseListenUri('qemu+tcp://0.0.0.0:5555?allow-remote=1', HOME)).to.include({ host: '0.0.0.0', allowRemote: true });
    expect(parseListenUri('stdio:', HOME)).to.deep.equal({ kind: 'stdio', uri: 'stdio:' });
    expect(parseListenUri('tap:hnet0', HOME)).to.deep.equal({ kind: 'tap', uri: 'tap:hnet0', name: 'hnet0' });
    expect(parseListenUri('tap:hnet0?netns=guest1', HOME)).to.deep.equal({ kind: 'tap', uri: 'tap:hnet0?netns=guest1', name: 'hnet0', netns: 'guest1' });
  });

  it('defaults to the QEMU and vfkit sockets in HOME/run', () => {
    expect(defaultListenUris(HOME).map((u) => parseListenUri(u, HOME))).to.deep.equal([
      { kind: 'qemu', uri: 'qemu:///home/u/.hnet/run/qemu.sock', path: '/home/u/.hnet/run/qemu.sock' },
      { kind: 'vfkit', uri: 'vfkit:///home/u/.hnet/run/vfkit.sock', path: '/home/u/.hnet/run/vfkit.sock' },
    ]);
  });

  it('rejects an unknown transport and lists the known ones', () => {
    const e = usage('udp://1.2.3.4:5');
    expect(e.message).to.contain('unknown transport "udp"');
    expect(e.suggestions.join(' ')).to.contain('qemu+tcp:');
    usage('/tmp/x.sock');
  });

  it('rejects relative and overlong socket paths', () => {
    expect(usage('qemu://tmp/x.sock').message).to.contain('absolute');
    expect(usage('qemu:run/x.sock').message).to.match(/absolute|NAME/);
    expect(usage(`qemu:///tmp/${'a'.repeat(120)}.sock`).message).to.contain('unix sockets allow 107');
  });

  it('rejects a TCP listener off loopback unless allowed, and bad ports', () => {
    expect(usage('qemu+tcp://0.0.0.0:5555').message).to.contain('not a loopback address');
    expect(usage('qemu+tcp://127.0.0.1:70000').message).to.contain('out of range');
    usage('qemu+tcp://127.0.0.1');
    usage('qemu+tcp://127.0.0.1:5555?bogus=1');
  });

  it('rejects bad tap names, namespaces and options', () => {
    expect(usage('tap:').message).to.contain('not a valid interface name');
    usage('tap:this-name-is-too-long');
    usage('tap:a/b');
    usage('tap:hnet0?netns=../etc');
    expect(usage('tap:hnet0?mtu=9000').message).to.contain('unknown option "mtu"');
    usage('stdio:foo');
  });

  it('builds the matching transport', () => {
    expect(createTransport(parseListenUri('qemu:///tmp/q.sock', HOME), { mtu: 1500 }).describe()).to.contain('/tmp/q.sock');
    expect(createTransport(parseListenUri('tap:hnet0?netns=g1', HOME), { mtu: 1500 }).describe()).to.equal('tap hnet0 in netns g1');
    expect(createTransport(parseListenUri('stdio:', HOME), { mtu: 1500 }).uri).to.equal('stdio:');
    expect(createTransport(parseListenUri('vpnkit:///tmp/k.sock', HOME), { mtu: 1500 }).describe()).to.equal('vpnkit on /tmp/k.sock (0 connected)');
    expect(() => createTransport(parseListenUri('stdio:', HOME), { mtu: 70000 })).to.throw(UsageError);
  });
});
