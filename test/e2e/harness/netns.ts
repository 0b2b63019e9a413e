/**
 * Network namespaces for e2e tests (DESIGN §7).
 *
 * createNetns(prefix): a fresh namespace with a unique name (`hnt…-<hex>`),
 * loopback up, `exec()`/`spawn()` inside it through `ip netns exec`, and an
 * idempotent `destroy()` that kills what runs inside and deletes it.
 *
 * createCorpNetwork(): the "VPN-only corporate network": a second namespace
 * reached from the host's own namespace through a veth pair, by default on
 * 198.18.42.0/24 (RFC 2544 benchmark range, never routed on the Internet):
 * host side .1, corp side .2. Before returning it asserts with `ip route get`
 * that the host reaches the corp address through OUR veth, and aborts (after
 * removing what it made) otherwise: an unrouted address would otherwise leave
 * the machine through the default route.
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';
import { onProcessExit, uniqueSuffix, type Cleanup } from './env.js';

const execFileP = promisify(execFile);

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Run a command in the host namespace; rejects with its stderr on failure. */
export async function run(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 << 20 });
    return { stdout, stderr };
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`, { cause: err });
  }
}

export interface Netns {
  readonly name: string;
  /** Run a command inside the namespace and wait for it. */
  exec(cmd: string, args?: string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Start a long-running command inside the namespace; killed by destroy(). */
  spawn(cmd: string, args?: string[], opts?: SpawnOptions): ChildProcess;
  destroy(): Promise<void>;
}

/** Create a namespace named `${prefix}-<6 hex>`; registers destroy() with `cleanup` if given. */
export async function createNetns(prefix = 'hnt', cleanup?: Cleanup): Promise<Netns> {
  if (!prefix.startsWith('hnt')) prefix = `hnt${prefix}`;
  const name = `${prefix}-${uniqueSuffix()}`;
  await run('ip', ['netns', 'add', name]);
  const children = new Set<ChildProcess>();
  let destroyed = false;
  const forget = onProcessExit(() => {
    for (const c of children) c.kill('SIGKILL');
    spawn('ip', ['netns', 'del', name], { stdio: 'ignore', detached: true });
  });
  const ns: Netns = {
    name,
    exec: (cmd, args = [], opts) => run('ip', ['netns', 'exec', name, cmd, ...args], opts),
    spawn(cmd, args = [], opts = {}) {
      const child = spawn('ip', ['netns', 'exec', name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const c of children) c.kill('SIGKILL');
      // Processes started inside by other means (e.g. a daemon's `hnet run`).
      try {
        const { stdout } = await run('ip', ['netns', 'pids', name]);
        for (const pid of stdout.split(/\s+/).filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      } catch {
        // namespace already gone
      }
      await run('ip', ['netns', 'del', name]);
      forget();
    },
  };
  try {
    await ns.exec('ip', ['link', 'set', 'lo', 'up']);
  } catch (err) {
    await ns.destroy();
    throw err;
  }
  cleanup?.add(`netns ${name}`, () => ns.destroy());
  return ns;
}

/** Throw unless the host namespace routes `ip` out through device `dev`. */
export async function assertRoutedVia(ip: string, dev: string, ns?: Netns): Promise<void> {
  const { stdout } = ns ? await ns.exec('ip', ['route', 'get', ip]) : await run('ip', ['route', 'get', ip]);
  const m = /\bdev (\S+)/.exec(stdout);
  if (!m || m[1] !== dev) {
    throw new Error(`SAFETY: route to ${ip} goes via ${m?.[1] ?? 'nothing'} (${stdout.trim()}), not our ${dev}; refusing to send traffic`);
  }
}

export interface CorpNetwork {
  ns: Netns;
  /** Host-side address on the veth (the host's source address toward corp). */
  hostIp: string;
  /** The corp namespace's address. */
  corpIp: string;
  /** Prefix length of the veth subnet. */
  prefix: number;
  /** Host-side veth device name. */
  hostDev: string;
  destroy(): Promise<void>;
}

/** Is any route in the host namespace already covering `a.b.c.0/24`? */
async function subnetBusy(base: string): Promise<boolean> {
  const { stdout } = await run('ip', ['-4', 'route', 'show', 'table', 'all']);
  return stdout.split('\n').some((l) => l.startsWith(`${base}.`));
}

/**
 * Create the corp namespace and veth. `subnet` is the first three octets; when
 * not given, 198.18.42 is used, or the next free 198.18.x if a parallel test holds it.
 */
export async function createCorpNetwork(opts: { subnet?: string; cleanup?: Cleanup } = {}): Promise<CorpNetwork> {
  let base = opts.subnet;
  if (!base) {
    for (let third = 42; third < 250 && !base; third++) {
      if (!(await subnetBusy(`198.18.${third}`))) base = `198.18.${third}`;
    }
    if (!base) throw new Error('no free 198.18.x.0/24 for the corp network');
  }
  const hostIp = `${base}.1`;
  const corpIp = `${base}.2`;
  const ns = await createNetns('hntcorp');
  const sfx = uniqueSuffix();
  const hostDev = `hntc${sfx}`;
  const peerDev = `hntp${sfx}`;
  const destroy = async () => {
    try {
      await run('ip', ['link', 'del', hostDev]);
    } catch {
      // gone with the namespace already
    }
    await ns.destroy();
  };
  try {
    await run('ip', ['link', 'add', hostDev, 'type', 'veth', 'peer', 'name', peerDev]);
    await run('ip', ['link', 'set', peerDev, 'netns', ns.name]);
    await run('ip', ['addr', 'add', `${hostIp}/24`, 'dev', hostDev]);
    await run('ip', ['link', 'set', hostDev, 'up']);
    await ns.exec('ip', ['addr', 'add', `${corpIp}/24`, 'dev', peerDev]);
    await ns.exec('ip', ['link', 'set', peerDev, 'up']);
    await assertRoutedVia(corpIp, hostDev);
  } catch (err) {
    await destroy().catch(() => undefined);
    throw err;
  }
  opts.cleanup?.add(`corp network ${ns.name}`, destroy);
  return { ns, hostIp, corpIp, prefix: 24, hostDev, destroy };
}
