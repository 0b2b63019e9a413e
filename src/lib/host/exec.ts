/**
 * The one place hnet runs host programs (DESIGN §3): runs one and reports
 * what happened. `run` never throws because a program exited non-zero; it
 * returns the exit code and both output streams so callers decide what a
 * failure means. It throws only a HnetError when the program cannot be
 * started at all (not installed: HNET_EXEC_NOT_FOUND).
 *
 * Built on node:child_process, not execa: hnet needs only a command's exit
 * code, its output and an optional stdin and timeout, and `hnet start` runs
 * one at every start (the route read that picks the guest subnet), so
 * execa stayed loaded in the daemon for good. Measured on Node 20: importing
 * execa 9 and running one program took 117-130 ms and left the process 16.3
 * MiB larger, against 3.0 MiB for child_process.
 *
 * Host modules (addresses, routes, aliases, proxy detection) take a `Runner`
 * argument instead of importing this file's `run` directly, so unit tests
 * pass a fake that replays captured outputs and records the commands issued.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { HnetError } from '../errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  /** Text written to the program's stdin. */
  input?: string;
  /** Kill the program after this many milliseconds (exitCode is then non-zero). */
  timeoutMs?: number;
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string>;
}

/** Anything that runs a command the way `run` does. */
export type Runner = (cmd: string, args: string[], opts?: RunOptions) => Promise<RunResult>;

/** Render a command line for people (and for "run: sudo ..." suggestions). */
export function formatCommand(cmd: string, args: string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return [cmd, ...args].map(quote).join(' ');
}

/**
 * Exit codes as a shell reports them: a program killed after `timeoutMs`
 * (as timeout(1) does), one that exists but cannot be run (EACCES, ...), and
 * one a signal killed (128 + its number).
 */
export const TIMED_OUT_EXIT_CODE = 124;
export const CANNOT_EXECUTE_EXIT_CODE = 126;
/** After a timeout's SIGTERM, how long a program has before SIGKILL. */
export const FORCE_KILL_AFTER_MS = 2000;

/** A finished child's status as a shell reports it: its exit code, or 128 + the number of the signal that killed it. */
export function shellExitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}

export const run: Runner = (cmd, args, opts = {}) =>
  new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      // Without input the program reads end-of-file, as from /dev/null: an open pipe would hang a reader.
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    let forceKill: NodeJS.Timeout | null = null;
    const timer =
      opts.timeoutMs === undefined
        ? null
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            // One that ignores SIGTERM gets SIGKILL.
            forceKill = setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS);
          }, opts.timeoutMs);
    child.once('exit', () => {
      // A program killed for its timeout may have left a child holding its
      // output open (sh -c '...; sleep 60'): stop waiting for that output.
      if (timedOut) {
        child.stdout!.destroy();
        child.stderr!.destroy();
      }
    });
    let failed: NodeJS.ErrnoException | null = null;
    child.once('error', (e: NodeJS.ErrnoException) => {
      failed = e;
    });
    if (opts.input !== undefined) {
      // A program may exit without reading its input: that EPIPE is its business, not ours.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(opts.input);
    }
    // 'close' comes after 'error' or 'exit' and after both output streams ended, so nothing is cut off.
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (timer) clearTimeout(timer);
      if (forceKill) clearTimeout(forceKill);
      const e = failed as NodeJS.ErrnoException | null;
      if (e?.code === 'ENOENT') {
        reject(new HnetError('HNET_EXEC_NOT_FOUND', `${cmd} is not installed or not on PATH`, [`install ${cmd}, or check PATH`]));
        return;
      }
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        // A program that could not be started (EACCES, ...) says why where its own complaint would be.
        stderr: e ? `${stderr}${e.message}\n` : stderr,
        exitCode: timedOut ? TIMED_OUT_EXIT_CODE : e ? CANNOT_EXECUTE_EXIT_CODE : shellExitStatus(code, signal),
      });
    });
  });

/** One scripted answer for `fakeRunner`. */
export interface FakeReply {
  /** Matches when the command line (formatCommand) equals or matches this. */
  match: string | RegExp;
  result: Partial<RunResult>;
}

/**
 * A Runner for unit tests: answers from `replies` (first match wins), records
 * every call in `calls`, and answers unmatched commands with exit code 127.
 */
export function fakeRunner(replies: FakeReply[]): Runner & { calls: string[] } {
  const calls: string[] = [];
  const fn = (async (cmd: string, args: string[]) => {
    const line = formatCommand(cmd, args);
    calls.push(line);
    const hit = replies.find((r) => (typeof r.match === 'string' ? r.match === line : r.match.test(line)));
    if (!hit) return { stdout: '', stderr: `fake: no reply for ${line}`, exitCode: 127 };
    return { stdout: hit.result.stdout ?? '', stderr: hit.result.stderr ?? '', exitCode: hit.result.exitCode ?? 0 };
  }) as Runner & { calls: string[] };
  fn.calls = calls;
  return fn;
}
