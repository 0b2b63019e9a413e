/**
 * Run a Daemon as a foreground process: start it, stop it cleanly on SIGINT
 * or SIGTERM (host sockets closed, taps hnet created removed, pcap flushed),
 * and report a start failure as an HnetError with the next step.
 */
import { Daemon, type DaemonOptions, type DaemonSummary } from './daemon.js';
import { HnetError } from '../errors.js';
import { reapplyAliases } from '../host/alias-ops.js';
import { run as hostRun } from '../host/exec.js';
import { memoryReclaim, reclaimMemory } from '../reclaim.js';
import { IdleReclaim, daemonProbes } from '../idle-reclaim.js';
import { setLoopIdleTimeMetrics } from '../phy/loop-metrics.js';
import { tuneYoungGeneration, YoungGenerationKeeper } from './heap-tuning.js';

export interface StartResult {
  summary: DaemonSummary;
  /** Resolves when the daemon has stopped after a signal. */
  stopped: Promise<void>;
  daemon: Daemon;
}

export async function runDaemon(opts: DaemonOptions): Promise<StartResult> {
  // The stdio guest's end of file stops the daemon like SIGTERM (see Daemon.attach).
  let stopOnEof: () => void = () => undefined;
  const daemon = new Daemon({ ...opts, onStdioClosed: () => stopOnEof() });
  try {
    await daemon.start();
  } catch (err) {
    await daemon.stop().catch(() => undefined);
    if (err instanceof HnetError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EPERM' || e.code === 'EACCES') {
      throw new HnetError('HNET_PERMISSION', `cannot open a guest transport: ${e.message}`, ['tap devices need root (or CAP_NET_ADMIN): run it again with sudo', 'or attach over a socket: --listen qemu:///path.sock']);
    }
    throw new HnetError('HNET_START_FAILED', `hnet could not start: ${e.message}`, ['run with --log-level debug for details']);
  }
  // Aliases vanish at reboot (macOS) or by hand: put configured ones back, or say how.
  if (opts.config.aliases.length > 0) {
    for (const a of await reapplyAliases(opts.config, hostRun, opts.log)) {
      if (a.status === 'added') opts.log.info('loopback alias restored', { ip: a.ip });
      else if (a.status === 'failed') opts.log.warn('loopback alias missing and could not be added', { ip: a.ip, run: a.command ?? '' });
    }
  }
  // Startup (loading and compiling modules, the first connections) leaves
  // freed chunks in malloc's heap: hand them back once, after the caller has
  // said it is ready. A fresh daemon on a tap, 3 s after start: 78.8-78.9
  // MiB of RSS without, 71.4-71.6 with malloc_trim (a full GC alone: none).
  setImmediate(reclaimMemory);
  // One epoll_wait less each time the loop goes to sleep (loop-metrics.ts).
  const metricsOff = setLoopIdleTimeMetrics(false);
  opts.log.debug('event loop idle-time metrics', { off: metricsOff });
  tuneYoungGeneration();
  const stopKeeper = new YoungGenerationKeeper().watch();
  // Whatever the traffic left (short connections, expired TIME-WAIT entries) comes back once the daemon idles (idle-reclaim.ts).
  const rxFrames = daemon.counters.counter('rx.frames');
  const txFrames = daemon.counters.counter('tx.frames');
  const stopIdleReclaim = new IdleReclaim(memoryReclaim, daemonProbes(() => rxFrames.n + txFrames.n), daemon.counters.counter('memory.idle_reclaims')).watch();
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      opts.log.info('stopping', { signal });
      daemon
        .stop()
        .catch((err) => opts.log.error('stop failed', { error: String(err) }))
        .finally(() => {
          stopKeeper();
          stopIdleReclaim();
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve();
        });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    stopOnEof = () => {
      opts.log.info('stdio guest closed its stdin');
      onSignal('SIGTERM');
    };
  });
  return { summary: daemon.summary(), stopped, daemon };
}
