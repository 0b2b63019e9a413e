/**
 * `hnet ports add|list|remove` and `hnet capture` as a user runs them, with no
 * daemon: forwards are saved to config.json ("saved; applied at next start"),
 * --json stdout holds only JSON, errors carry stable codes and exit codes.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hnet } from './cli.js';


describe('hnet ports with the daemon stopped', function () {
  this.timeout(120_000);
  let home: string;
  before(() => (home = mkdtempSync(join(tmpdir(), 'hnt-ports-cli-'))));
  after(() => rmSync(home, { recursive: true, force: true }));

  it('ports add --json saves the forward and says it applies at next start', async () => {
    const r = await hnet(['ports', 'add', '127.0.0.1:18080-18081:80-81', '--home', home, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const body = JSON.parse(r.stdout) as { status: string; message: string; ports: unknown[] };
    expect(body.status).to.equal('saved');
    expect(body.message).to.contain('applied at next start');
    const saved = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as { ports: unknown[] };
    expect(saved.ports).to.deep.equal([
      { proto: 'tcp', hostIp: '127.0.0.1', hostPort: 18080, guestPort: 80 },
      { proto: 'tcp', hostIp: '127.0.0.1', hostPort: 18081, guestPort: 81 },
    ]);
  });

  it('ports list --json marks saved forwards inactive while the daemon is down', async () => {
    const r = await hnet(['ports', 'list', '--home', home, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const body = JSON.parse(r.stdout) as { daemon: string; ports: Array<{ hostPort: number; saved: boolean; active: boolean }> };
    expect(body.daemon).to.equal('stopped');
    expect(body.ports.map((p) => [p.hostPort, p.saved, p.active])).to.deep.equal([[18080, true, false], [18081, true, false]]);
  });

  it('ports add refuses the same host port to another target with HNET_PORT_IN_USE, exit 1', async () => {
    const r = await hnet(['ports', 'add', '18080:8080', '--home', home, '--json']);
    expect(r.code).to.equal(1);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).to.equal('HNET_PORT_IN_USE');
  });

  it('ports add answers a bad spec with HNET_BAD_SPEC, exit 2, JSON only', async () => {
    const r = await hnet(['ports', 'add', '8080-8090:80', '--home', home, '--json']);
    expect(r.code).to.equal(2);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).to.equal('HNET_BAD_SPEC');
  });

  it('ports remove --json drops the forward from config; again: HNET_NOT_FOUND', async () => {
    const r = await hnet(['ports', 'remove', '18080', '--home', home, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect((JSON.parse(r.stdout) as { ports: Array<{ hostPort: number }> }).ports.map((p) => p.hostPort)).to.deep.equal([18080]);
    const again = await hnet(['ports', 'remove', '18080', '--home', home, '--json']);
    expect(again.code).to.equal(1);
    expect((JSON.parse(again.stdout) as { error: { code: string } }).error.code).to.equal('HNET_NOT_FOUND');
  });

  it('capture --json without a daemon fails with HNET_DAEMON_UNREACHABLE, exit 1', async () => {
    const r = await hnet(['capture', '-w', join(home, 'x.pcap'), '--duration', '1', '--home', home, '--json']);
    expect(r.code).to.equal(1);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).to.equal('HNET_DAEMON_UNREACHABLE');
  });
});
