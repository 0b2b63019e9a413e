import { expect } from 'chai';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAlias, listAliases, reapplyAliases, removeAlias } from '../../../src/lib/host/alias-ops.js';
import { fakeRunner, type FakeReply } from '../../../src/lib/host/exec.js';
import { loadConfig, updateConfig } from '../../../src/lib/daemon/config.js';
import { silentLogger } from '../../../src/lib/daemon/log.js';
import { HnetError, PermissionError } from '../../../src/lib/errors.js';
import { hostFixture } from './fixtures.js';

/** A Linux host as captured in the test netns: lo carries 127.0.0.1, 10.200.10.1 and 10.200.10.2. */
function linuxHost(extra: FakeReply[] = []) {
  return fakeRunner([
    ...extra,
    { match: 'ip -j addr', result: { stdout: hostFixture('linux-netns-ip-addr.json') } },
    { match: 'ip -j route', result: { stdout: hostFixture('linux-netns-ip-route.json') } },
    { match: 'ip -j addr show dev lo', result: { stdout: hostFixture('linux-netns-ip-addr-lo.json') } },
    { match: /^ip addr (add|del) /, result: { exitCode: 0 } },
  ]);
}

async function rejection(p: Promise<unknown>): Promise<HnetError> {
  return p.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e as HnetError,
  );
}

describe('loopback alias operations', () => {
  let dir: string;
  let cfg: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hnt-alias-'));
    cfg = join(dir, 'config.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('adds a new alias: persists it, then runs ip addr add', async () => {
    const r = linuxHost();
    const res = await addAlias(cfg, '10.200.20.1', { runner: r, platform: 'linux', isRoot: true, name: 'db' });
    expect(res).to.include({ status: 'added', ip: '10.200.20.1', prefix: 32, name: 'db', dryRun: false });
    expect(r.calls).to.include('ip addr add 10.200.20.1/32 dev lo');
    expect(loadConfig(cfg).aliases).to.deep.equal([{ ip: '10.200.20.1', prefix: 32, name: 'db' }]);
  });

  it('plans with --dry-run: prints the command, writes and runs nothing', async () => {
    const r = linuxHost();
    const res = await addAlias(cfg, '10.200.20.1/32', { runner: r, platform: 'linux', isRoot: false, dryRun: true });
    expect(res).to.include({ status: 'planned', dryRun: true });
    expect(res.commands).to.deep.equal(['ip addr add 10.200.20.1/32 dev lo']);
    expect(r.calls.some((c) => c.startsWith('ip addr add'))).to.equal(false);
    expect(existsSync(cfg)).to.equal(false);
  });

  it('without root refuses with the exact sudo command and changes nothing', async () => {
    const err = await rejection(addAlias(cfg, '10.200.20.1', { runner: linuxHost(), platform: 'linux', isRoot: false }));
    expect(err).to.be.instanceOf(PermissionError);
    expect(err.suggestions).to.deep.equal(['run: sudo ip addr add 10.200.20.1/32 dev lo']);
    expect(existsSync(cfg)).to.equal(false);
  });

  it('maps an EPERM from ip to PermissionError and rolls the config back', async () => {
    const r = linuxHost([{ match: /^ip addr add/, result: { exitCode: 2, stderr: 'RTNETLINK answers: Operation not permitted\n' } }]);
    const err = await rejection(addAlias(cfg, '10.200.20.1', { runner: r, platform: 'linux', isRoot: true }));
    expect(err).to.be.instanceOf(PermissionError);
    expect(loadConfig(cfg).aliases).to.deep.equal([]);
  });

  it('is idempotent for an address already on lo: records it, runs nothing', async () => {
    const r = linuxHost();
    const res = await addAlias(cfg, '10.200.10.1', { runner: r, platform: 'linux', isRoot: false });
    expect(res.status).to.equal('present');
    expect(res.commands).to.deep.equal([]);
    expect(r.calls.some((c) => c.startsWith('ip addr add'))).to.equal(false);
    expect(loadConfig(cfg).aliases.map((a) => a.ip)).to.deep.equal(['10.200.10.1']);
  });

  it('refuses the guest subnet read from config.json', async () => {
    updateConfig(cfg, (c) => void (c.subnet = '10.200.20.0/24'));
    const err = await rejection(addAlias(cfg, '10.200.20.1', { runner: linuxHost(), platform: 'linux', isRoot: true }));
    expect(err.code).to.equal('HNET_ALIAS_IN_SUBNET');
  });

  it('removes a managed alias from lo and from config', async () => {
    updateConfig(cfg, (c) => void c.aliases.push({ ip: '10.200.10.2', prefix: 24 }));
    const r = linuxHost();
    const res = await removeAlias(cfg, '10.200.10.2', { runner: r, platform: 'linux', isRoot: true });
    expect(res).to.include({ status: 'removed', removedFromConfig: true, removedFromLoopback: true });
    expect(r.calls).to.include('ip addr del 10.200.10.2/24 dev lo');
    expect(loadConfig(cfg).aliases).to.deep.equal([]);
  });

  it('never removes an address it did not add', async () => {
    const err = await rejection(removeAlias(cfg, '10.200.10.1', { runner: linuxHost(), platform: 'linux', isRoot: true }));
    expect(err.code).to.equal('HNET_ALIAS_NOT_OURS');
    expect((await rejection(removeAlias(cfg, '10.9.9.9', { runner: linuxHost(), platform: 'linux', isRoot: true }))).code).to.equal('HNET_ALIAS_NOT_FOUND');
  });

  it('removes with --dry-run: plans only', async () => {
    updateConfig(cfg, (c) => void c.aliases.push({ ip: '10.200.10.1', prefix: 32 }));
    const r = linuxHost();
    const res = await removeAlias(cfg, '10.200.10.1', { runner: r, platform: 'linux', dryRun: true });
    expect(res.commands).to.deep.equal(['ip addr del 10.200.10.1/32 dev lo']);
    expect(r.calls.some((c) => c.startsWith('ip addr del'))).to.equal(false);
    expect(loadConfig(cfg).aliases).to.have.length(1);
  });

  it('lists configured and present side by side', async () => {
    updateConfig(cfg, (c) => void c.aliases.push({ ip: '10.200.10.1', prefix: 32, name: 'a' }, { ip: '10.200.30.1', prefix: 32 }));
    const rows = await listAliases(cfg, { runner: linuxHost(), platform: 'linux' });
    expect(rows).to.deep.equal([
      { ip: '10.200.10.1', prefix: 32, name: 'a', configured: true, present: true },
      { ip: '10.200.30.1', prefix: 32, configured: true, present: false },
      { ip: '10.200.10.2', prefix: 24, configured: false, present: true },
    ]);
  });

  it('reapplies only missing aliases and reports failures without throwing (macOS)', async () => {
    const r = fakeRunner([
      { match: 'ifconfig lo0', result: { stdout: hostFixture('macos-ifconfig-lo0.txt') } },
      { match: 'ifconfig lo0 alias 10.200.30.1 netmask 0xffffffff', result: { exitCode: 0 } },
      { match: /ifconfig lo0 alias 10.200.40.1/, result: { exitCode: 1, stderr: 'ifconfig: ioctl (SIOCAIFADDR): Permission denied' } },
    ]);
    const config = { ...loadConfig(cfg), aliases: [{ ip: '10.200.10.1', prefix: 24 }, { ip: '10.200.30.1', prefix: 32 }, { ip: '10.200.40.1', prefix: 32 }] };
    const res = await reapplyAliases(config, r, silentLogger, { platform: 'darwin' });
    expect(res.map((e) => [e.ip, e.status])).to.deep.equal([
      ['10.200.10.1', 'present'],
      ['10.200.30.1', 'added'],
      ['10.200.40.1', 'failed'],
    ]);
    expect(res[1].command).to.equal('ifconfig lo0 alias 10.200.30.1 netmask 0xffffffff');
  });

  it('reports every alias failed when the loopback cannot be read', async () => {
    const config = { ...loadConfig(cfg), aliases: [{ ip: '10.200.30.1', prefix: 32 }] };
    const res = await reapplyAliases(config, fakeRunner([]), silentLogger, { platform: 'linux' });
    expect(res).to.have.length(1);
    expect(res[0].status).to.equal('failed');
  });
});
