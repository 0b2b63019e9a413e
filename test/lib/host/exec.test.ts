import { expect } from 'chai';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CANNOT_EXECUTE_EXIT_CODE, FORCE_KILL_AFTER_MS, TIMED_OUT_EXIT_CODE, fakeRunner, formatCommand, run } from '../../../src/lib/host/exec.js';
import { HnetError } from '../../../src/lib/errors.js';

describe('host exec wrapper', () => {
  it('returns a non-zero exit code with both streams instead of throwing', async () => {
    expect(await run('sh', ['-c', 'echo out; echo err >&2; exit 3'])).to.deep.equal({ stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
  });

  it('feeds input to stdin', async () => {
    expect((await run('cat', [], { input: 'frame' })).stdout).to.equal('frame');
  });

  it('gives a program without input end-of-file, not an open pipe it would wait on', async () => {
    expect(await run('cat', [])).to.deep.equal({ stdout: '', stderr: '', exitCode: 0 });
  });

  it('keeps serving when a program exits without reading its input', async () => {
    expect((await run('true', [], { input: 'x'.repeat(1 << 20) })).exitCode).to.equal(0);
  });

  it('kills a program that outlives timeoutMs and reports 124, as timeout(1) does', async () => {
    const t0 = Date.now();
    const r = await run('sleep', ['10'], { timeoutMs: 100 });
    expect(r.exitCode).to.equal(TIMED_OUT_EXIT_CODE);
    expect(Date.now() - t0, 'killed, not waited for').to.be.below(5000);
  });

  it('kills a program that ignores SIGTERM after its timeout, and does not wait on output its children hold open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hnet-exec-'));
    const pidFile = join(dir, 'sleep.pid');
    try {
      const t0 = Date.now();
      // The shell ignores SIGTERM; its background sleep keeps the output pipe open after the shell is gone.
      const r = await run('sh', ['-c', `trap "" TERM; sleep 30 & echo $! > ${pidFile}; wait`], { timeoutMs: 100 });
      expect(r.exitCode).to.equal(TIMED_OUT_EXIT_CODE);
      expect(Date.now() - t0, 'SIGKILL after FORCE_KILL_AFTER_MS, not the 30 s sleep').to.be.below(FORCE_KILL_AFTER_MS + 5000);
    } finally {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a program killed by a signal as 128 + its number', async () => {
    expect((await run('sh', ['-c', 'kill -9 $$'])).exitCode).to.equal(128 + 9);
  });

  it('merges env over the inherited environment', async () => {
    const r = await run('sh', ['-c', 'echo "$HNET_EXEC_TEST-${PATH:+path}"'], { env: { HNET_EXEC_TEST: 'set' } });
    expect(r.stdout).to.equal('set-path\n');
  });

  it('reports a program that exists but cannot be run as 126, with the reason on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hnet-exec-'));
    try {
      const file = join(dir, 'not-executable');
      writeFileSync(file, '#!/bin/sh\necho ran\n');
      chmodSync(file, 0o644);
      const r = await run(file, []);
      expect(r.exitCode).to.equal(CANNOT_EXECUTE_EXIT_CODE);
      expect(r.stderr).to.match(/EACCES/);
      expect(r.stdout).to.equal('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('throws HNET_EXEC_NOT_FOUND only when the program does not exist', async () => {
    const err = await run('hnt-no-such-program', []).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HnetError).with.property('code', 'HNET_EXEC_NOT_FOUND');
  });

  it('quotes arguments for people only where the shell needs it', () => {
    expect(formatCommand('ip', ['addr', 'add', '10.0.0.1/32', 'dev', 'lo'])).to.equal('ip addr add 10.0.0.1/32 dev lo');
    expect(formatCommand('sh', ['-c', "echo it's"])).to.equal(`sh -c 'echo it'\\''s'`);
  });

  it('fake runner answers by exact line or pattern, records calls, and answers 127 otherwise', async () => {
    const r = fakeRunner([{ match: /^ip -j/, result: { stdout: '[]' } }]);
    expect((await r('ip', ['-j', 'route'])).stdout).to.equal('[]');
    expect((await r('netstat', ['-rn'])).exitCode).to.equal(127);
    expect(r.calls).to.deep.equal(['ip -j route', 'netstat -rn']);
  });
});
