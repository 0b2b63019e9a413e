/**
 * The only execa user in hnet (DESIGN §3): runs a host program and reports
 * what happened. `run` never throws because a program exited non-zero; it
 * returns the exit code and both output streams so callers decide what a
 * failure means. It throws only a HnetError when the program cannot be
 * started at all (not installed: HNET_EXEC_NOT_FOUND).
 *
 * Host modules (addresses, routes, aliases, proxy detection) take a `Runner`
 * argument instead of importing this file's `run` directly, so unit tests
 * pass a fake that replays captured outputs and records the commands issued.
 */
import { execa } from 'execa';
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

export const run: Runner = async (cmd, args, opts = {}) => {
  const result = await execa(cmd, args, {
    reject: false,
    input: opts.input,
    timeout: opts.timeoutMs,
    env: opts.env,
    stripFinalNewline: false,
    encoding: 'utf8',
  });
  const code = (result as { code?: string }).code;
  if (result.failed && code === 'ENOENT') {
    throw new HnetError('HNET_EXEC_NOT_FOUND', `${cmd} is not installed or not on PATH`, [`install ${cmd}, or check PATH`]);
  }
  return {
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    exitCode: typeof result.exitCode === 'number' ? result.exitCode : result.timedOut ? 124 : 1,
  };
};

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
