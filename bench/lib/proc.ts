/**
 * Process plumbing for the benchmark: run a command to completion (host or
 * inside a namespace), start a long-running one and wait for a readiness line,
 * and read a process's CPU time and RSS from /proc. Every child started here is
 * tracked and killed by killAll() (also on process exit), so an aborted bench
 * leaves no daemons behind.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Run `cmd args` and return stdout; rejects with stderr on a non-zero exit. */
export async function sh(cmd: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`, { cause: err });
  }
}

/** Run inside network namespace `ns`. */
export function nsh(ns: string, cmd: string, args: string[], timeoutMs?: number): Promise<string> {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface Started {
  readonly proc: ChildProcess;
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Start a long-running process; resolve once its stdout/stderr matches
 * `ready` (or at once when `ready` is undefined), reject if it exits first.
 */
export async function start(cmd: string, args: string[], opts: { ready?: RegExp; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Started> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
  live.add(proc);
  let out = '';
  let exited = false;
  const exitP = new Promise<void>((res) =>
    proc.once('exit', () => {
      exited = true;
      live.delete(proc);
      res();
    }),
  );
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${cmd} ${args.join(' ')} not ready in ${opts.timeoutMs ?? 30_000} ms:\n${out}`)), opts.timeoutMs ?? 30_000);
    const check = () => {
      if (!opts.ready || opts.ready.test(out)) {
        clearTimeout(timer);
        res();
      }
    };
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.length > 1 << 20) out = out.slice(-(1 << 19));
      check();
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      rej(new Error(`${cmd} exited (${code ?? sig}) before ready:\n${out}`));
    });
    proc.once('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    check();
  });
  return {
    proc,
    pid: proc.pid!,
    output: () => out,
    async stop() {
      if (exited) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exitP;
      clearTimeout(t);
    },
  };
}

/**
 * Throw unless this is Linux, run as root, with every one of `tools` on the
 * PATH: the error names `what` (the npm script) and bench/install.sh.
 */
export async function requireBenchHost(what: string, needs: string, tools: readonly string[]): Promise<void> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) throw new Error(`${what} needs Linux and root (${needs}); run bench/install.sh first`);
  for (const tool of tools) {
    await sh('sh', ['-c', `command -v ${tool}`]).catch(() => {
      throw new Error(`${tool} is missing: run bench/install.sh`);
    });
  }
}

export function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
}

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64/arm64

/** User + system CPU seconds of `pid` so far (from /proc/PID/stat), or NaN if gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Resident set size of `pid` in MiB (VmRSS), or NaN if gone. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `n` distinct TCP ports free on 127.0.0.1 right now: all listen before any is released, so none repeats (the kernel picks them). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((res, rej) => {
      const srv = createServer();
      srv.once('error', rej);
      srv.listen(0, '127.0.0.1', () => res(srv));
    })),
  );
  const ports = servers.map((srv) => (srv.address() as { port: number }).port);
  await Promise.all(servers.map((srv) => new Promise((res) => srv.close(res))));
  return ports;
}
