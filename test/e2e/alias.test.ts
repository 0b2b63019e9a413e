import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRootOrSkip } from './helpers/require-root.js';
import { loAddresses, runCli } from './harness/cli.js';



/** IPv4 addresses on lo right now, straight from iproute2. */

describe('e2e: hnet alias on the Linux loopback', function () {
  this.timeout(60000);
  // A random address in 10.200.0.0/16 so parallel runs do not collide.
  const ip = `10.200.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  let home: string;

  before(async function () {
    const reasons: string[] = [];
    if (process.platform === 'linux' && process.getuid?.() === 0) {
      const probe = await runCli(['alias', 'list', '--help']);
      if (probe.code !== 0) reasons.push(`\`bin/dev.js alias list --help\` exits ${probe.code}: ${probe.stderr.trim().split('\n')[0]}`);
      if (loAddresses().some((a) => a.startsWith(`${ip}/`))) reasons.push(`${ip} is already on lo`);
    }
    requireRootOrSkip(this, reasons);
    home = mkdtempSync(join(tmpdir(), 'hnt-alias-e2e-'));
  });

  after(() => {
    for (const a of loAddresses()) if (a.startsWith(`${ip}/`)) execFileSync('ip', ['addr', 'del', a, 'dev', 'lo']);
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('--dry-run prints the ip command and changes nothing', async () => {
    const r = await runCli(['alias', 'add', ip, '--dry-run', '--home', home]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`ip addr add ${ip}/32 dev lo`);
    expect(loAddresses()).to.not.include(`${ip}/32`);
  });

  it('adds the alias to lo and to config.json', async () => {
    const r = await runCli(['alias', 'add', ip, '--name', 'e2e', '--home', home]);
    expect(r.code, r.stderr).to.equal(0);
    expect(loAddresses()).to.include(`${ip}/32`);
    expect(JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).aliases).to.deep.equal([{ ip, prefix: 32, name: 'e2e' }]);
  });

  it('adding it again succeeds as already present', async () => {
    const r = await runCli(['alias', 'add', ip, '--home', home, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.include({ ip, status: 'present' });
  });

  it('refuses an address in the guest subnet with exit 1 and a clear message', async () => {
    const r = await runCli(['alias', 'add', '192.168.65.7', '--home', home]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('192.168.65.7 is inside the guest subnet 192.168.65.0/24').and.include('HNET_ALIAS_IN_SUBNET');
    expect(loAddresses()).to.not.include('192.168.65.7/32');
  });

  it('lists configured vs present as JSON, with only JSON on stdout', async () => {
    const r = await runCli(['alias', 'list', '--home', home, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const rows = JSON.parse(r.stdout);
    expect(rows).to.deep.include({ ip, prefix: 32, name: 'e2e', configured: true, present: true });
  });

  it('removes the alias from lo and from config.json', async () => {
    const r = await runCli(['alias', 'remove', ip, '--home', home]);
    expect(r.code, r.stderr).to.equal(0);
    expect(loAddresses()).to.not.include(`${ip}/32`);
    expect(JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).aliases).to.deep.equal([]);
  });

  it('refuses to remove 127.0.0.1, which hnet did not add', async () => {
    const r = await runCli(['alias', 'remove', '127.0.0.1', '--home', home, '--json']);
    expect(r.code).to.equal(2);
    expect(JSON.parse(r.stdout).error.code).to.equal('HNET_BAD_ALIAS');
    expect(loAddresses()).to.include('127.0.0.1/8');
  });
});
