// The diagnose runner and report: parallel, ordered, timeouts, thrown errors, schema and exit code.
import { expect } from 'chai';
import { runChecks } from '../../../src/lib/diagnose/runner.js';
import { buildReport, exitCodeOf, renderReport, REPORT_SCHEMA } from '../../../src/lib/diagnose/report.js';
import { ALL_CHECKS, diagnose, selectChecks } from '../../../src/lib/diagnose/checks/index.js';
import { HnetError } from '../../../src/lib/errors.js';
import { homePaths } from '../../../src/lib/daemon/home.js';
import type { Check, Outcome } from '../../../src/lib/diagnose/types.js';
import { fakeFacts, vpnHost } from './fake-facts.js';

const check = (id: string, run: () => Promise<Outcome>): Check => ({ id, title: id, group: 'daemon', run });

describe('diagnose runner', () => {
  it('returns results in check order, whatever order they finish in', async () => {
    let releaseFirst!: () => void;
    const first = new Promise<void>((r) => (releaseFirst = r));
    const finished: string[] = [];
    const checks = [
      check('a', async () => (await first, finished.push('a'), { status: 'pass', detail: 'a' })),
      check('b', async () => (finished.push('b'), releaseFirst(), { status: 'pass', detail: 'b' })),
    ];
    const r = await runChecks(checks, fakeFacts(), { timeoutMs: 5000 });
    expect(finished).to.deep.equal(['b', 'a']);
    expect(r.map((x) => x.id)).to.deep.equal(['a', 'b']);
  });

  it('turns a thrown HnetError into fail with its suggestions, and a hung check into fail after the timeout', async () => {
    const checks = [check('throws', () => Promise.reject(new HnetError('HNET_HOST_READ', 'ip -j route failed', ['install iproute2']))), check('hangs', () => new Promise(() => {})), check('fine', async () => ({ status: 'pass', detail: 'ok' }))];
    const r = await runChecks(checks, fakeFacts(), { timeoutMs: 50 });
    expect(r[0]).to.deep.include({ status: 'fail', next: ['install iproute2'] });
    expect(r[0]!.detail).to.contain('HNET_HOST_READ');
    expect(r[1]!.status).to.equal('fail');
    expect(r[1]!.detail).to.match(/did not finish within/);
    expect(r[2]!.status).to.equal('pass');
  });

  it('gives every non-pass result a next step', async () => {
    const r = await runChecks([check('w', async () => ({ status: 'warn', detail: 'hm' }))], fakeFacts(), { timeoutMs: 1000 });
    expect(r[0]!.next.length).to.be.greaterThan(0);
  });
});

describe('diagnose report (hnet.diagnose/v1)', () => {
  it('has the documented shape; ok and exit code follow failures only', async () => {
    const report = await diagnose(homePaths('/tmp/h'), { vpn: true, timeoutMs: 2000 }, { facts: fakeFacts(vpnHost()) });
    expect(report.schema).to.equal(REPORT_SCHEMA);
    expect(Object.keys(report)).to.deep.equal(['schema', 'ok', 'home', 'options', 'summary', 'checks']);
    expect(report.checks.map((c) => c.id)).to.deep.equal(ALL_CHECKS.map((c) => c.id));
    for (const c of report.checks) expect(c).to.have.all.keys(c.data ? ['id', 'title', 'group', 'status', 'detail', 'next', 'data', 'durationMs'] : ['id', 'title', 'group', 'status', 'detail', 'next', 'durationMs']);
    expect(report.checks.find((c) => c.id === 'vpn.overlap')!.status).to.equal('fail');
    expect(report.ok).to.equal(false);
    expect(exitCodeOf(report)).to.equal(1);
    const skipsOnly = buildReport('/tmp/h', { vpn: false, timeoutMs: 1 }, [{ id: 'x', title: 'x', group: 'dns', status: 'skip', detail: '', next: ['n'], durationMs: 0 }]);
    expect(exitCodeOf(skipsOnly)).to.equal(0);
  });

  it('without a daemon still reports the host-side checks (and fails on the daemon)', async () => {
    const report = await diagnose(homePaths('/tmp/h'), { vpn: true, timeoutMs: 2000 }, { facts: fakeFacts({ ...vpnHost(), running: false }) });
    expect(report.checks[0]).to.deep.include({ id: 'daemon.running', status: 'fail' });
    expect(report.checks.find((c) => c.id === 'vpn.overlap')!.status).to.equal('fail');
    expect(report.checks.find((c) => c.id === 'vpn.interfaces')!.status).to.equal('pass');
  });

  it('leaves the VPN checks out without --vpn', () => {
    expect(selectChecks({ vpn: false }).some((c) => c.group === 'vpn')).to.equal(false);
  });

  it('renders a table with symbols and next steps for warnings and failures', async () => {
    const report = await diagnose(homePaths('/tmp/h'), { vpn: true, timeoutMs: 2000 }, { facts: fakeFacts({ ...vpnHost(), running: false }) });
    const text = renderReport(report);
    expect(text).to.contain('✗');
    expect(text).to.contain('Next steps');
    expect(text).to.contain('hnet start --home /tmp/h');
    expect(text).to.match(/\d+ passed, \d+ warnings, \d+ failed, \d+ skipped/);
  });
});
