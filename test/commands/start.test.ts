/**
 * `hnet start` as a user or a supervisor meets it off a TTY: a start that
 * fails says so on stderr in one outcome line, then the error and its next
 * step, and leaves stdout empty. The guest socket's folder is a file, so the
 * start fails for certain and no daemon is left running.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hnet } from './cli.js';

describe('hnet start off a TTY', function () {
  this.timeout(30_000);
  let home: string;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'hnet-start-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('reports a failed start with one outcome line, the error and the next step', async () => {
    writeFileSync(join(home, 'a-file'), '');
    const sock = join(home, 'a-file', 'guest.sock');
    const r = await hnet(['start', '--home', home, '--listen', `qemu://${sock}`, '--log-level', 'error']);
    expect(r.code).to.not.equal(0);
    expect(r.stdout).to.equal('');
    const lines = r.stderr.split('\n');
    expect(lines[0]).to.equal('✗ hnet could not start');
    expect(r.stderr).to.include('HNET_START_FAILED');
    expect(r.stderr).to.include(join(home, 'a-file'));
    expect(r.stderr).to.include('--log-level debug');
  });
});
