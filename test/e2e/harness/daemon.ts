/**
 * Run the real daemon for e2e tests: `node --import tsx bin/dev.js start ...args`
 * from the repository root, with a fresh temporary --home unless args carry one.
 * spawnDaemon resolves once stderr contains `hnet ready` (the daemon prints it
 * when it serves) and rejects with the collected output if the process exits
 * first. The process is killed (SIGTERM, then SIGKILL) by stop(), by the
 * cleanup registry when one is passed, and on test-process exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onProcessExit, type Cleanup } from './env.js';

/** A live process's resident set size in KiB (/proc/PID/status VmRSS; NaN when it has none, as a kernel thread; throws once the process is gone). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface DaemonProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly home: string;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolve when stderr (or stdout) matches `pattern`; reject if the daemon exits first. */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when it is gone. */
  stop(graceMs?: number): Promise<number | string>;
}

export interface SpawnDaemonOptions {
  cleanup?: Cleanup;
  /** What marks the daemon as serving; default /hnet ready/. */
  ready?: RegExp | string;
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Run it inside a namespace (`ip netns exec NS`). */
  netns?: string;
  /**
   * argv prefix the daemon command is appended to (after netns), e.g.
   * ['unshare', '-m', 'sh', '-c', 'mount --bind ... && exec "$@"', 'sh'];
   * the prefix must exec the command so pid and signals reach the daemon.
   */
  wrap?: string[];
  /** node (and V8) flags for the daemon's process, e.g. ['--no-memory-reducer']. */
  nodeFlags?: string[];
}

export async function spawnDaemon(args: string[], opts: SpawnDaemonOptions = {}): Promise<DaemonProcess> {
  const hasHome = args.some((a) => a === '--home' || a.startsWith('--home='));
  const madeHome = hasHome ? undefined : mkdtempSync(join(tmpdir(), 'hnt-home-'));
  const home = madeHome ?? args[args.indexOf('--home') + 1] ?? args.find((a) => a.startsWith('--home='))!.slice(7);
  const nodeArgs = [...(opts.nodeFlags ?? []), '--import', 'tsx', '--no-warnings', join(REPO_ROOT, 'bin/dev.js'), 'start', ...(madeHome ? ['--home', madeHome] : []), ...args];
  const inner = opts.wrap ? [...opts.wrap, process.execPath, ...nodeArgs] : [process.execPath, ...nodeArgs];
  const [cmd, ...cmdArgs] = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...inner] : inner;
  const proc = spawn(cmd, cmdArgs, { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const watchers = new Set<() => void>();
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of watchers) w();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    for (const w of watchers) w();
  });
  let exitedValue: number | string | undefined;
  const exited = new Promise<number | string>((res) => {
    proc.once('exit', (code, signal) => {
      exitedValue = code ?? signal ?? -1;
      for (const w of watchers) w();
      res(exitedValue);
    });
  });
  const forget = onProcessExit(() => proc.kill('SIGKILL'));

  const waitFor = (pattern: RegExp | string, timeoutMs = 60_000) =>
    new Promise<string>((res, rej) => {
      const test = (text: string) => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
      const timer = setTimeout(() => done(new Error(`daemon did not print ${String(pattern)} within ${timeoutMs} ms\nstderr:\n${err}\nstdout:\n${out}`)), timeoutMs);
      const check = () => {
        if (test(err) || test(out)) done();
        else if (exitedValue !== undefined) done(new Error(`daemon exited (${exitedValue}) before printing ${String(pattern)}\nstderr:\n${err}\nstdout:\n${out}`));
      };
      const done = (e?: Error) => {
        clearTimeout(timer);
        watchers.delete(check);
        if (e) rej(e);
        else res(err + out);
      };
      watchers.add(check);
      check();
    });

  const stop = async (graceMs = 5_000) => {
    if (exitedValue !== undefined && exitedValue !== 0) {
      // It died on its own: show why, or a test failure downstream says only "timed out".
      process.stderr.write(`      daemon pid ${proc.pid} had exited (${exitedValue}); its last stderr:\n${err.split('\n').slice(-40).join('\n')}\n`);
    }
    if (exitedValue === undefined) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    }
    forget();
    if (madeHome) rmSync(madeHome, { recursive: true, force: true });
    return exitedValue!;
  };

  const daemon: DaemonProcess = { proc, pid: proc.pid!, home, stdout: () => out, stderr: () => err, waitFor, exited, stop };
  opts.cleanup?.add(`daemon pid ${proc.pid}`, () => stop());
  try {
    await waitFor(opts.ready ?? /hnet ready/, opts.readyTimeoutMs ?? 60_000);
  } catch (e) {
    await stop(1_000);
    throw e;
  }
  return daemon;
}

let cliProbe: Promise<string | undefined> | undefined;

/**
 * Why `bin/dev.js start` cannot run here (undefined when it can): probes
 * `start --help` once per test process. Use with skipUnless() so a broken
 * CLI entry skips daemon suites with the reason (and fails them under HNET_E2E=1).
 */
export function daemonCliProblem(): Promise<string | undefined> {
  cliProbe ??= new Promise((res) => {
    const p = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(REPO_ROOT, 'bin/dev.js'), 'start', '--help'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout!.on('data', (d) => (text += d));
    p.stderr!.on('data', (d) => (text += d));
    p.once('exit', (code) => res(code === 0 ? undefined : `\`bin/dev.js start --help\` exits ${code}: ${text.trim().split('\n')[0]}`));
  });
  return cliProbe;
}
