/**
 * Facts about the real host and daemon for `hnet diagnose`, each read at most
 * once per run (memoized promises), so checks running in parallel share one
 * `ip -j route`, one GET /v1/status, one proxy detection.
 *
 * Contract:
 * - daemon() never throws: an unreachable daemon is { running: false, error }.
 * - The control client gets a timeout below the per-check timeout, so a hung
 *   daemon reads as unreachable rather than as a timed-out check.
 * - tcpConnect() never throws; it resolves with the socket's result
 *   ("connected", an errno code, or "timeout") within the timeout.
 * - Host reads go through a Runner (exec.ts); nothing here prints.
 */
import { Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import { ControlClient } from '../daemon/control-client.js';
import { loadConfig } from '../daemon/config.js';
import type { HomePaths } from '../daemon/home.js';
import { DEFAULT_SUBNET } from '../iface/config.js';
import { HnetError } from '../errors.js';
import { readInterfaces } from '../host/addresses.js';
import { readRoutes } from '../host/routes.js';
import { readHostResolvers } from '../host/dns-config.js';
import { readLinkKinds, readNcServices } from '../host/vpn-readers.js';
import { readLoopbackAliases } from '../host/alias-ops.js';
import { detectProxy, hostDetectOptions } from '../host/proxy/detect.js';
import { run, type Runner } from '../host/exec.js';
import type { DaemonState, DiagnoseOptions, Facts, GuestNetwork, TcpProbe } from './types.js';

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<TcpProbe> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (r: TcpProbe) => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, result: 'timeout' }), timeoutMs);
    s.once('connect', () => done({ ok: true, result: 'connected' }));
    s.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, result: e.code ?? e.message }));
    s.connect({ host, port });
  });
}

/**
 * Connect, then wait `graceMs` for the daemon to reset the connection (a
 * forward resets host clients when the guest refuses, nat/forward.ts).
 */
export function forwardProbe(host: string, port: number, timeoutMs: number, graceMs: number): Promise<TcpProbe> {
  return new Promise((resolve) => {
    const s = new Socket();
    let connected = false;
    let timer: NodeJS.Timeout | undefined;
    const done = (r: TcpProbe) => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    timer = setTimeout(() => done({ ok: false, result: 'timeout' }), timeoutMs);
    s.once('connect', () => {
      connected = true;
      clearTimeout(timer);
      timer = setTimeout(() => done({ ok: true, result: 'answered' }), graceMs);
    });
    s.once('data', () => done({ ok: true, result: 'answered' }));
    s.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, result: connected || e.code === 'ECONNRESET' ? 'reset' : (e.code ?? e.message) }));
    s.once('end', () => done({ ok: false, result: 'reset' }));
    s.connect({ host, port });
  });
}

export interface HostFactsOptions {
  runner?: Runner;
  platform?: NodeJS.Platform;
}

export function hostFacts(paths: HomePaths, options: DiagnoseOptions, o: HostFactsOptions = {}): Facts {
  const runner = o.runner ?? run;
  const platform = o.platform ?? process.platform;
  const client = new ControlClient(paths, { timeoutMs: Math.max(500, Math.floor(options.timeoutMs * 0.6)) });
  const probeMs = Math.max(500, Math.floor(options.timeoutMs * 0.8));
  const daemon = once(async (): Promise<DaemonState> => {
    try {
      return { running: true, status: await client.statusReport() };
    } catch (err) {
      const e = err instanceof HnetError ? err : new HnetError('HNET_DAEMON_UNREACHABLE', String(err), [`hnet start --home ${paths.home}`]);
      return { running: false, error: e };
    }
  });
  const config = once(async () => loadConfig(paths.config));
  const guestNetwork = once(async (): Promise<GuestNetwork> => {
    const d = await daemon();
    if (d.running) return { subnet: d.status.subnet, mtu: d.status.mtu, source: 'daemon' };
    try {
      const c = await config();
      if (c.subnet) return { subnet: c.subnet, mtu: 1500, source: 'config' };
    } catch {
      /* a broken config is reported by its own check */
    }
    return { subnet: DEFAULT_SUBNET, mtu: 1500, source: 'default' };
  });
  return {
    platform,
    paths,
    options,
    daemon,
    daemonProxy: once(() => client.getProxy()),
    config,
    guestNetwork,
    routes: once(() => readRoutes(runner, platform)),
    interfaces: once(() => readInterfaces(runner, platform)),
    linkKinds: once(() => readLinkKinds(runner, platform)),
    resolvers: once(() => readHostResolvers(runner, platform)),
    ncServices: once(() => readNcServices(runner, platform)),
    loopbackAliases: once(() => readLoopbackAliases(runner, platform)),
    hostProxy: once(async () => (await detectProxy({ ...hostDetectOptions(), runner, platform })).effective),
    daemonResolve: async (name) => {
      const r = await client.probeDns(name, 'A');
      if (r.rcode !== 'NOERROR') throw new Error(r.rcode);
      return r.answers;
    },
    daemonConnect: (host, port) => client.probeConnect(host, port),
    hostLookup: async (name) => (await lookup(name, { all: true, family: 4 })).map((a) => a.address),
    tcpConnect: (host, port) => tcpProbe(host, port, probeMs),
    forwardProbe: (host, port) => forwardProbe(host, port, probeMs, Math.min(1500, Math.floor(probeMs / 2))),
  };
}
