/**
 * `hnet run` (DESIGN §4, Linux): run one command in a fresh network
 * namespace networked by an in-process hnet daemon, then remove everything.
 *
 * Steps: create netns `hnet-run-<id>`; start a Daemon (private temporary
 * HOME, so it never collides with a running `hnet start`) listening on
 * `tap:hnr<id>?netns=<ns>`; inside the namespace bring up lo and the tap,
 * address the guest .2, set the MTU and a default route via the gateway;
 * write /etc/netns/<ns>/resolv.conf naming the gateway as nameserver, which
 * `ip netns exec` bind-mounts over /etc/resolv.conf in a private mount
 * namespace (ip-netns(8)), so the host's file is never touched; run CMD there
 * with inherited stdio. The result is CMD's exit status (128 + signal number
 * when a signal killed it). SIGINT/SIGTERM received meanwhile are passed to
 * CMD. Teardown runs on every path: daemon stopped (its tap removed),
 * namespace deleted, /etc/netns/<ns> and the temporary HOME removed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HnetError } from '../errors.js';
import { buildStackConfig } from '../iface/config.js';
import { ipv4ToString } from '../wire/addr.js';
import { run as hostRun, formatCommand, shellExitStatus, type Runner } from '../host/exec.js';
import { defaultConfig } from './config.js';
import { Daemon } from './daemon.js';
import { homePaths } from './home.js';
import type { Logger } from './log.js';

export interface NetnsRunOptions {
  cmd: string;
  args: string[];
  mtu?: number;
  subnet?: string;
  /** Limit guest flows to these CIDRs (tests). */
  allowEgress?: string[];
  dnsUpstreams?: Array<{ host: string; port: number }>;
  log: Logger;
  runner?: Runner;
}

export interface NetnsRunResult {
  exitCode: number;
  netns: string;
  tap: string;
}

async function must(runner: Runner, cmd: string, args: string[]): Promise<void> {
  const r = await runner(cmd, args);
  if (r.exitCode !== 0) {
    throw new HnetError('HNET_RUN_SETUP', `${formatCommand(cmd, args)} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`, ['hnet run needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2', 'run it again with sudo']);
  }
}

/** Spawn CMD inside the namespace; resolve with its exit status. */
function runChild(netns: string, cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, cmd, ...args], { stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const done = () => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
    };
    child.once('error', (err) => {
      done();
      reject(new HnetError('HNET_EXEC_NOT_FOUND', `cannot start ip netns exec: ${err.message}`, ['install iproute2']));
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(shellExitStatus(code, signal));
    });
  });
}

export async function runInNetns(opts: NetnsRunOptions): Promise<NetnsRunResult> {
  if (process.platform !== 'linux') throw new HnetError('HNET_UNSUPPORTED', 'hnet run needs Linux network namespaces', ['on macOS, attach a VM with hnet start instead']);
  const runner = opts.runner ?? hostRun;
  const id = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`.slice(-8);
  const netns = `hnet-run-${id}`;
  const tap = `hnr${id}`;
  const cfg = buildStackConfig({ subnet: opts.subnet, mtu: opts.mtu, allowEgress: opts.allowEgress });
  const home = mkdtempSync(join(tmpdir(), 'hnet-run-'));
  const etcDir = join('/etc/netns', netns);
  let daemon: Daemon | null = null;
  let nsMade = false;
  try {
    await must(runner, 'ip', ['netns', 'add', netns]);
    nsMade = true;
    daemon = new Daemon({ cfg, config: defaultConfig(), listen: [`tap:${tap}?netns=${netns}`], paths: homePaths(home), log: opts.log, dnsUpstreams: opts.dnsUpstreams });
    await daemon.start();
    const guest = ipv4ToString((cfg.subnet.network + 2) >>> 0);
    const gw = ipv4ToString(cfg.gateway);
    const inNs = (args: string[]) => must(runner, 'ip', ['-n', netns, ...args]);
    await inNs(['link', 'set', 'lo', 'up']);
    await inNs(['link', 'set', tap, 'mtu', String(cfg.mtu)]);
    await inNs(['addr', 'add', `${guest}/${cfg.subnet.prefix}`, 'dev', tap]);
    await inNs(['link', 'set', tap, 'up']);
    await inNs(['route', 'add', 'default', 'via', gw, 'dev', tap]);
    mkdirSync(etcDir, { recursive: true });
    writeFileSync(join(etcDir, 'resolv.conf'), `# written by hnet run for ${netns}\nnameserver ${gw}\n`);
    const exitCode = await runChild(netns, opts.cmd, opts.args);
    return { exitCode, netns, tap };
  } finally {
    await daemon?.stop().catch((err) => opts.log.warn('stopping the run daemon failed', { error: String(err) }));
    if (nsMade) await runner('ip', ['netns', 'del', netns]).catch(() => undefined);
    rmSync(etcDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}
