import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResolvConf, readHostResolvConf } from '../../../../src/lib/services/dns/resolv-conf.js';

// Captured shapes: systemd-resolved's stub file and a macOS /etc/resolv.conf.
const SYSTEMD = `# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).
# Do not edit.
nameserver 127.0.0.53
options edns0 trust-ad
search corp.example.com lab.example.com
`;
const MACOS = `#
# macOS Notice
#
domain corp.example.com
nameserver 10.0.0.2
nameserver fe80::1%en0
nameserver 2001:db8::53
nameserver 10.0.0.3 ; a fourth is ignored by the resolver
nameserver not-an-address
`;

describe('host resolv.conf (resolv.conf(5))', () => {
  it('reads nameservers and the search list of systemd-resolved\'s stub file', () => {
    expect(parseResolvConf(SYSTEMD)).to.deep.equal({ nameservers: [{ host: '127.0.0.53', port: 53 }], search: ['corp.example.com', 'lab.example.com'] });
  });

  it('keeps at most three nameservers, with IPv6 zones, and reads `domain` as the search list', () => {
    const r = parseResolvConf(MACOS);
    expect(r.nameservers.map((n) => n.host)).to.deep.equal(['10.0.0.2', 'fe80::1%en0', '2001:db8::53']);
    expect(r.search).to.deep.equal(['corp.example.com']);
  });

  it('lets the last search or domain line win', () => {
    expect(parseResolvConf('search a.example b.example.\ndomain c.example\n').search).to.deep.equal(['c.example']);
    expect(parseResolvConf('domain c.example\nsearch a.example b.example.\n').search).to.deep.equal(['a.example', 'b.example']);
  });

  it('reads a file, and a missing file as empty', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hnt-resolv-'));
    try {
      writeFileSync(join(dir, 'resolv.conf'), SYSTEMD);
      expect(readHostResolvConf(join(dir, 'resolv.conf')).search).to.deep.equal(['corp.example.com', 'lab.example.com']);
      expect(readHostResolvConf(join(dir, 'missing'))).to.deep.equal({ nameservers: [], search: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
