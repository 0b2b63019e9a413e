/**
 * One daemon per HOME (DESIGN §4, §5): the pid file and the control socket,
 * with the leftovers of a crashed daemon detected and replaced.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { homePaths, type HomePaths } from '../../../src/lib/daemon/home.js';
import { acquirePidLock, pidAlive, processStartMs, socketAnswers } from '../../../src/lib/daemon/pidlock.js';
import { startControlServer } from '../../../src/lib/daemon/control-server.js';
import { ControlClient } from '../../../src/lib/daemon/control-client.js';
import { silentLogger } from '../../../src/lib/daemon/log.js';
import { HnetError } from '../../../src/lib/errors.js';
import type { DaemonApi } from '../../../src/lib/daemon/control-types.js';

/** Just enough of a daemon to answer GET /v1/status. */
const fakeDaemon = (): DaemonApi => ({ status: () => ({ pid: process.pid }) }) as unknown as DaemonApi;

const children: ChildProcess[] = [];

/** Run a node child (TypeScript through tsx) and wait for its first stdout line. */
async function child(script: string): Promise<{ proc: ChildProcess; line: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  let out = '';
  for await (const chunk of proc.stdout!) {
    out += String(chunk);
    if (out.includes('\n')) break;
  }
  return { proc, line: out.trim() };
}

async function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) await once(proc, 'exit');
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const proc = spawn(process.execPath, ['-e', '']);
  await exited(proc);
  expect(pidAlive(proc.pid!)).to.equal(false);
  return proc.pid!;
}

describe('daemon pid lock', () => {
  let paths: HomePaths;
  beforeEach(() => (paths = homePaths(mkdtempSync(join(tmpdir(), 'hnt-pid-')))));
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGKILL');
      await exited(c);
    }
    rmSync(paths.home, { recursive: true, force: true });
  });

  it('creates HOME/run as 0700 and a 0600 pid file naming us, removed on release', async () => {
    const lock = await acquirePidLock(paths);
    expect(statSync(paths.runDir).mode & 0o777).to.equal(0o700);
    expect(statSync(paths.pidFile).mode & 0o777).to.equal(0o600);
    expect(Number(readFileSync(paths.pidFile, 'utf8'))).to.equal(process.pid);
    lock.release();
    expect(existsSync(paths.pidFile)).to.equal(false);
  });

  it('tightens an existing HOME/run to 0700', async () => {
    mkdirSync(paths.runDir, { mode: 0o755 });
    const lock = await acquirePidLock(paths);
    expect(statSync(paths.runDir).mode & 0o777).to.equal(0o700);
    lock.release();
  });

  it('replaces the pid file of a daemon that died', async () => {
    mkdirSync(paths.runDir, { recursive: true });
    const dead = await deadPid();
    writeFileSync(paths.pidFile, `${dead}\n`);
    const lock = await acquirePidLock(paths);
    expect(Number(readFileSync(paths.pidFile, 'utf8'))).to.equal(process.pid);
    lock.release();
  });

  it('replaces a pid file whose pid now belongs to a process started after it was written', async () => {
    const { proc } = await child("console.log('up'); setInterval(() => {}, 1000);");
    mkdirSync(paths.runDir, { recursive: true });
    writeFileSync(paths.pidFile, `${proc.pid}\n`);
    const started = processStartMs(proc.pid!);
    expect(started, 'needs /proc').to.be.a('number');
    const old = new Date(started! - 60_000);
    utimesSync(paths.pidFile, old, old);
    const lock = await acquirePidLock(paths);
    expect(Number(readFileSync(paths.pidFile, 'utf8'))).to.equal(process.pid);
    lock.release();
  });

  it('refuses when the pid file names a live process that wrote it, with HNET_ALREADY_RUNNING and its pid', async () => {
    const { proc } = await child("console.log('up'); setInterval(() => {}, 1000);");
    mkdirSync(paths.runDir, { recursive: true });
    writeFileSync(paths.pidFile, `${proc.pid}\n`);
    const err = await acquirePidLock(paths).then(
      () => expect.fail('acquired'),
      (e: unknown) => e as HnetError,
    );
    expect(err).to.be.instanceOf(HnetError);
    expect(err.code).to.equal('HNET_ALREADY_RUNNING');
    expect(err.message).to.contain(`pid ${proc.pid}`);
    expect(readFileSync(paths.pidFile, 'utf8').trim()).to.equal(String(proc.pid));
  });
});

describe('control server start over leftovers', () => {
  let paths: HomePaths;
  beforeEach(() => (paths = homePaths(mkdtempSync(join(tmpdir(), 'hnt-pid-')))));
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGKILL');
      await exited(c);
    }
    rmSync(paths.home, { recursive: true, force: true });
  });

  it('replaces the socket and pid file of a daemon killed with SIGKILL', async () => {
    const script = `
      import { startControlServer } from './src/lib/daemon/control-server.ts';
      import { homePaths } from './src/lib/daemon/home.ts';
      import { silentLogger } from './src/lib/daemon/log.ts';
      await startControlServer(homePaths(${JSON.stringify(paths.home)}), {}, silentLogger);
      console.log('listening');`;
    const { proc, line } = await child(script);
    expect(line).to.equal('listening');
    expect(await socketAnswers(paths.controlSocket)).to.equal(true);
    proc.kill('SIGKILL');
    await exited(proc);
    // the crash leaves both files behind
    expect(existsSync(paths.controlSocket)).to.equal(true);
    expect(readFileSync(paths.pidFile, 'utf8').trim()).to.equal(String(proc.pid));
    expect(await socketAnswers(paths.controlSocket)).to.equal(false);

    const server = await startControlServer(paths, fakeDaemon(), silentLogger);
    try {
      expect((await new ControlClient(paths).status()).pid).to.equal(process.pid);
      expect(Number(readFileSync(paths.pidFile, 'utf8'))).to.equal(process.pid);
    } finally {
      await server.close();
    }
  });

  it('refuses to start next to a daemon of another process, naming its pid', async () => {
    const script = `
      import { startControlServer } from './src/lib/daemon/control-server.ts';
      import { homePaths } from './src/lib/daemon/home.ts';
      import { silentLogger } from './src/lib/daemon/log.ts';
      await startControlServer(homePaths(${JSON.stringify(paths.home)}), {}, silentLogger);
      console.log('listening');`;
    const { proc } = await child(script);
    const err = await startControlServer(paths, fakeDaemon(), silentLogger).then(
      async (s) => {
        await s.close();
        return expect.fail('started');
      },
      (e: unknown) => e as HnetError,
    );
    expect(err.code).to.equal('HNET_ALREADY_RUNNING');
    expect(err.message).to.contain(`pid ${proc.pid}`);
    // the running daemon keeps its files
    expect(await socketAnswers(paths.controlSocket)).to.equal(true);
    expect(readFileSync(paths.pidFile, 'utf8').trim()).to.equal(String(proc.pid));
  });

  it('refuses when a socket answers although the pid file is gone', async () => {
    const first = await startControlServer(paths, fakeDaemon(), silentLogger);
    try {
      rmSync(paths.pidFile);
      const err = await startControlServer(paths, fakeDaemon(), silentLogger).then(
        () => expect.fail('started'),
        (e: unknown) => e as HnetError,
      );
      expect(err.code).to.equal('HNET_ALREADY_RUNNING');
      expect(existsSync(paths.pidFile)).to.equal(false);
    } finally {
      await first.close();
    }
  });
});
