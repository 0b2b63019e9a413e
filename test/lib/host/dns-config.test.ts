// Host resolvers for diagnose: scutil --dns (macOS) and resolv.conf (Linux).
import { expect } from 'chai';
import { parseScutilDns, readHostResolvers, resolversFromResolvConf } from '../../../src/lib/host/dns-config.js';
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

  it('reads scutil on macOS and a missing resolv.conf as empty on Linux', async () => {
    const r = fakeRunner([{ match: 'scutil --dns', result: { stdout: diagFixture('macos-scutil-dns.txt') } }]);
    expect(await readHostResolvers(r, 'darwin')).to.have.length(4);
    expect(await readHostResolvers(r, 'linux', '/nonexistent/resolv.conf')).to.deep.equal([]);
  });
});
