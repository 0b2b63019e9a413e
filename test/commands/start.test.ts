/**
 * `hnet start` as a user or a supervisor meets it off a TTY: a start that
 * fails says so on stderr in one outcome line, then the error and its next
 * step, and leaves stdout empty. The guest socket's folder is a file, so the
 * start fails for certain and no daemon is left running. The same on a
 * pseudo-terminal of 0 columns (util-linux `script`, as some CI runners give),
 * where the spinner once looped for ever.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
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

  it('ends a failed start on a pseudo-terminal that reports no width, with the same outcome line', function () {
    if (spawnSync('script', ['--version']).error) this.skip(); // util-linux script(1) not installed
    writeFileSync(join(home, 'a-file'), '');
    // timeout(1) inside, so a start that never ends is killed (137: its loop never lets a SIGTERM handler run).
    const cmd = `timeout -s KILL 15 ${process.execPath} bin/dev.js start --home ${home} --listen qemu://${join(home, 'a-file', 'guest.sock')} --log-level error`;
    // script(1) runs the command on a new pty; with no terminal above it, that pty is 0x0.
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: process.cwd(), encoding: 'utf8', timeout: 30_000, maxBuffer: 256 * 1024 * 1024 });
    expect(r.status, 'the start ended by itself').to.not.be.oneOf([null, 0, 137]);
    expect(r.stdout.length, 'bytes written to the terminal').to.be.below(4096);
    const text = stripVTControlCharacters(r.stdout); // colours and cursor moves: a TTY
    expect(text).to.include('✗ hnet could not start');
    expect(text).to.include('HNET_START_FAILED');
  });
});
