// Host resolvers for diagnose: scutil --dns (macOS) and resolv.conf (Linux).
import { expect } from 'chai';
import { parseResolvectlDns, parseScutilDns, readHostResolvers, resolversFromResolvConf } from '../../../src/lib/host/dns-config.js';
import { fakeRunner } from '../../../src/lib/host/exec.js';
import { diagFixture } from '../diagnose/fixtures.js';

describe('host DNS configuration (host/dns-config.ts)', () => {
  it('reads scutil --dns resolvers with their interface, skipping the scoped section', () => {
    const r = parseScutilDns(diagFixture('macos-scutil-dns.txt'));
    expect(r).to.have.length(4);
    expect(r[0]).to.deep.equal({ nameservers: ['10.20.0.53', '10.20.0.54'], search: ['corp.example.com'], interface: 'utun2' });
    expect(r[1]).to.deep.equal({ nameservers: ['192.168.1.1'], search: [], interface: 'en0' });
    expect(r[2]).to.deep.equal({ nameservers: [], search: [], domain: 'local' });
    expect(r[3]).to.deep.include({ domain: 'corp.example.com', interface: 'utun2' });
  });

  it('reads resolv.conf as one resolver without interface', () => {
    expect(resolversFromResolvConf(diagFixture('linux-resolv-conf-vpn.txt'))).to.deep.equal([{ nameservers: ['10.77.1.53', '172.31.5.1'], search: ['corp.example.com'] }]);
    expect(resolversFromResolvConf('')).to.deep.equal([]);
  });

  it('reads per-link servers from resolvectl dns (systemd-resolved)', () => {
    expect(parseResolvectlDns(diagFixture('linux-resolvectl-dns.txt'))).to.deep.equal([
      { nameservers: ['192.168.1.1'], search: [], interface: 'enp0s31f6' },
      { nameservers: ['10.8.0.1', '10.8.0.2'], search: [], interface: 'tun0' },
    ]);
  });

  it('adds resolvectl links to resolv.conf on Linux when systemd-resolved answers', async () => {
    const r = fakeRunner([{ match: 'resolvectl dns', result: { stdout: diagFixture('linux-resolvectl-dns.txt') } }]);
    const got = await readHostResolvers(r, 'linux', '/nonexistent/resolv.conf');
    expect(got.map((x) => x.interface)).to.deep.equal(['enp0s31f6', 'tun0']);
  });

  it('reads scutil on macOS and a missing resolv.conf as empty on Linux', async () => {
    const r = fakeRunner([{ match: 'scutil --dns', result: { stdout: diagFixture('macos-scutil-dns.txt') } }]);
    expect(await readHostResolvers(r, 'darwin')).to.have.length(4);
    expect(await readHostResolvers(fakeRunner([]), 'linux', '/nonexistent/resolv.conf')).to.deep.equal([]);
  });
});
