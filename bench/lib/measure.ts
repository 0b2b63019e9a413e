/**
 * One measurement each: iperf3 throughput (guest->host, host->guest, port
 * forward), sockperf TCP ping-pong latency, short-connection rate and a held
 * set of open connections, all between a guest namespace and servers on the
 * host. Parsers for the tools' output are exported for tests. Each function
 * returns raw numbers; the caller aggregates runs into medians.
 */
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sh, nsh, start, cpuSeconds, freePorts, type Started } from './proc.js';

const CONN_TOOL = join(dirname(fileURLToPath(import.meta.url)), '../tools/conn-tool.mjs');

export interface Throughput {
  gbps: number;
  bytes: number;
  /** The forwarder's CPU seconds during the run (NaN without a forwarder). */
  cpuS: number;
}

/** Receiver-side throughput from `iperf3 -J` output. */
export function parseIperf(json: string): { gbps: number; bytes: number } {
  const r = JSON.parse(json) as { error?: string; end?: { sum_received?: { bits_per_second: number; bytes: number } } };
  if (r.error) throw new Error(`iperf3: ${r.error}`);
  const s = r.end?.sum_received;
  if (!s) throw new Error('iperf3: no end.sum_received in output');
  return { gbps: s.bits_per_second / 1e9, bytes: s.bytes };
}

/**
 * p50, p99 and p99.9 in microseconds, and the round trips of the whole run
 * (warm-up included), from `sockperf ping-pong` output. p99.9 is NaN when a
 * run is too short for sockperf to print it; it is where a GC pause of the
 * daemon shows (one round trip per pause: bench/results/steps-2026-12-06.md).
 */
export function parseSockperf(text: string): { p50: number; p99: number; p999: number; roundTrips: number } {
  const pick = (p: string, required = true) => {
    const m = new RegExp(`percentile ${p.replace('.', '\\.')} =\\s*([\\d.]+)`).exec(text);
    if (m) return Number(m[1]);
    if (required) throw new Error(`sockperf: no percentile ${p} in output:\n${text.slice(-400)}`);
    return NaN;
  };
  const total = /\[Total Run\].*ReceivedMessages=(\d+)/.exec(text);
  return { p50: pick('50.000'), p99: pick('99.000'), p999: pick('99.900', false), roundTrips: total ? Number(total[1]) : NaN };
}

export interface HostServers {
  iperfPort: number;
  sockperfPort: number;
  connPort: number;
  /** The echo server that closes first (conn-tool.mjs `server ... close`). */
  closingPort: number;
  stop(): Promise<void>;
}

/** iperf3, sockperf and the two echo servers on the host, bound to `bind`, on free ports. */
export async function startHostServers(bind: string): Promise<HostServers> {
  const started: Started[] = [];
  const [ip3, sp, cp, clp] = (await freePorts(4)) as [number, number, number, number];
  try {
    started.push(await start('iperf3', ['-s', '--forceflush', '-B', bind, '-p', String(ip3)], { ready: /Server listening/ }));
    started.push(await start('sockperf', ['server', '--tcp', '-i', bind, '-p', String(sp)], { ready: /Warmup|sockperf: \[tid/ }));
    started.push(await start(process.execPath, [CONN_TOOL, 'server', bind, String(cp)], { ready: /listening/ }));
    started.push(await start(process.execPath, [CONN_TOOL, 'server', bind, String(clp), 'close'], { ready: /listening/ }));
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    throw err;
  }
  return { iperfPort: ip3, sockperfPort: sp, connPort: cp, closingPort: clp, stop: async () => void (await Promise.all(started.map((s) => s.stop()))) };
}

/** iperf3 from the guest to the host (reverse=true: host sends to guest). */
export async function iperfGuest(ns: string, target: string, port: number, o: { reverse: boolean; streams: number; seconds: number; pid?: number }): Promise<Throughput> {
  const cpu0 = o.pid ? cpuSeconds(o.pid) : NaN;
  const out = await nsh(ns, 'iperf3', ['-c', target, '-p', String(port), '-t', String(o.seconds), '-P', String(o.streams), '-J', ...(o.reverse ? ['-R'] : [])], (o.seconds + 20) * 1000);
  const cpuS = o.pid ? cpuSeconds(o.pid) - cpu0 : NaN;
  return { ...parseIperf(out), cpuS };
}

/** iperf3 from the host through a port forward to a server in the guest (host->guest). */
export async function iperfForward(ns: string, fwd: { host: string; port: number }, guestPort: number, o: { seconds: number; pid?: number }): Promise<Throughput> {
  const srv = await start('ip', ['netns', 'exec', ns, 'iperf3', '-s', '--forceflush', '-p', String(guestPort)], { ready: /Server listening/ });
  try {
    const cpu0 = o.pid ? cpuSeconds(o.pid) : NaN;
    const out = await sh('iperf3', ['-c', fwd.host, '-p', String(fwd.port), '-t', String(o.seconds), '-J'], (o.seconds + 20) * 1000);
    const cpuS = o.pid ? cpuSeconds(o.pid) - cpu0 : NaN;
    return { ...parseIperf(out), cpuS };
  } finally {
    await srv.stop();
  }
}

/**
 * sockperf TCP ping-pong, 64-byte messages, from the guest to the host; with
 * `pid`, the forwarder's CPU microseconds per round trip (what its latency costs).
 * p50 and p99 are sockperf's latency, which is half the round trip (its
 * --full-rtt would double them); the CPU figure is per whole round trip.
 */
export async function latency(ns: string, target: string, port: number, seconds: number, pid?: number): Promise<{ p50: number; p99: number; p999: number; cpuUsPerRoundTrip: number }> {
  const cpu0 = pid ? cpuSeconds(pid) : NaN;
  const out = await nsh(ns, 'sockperf', ['ping-pong', '--tcp', '-i', target, '-p', String(port), '-t', String(seconds), '-m', '64'], (seconds + 20) * 1000);
  const cpuS = pid ? cpuSeconds(pid) - cpu0 : NaN;
  const r = parseSockperf(out);
  return { p50: r.p50, p99: r.p99, p999: r.p999, cpuUsPerRoundTrip: (cpuS * 1e6) / r.roundTrips };
}

/**
 * Short TCP connections per second from the guest to the host's echo server
 * (`hostCloses`: to the one that closes first, whose FIN each connection
 * waits for); with `pid`, the forwarder's CPU microseconds per connection.
 */
export async function connRate(ns: string, target: string, port: number, seconds: number, concurrency = 16, pid?: number, hostCloses = false): Promise<{ rate: number; cpuUsPerConnection: number }> {
  const cpu0 = pid ? cpuSeconds(pid) : NaN;
  const args = [CONN_TOOL, 'rate', target, String(port), String(seconds), String(concurrency), ...(hostCloses ? ['host-closes'] : [])];
  const out = await nsh(ns, process.execPath, args, (seconds + 30) * 1000);
  const cpuS = pid ? cpuSeconds(pid) - cpu0 : NaN;
  const r = JSON.parse(out.trim().split('\n').pop()!) as { connections: number; seconds: number };
  return { rate: r.connections / r.seconds, cpuUsPerConnection: (cpuS * 1e6) / r.connections };
}

/** Open `n` connections from the guest to the host and keep them until release(). */
export async function holdConnections(ns: string, target: string, port: number, n: number): Promise<{ release(): Promise<void> }> {
  const h = await start('ip', ['netns', 'exec', ns, process.execPath, CONN_TOOL, 'hold', target, String(port), String(n)], { ready: new RegExp(`held ${n}\\b`), timeoutMs: 60_000 });
  return { release: () => h.stop() };
}
