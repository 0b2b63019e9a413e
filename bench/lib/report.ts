/**
 * Benchmark results: the row catalogue, medians over runs, the hnet/peer ratio
 * per row, and the three renderings written to bench/results/: JSON (every
 * sample), a Markdown table, and an SVG bar chart of the throughput rows. A
 * ratio is always "how many times better hnet is": value ratio hnet/peer for
 * higher-is-better rows, peer/hnet for lower-is-better rows (latency, CPU,
 * RSS), so >= 1.00x means hnet is at least as good as that peer.
 *
 * The request/response rows are also compared per round (pairedRatios): every
 * peer of a round is measured within seconds of the others, so a slow phase
 * of this noisy machine tends to land on all of them, where the ratio of two
 * medians over rounds depends on which peer's rounds the slow phases hit.
 */
import type { PeerName } from './peers.js';

export interface RowDef {
  id: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
}

const MTUS = [1500, 65520];

function tcpRows(): RowDef[] {
  const rows: RowDef[] = [];
  for (const mtu of MTUS)
    for (const dir of ['g2h', 'h2g'] as const)
      for (const streams of [1, 4])
        rows.push({ id: `tcp-${dir}-${streams}-${mtu}`, label: `TCP ${dir === 'g2h' ? 'guest→host' : 'host→guest'}, ${streams} stream${streams > 1 ? 's' : ''}, MTU ${mtu}`, unit: 'Gbit/s', better: 'higher' });
  return rows;
}

export const ROWS: RowDef[] = [
  ...tcpRows(),
  ...MTUS.map((mtu): RowDef => ({ id: `pf-h2g-${mtu}`, label: `port forward host→guest, 1 stream, MTU ${mtu}`, unit: 'Gbit/s', better: 'higher' })),
  { id: 'lat-p50', label: 'TCP request/response latency p50 (64 B, half the round trip)', unit: 'µs', better: 'lower' },
  { id: 'lat-p99', label: 'TCP request/response latency p99 (64 B, half the round trip)', unit: 'µs', better: 'lower' },
  { id: 'conn-rate', label: 'short TCP connections guest→host', unit: 'conn/s', better: 'higher' },
  { id: 'conn-rate-close', label: 'short TCP connections guest→host, host closes first', unit: 'conn/s', better: 'higher' },
  ...MTUS.flatMap((mtu) =>
    (['g2h', 'h2g'] as const).map((dir): RowDef => ({ id: `cpu-${dir}-${mtu}`, label: `forwarder CPU per GB, ${dir === 'g2h' ? 'guest→host' : 'host→guest'}, MTU ${mtu}`, unit: 'CPU s/GB', better: 'lower' })),
  ),
  { id: 'cpu-rr', label: 'forwarder CPU per request/response (64 B)', unit: 'CPU µs', better: 'lower' },
  { id: 'cpu-conn', label: 'forwarder CPU per short connection', unit: 'CPU µs', better: 'lower' },
  { id: 'cpu-conn-close', label: 'forwarder CPU per short connection, host closes first', unit: 'CPU µs', better: 'lower' },
  { id: 'rss-idle', label: 'forwarder RSS, idle', unit: 'MiB', better: 'lower' },
  { id: 'rss-1000', label: 'forwarder RSS, 1000 open connections', unit: 'MiB', better: 'lower' },
];

/** samples[rowId][peer] = one number per run. */
export type Samples = Record<string, Partial<Record<PeerName, number[]>>>;

export function addSample(s: Samples, row: string, peer: PeerName, v: number): void {
  if (!Number.isFinite(v)) return;
  ((s[row] ??= {})[peer] ??= []).push(v);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
}

/** hnet's advantage over `peer` on a row (see the module comment); NaN if either is missing. */
export function ratio(row: RowDef, hnet: number, peer: number): number {
  if (!Number.isFinite(hnet) || !Number.isFinite(peer) || hnet <= 0 || peer <= 0) return NaN;
  return row.better === 'higher' ? hnet / peer : peer / hnet;
}

export interface Environment {
  date: string;
  commit: string;
  cpu: string;
  cores: number;
  kernel: string;
  node: string;
  versions: Record<string, string>;
}

/** One request/response round: each peer's value per row. */
export type RoundSamples = Record<string, Partial<Record<PeerName, number>>>;

export interface Results {
  env: Environment;
  rounds: number;
  seconds: number;
  peers: PeerName[];
  notes: string[];
  medians: Record<string, Partial<Record<PeerName, number>>>;
  samples: Samples;
  /** The request/response rounds, for the per-round comparison (absent in results from before it). */
  perRound?: RoundSamples[];
}

export interface PairedRatio {
  /** Median over rounds of hnet's advantage in the round (ratio()). */
  ratio: number;
  /** Rounds where hnet was ahead, of the rounds where both were measured. */
  hnetAhead: number;
  rounds: number;
}

/** hnet's advantage over each other peer, per round, then the median over rounds; for every row the rounds carry. */
export function pairedRatios(rounds: readonly RoundSamples[], peers: readonly PeerName[]): Record<string, Partial<Record<PeerName, PairedRatio>>> {
  const out: Record<string, Partial<Record<PeerName, PairedRatio>>> = {};
  for (const row of ROWS) {
    for (const p of peers.filter((x) => x !== 'hnet')) {
      const ratios: number[] = [];
      for (const round of rounds) {
        const q = ratio(row, round[row.id]?.hnet ?? NaN, round[row.id]?.[p] ?? NaN);
        if (Number.isFinite(q)) ratios.push(q);
      }
      if (ratios.length > 0) (out[row.id] ??= {})[p] = { ratio: median(ratios), hnetAhead: ratios.filter((q) => q > 1).length, rounds: ratios.length };
    }
  }
  return out;
}

export function summarize(samples: Samples, peers: PeerName[]): Results['medians'] {
  const out: Results['medians'] = {};
  for (const row of ROWS) {
    out[row.id] = {};
    for (const p of peers) {
      const xs = samples[row.id]?.[p];
      if (xs && xs.length) out[row.id]![p] = median(xs);
    }
  }
  return out;
}

function fmt(v: number | undefined, unit: string): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  if (unit === 'Gbit/s' || unit === 'CPU s/GB') return v.toFixed(2);
  if (unit === 'MiB') return v.toFixed(1);
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

const fmtRatio = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '–');

export function markdownTable(r: Results): string {
  const others = r.peers.filter((p) => p !== 'hnet');
  const head = `| row | unit | ${r.peers.join(' | ')} | ${others.map((p) => `hnet vs ${p}`).join(' | ')} |`;
  const sep = `|${' --- |'.repeat(2 + r.peers.length + others.length)}`;
  const lines = ROWS.filter((row) => r.peers.some((p) => r.medians[row.id]?.[p] !== undefined)).map((row) => {
    const m = r.medians[row.id] ?? {};
    const vals = r.peers.map((p) => fmt(m[p], row.unit));
    const ratios = others.map((p) => fmtRatio(ratio(row, m.hnet ?? NaN, m[p] ?? NaN)));
    return `| ${row.label} | ${row.unit} | ${vals.join(' | ')} | ${ratios.join(' | ')} |`;
  });
  const e = r.env;
  const title = `${e.date} · commit ${e.commit} · ${e.cpu} (${e.cores} cores) · Linux ${e.kernel} · Node ${e.node} · ${r.rounds} interleaved rounds × ${r.seconds} s, medians`;
  const notes = r.notes.map((n) => `- ${n}`);
  return [`_${title}_`, '', head, sep, ...lines, '', 'Ratios: how many times better hnet is (higher is better for throughput and connections, lower for latency, CPU and RSS); ≥ 1.00x means hnet wins.', ...pairedSection(r, others), ...(notes.length ? ['', ...notes] : []), ''].join('\n');
}

/** The request/response rows compared round by round (see the module comment); nothing without per-round results. */
function pairedSection(r: Results, others: readonly PeerName[]): string[] {
  if (!r.perRound?.length) return [];
  const paired = pairedRatios(r.perRound, r.peers);
  const rows = ROWS.filter((row) => paired[row.id] !== undefined);
  if (rows.length === 0) return [];
  const cell = (q: PairedRatio | undefined) => (q ? `${fmtRatio(q.ratio)} (ahead in ${q.hnetAhead} of ${q.rounds})` : '–');
  return [
    '',
    `Round by round: every peer of a request/response round is measured within seconds of the others, so a slow phase of the machine tends to hit them all. Each cell is the median over the ${r.perRound.length} rounds of hnet's ratio in the round, and the rounds in which hnet was ahead:`,
    '',
    `| row | ${others.map((p) => `hnet vs ${p}`).join(' | ')} |`,
    `|${' --- |'.repeat(1 + others.length)}`,
    ...rows.map((row) => `| ${row.label} | ${others.map((p) => cell(paired[row.id]?.[p])).join(' | ')} |`),
  ];
}

const COLORS: Record<PeerName, string> = { hnet: '#d9480f', slirp4netns: '#1c7ed6', pasta: '#2f9e44', veth: '#868e96' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Grouped horizontal bars, one group per throughput row, log-free linear scale. */
export function svgChart(r: Results): string {
  const rows = ROWS.filter((row) => row.unit === 'Gbit/s' && r.peers.some((p) => r.medians[row.id]?.[p] !== undefined));
  const barH = 9;
  const groupH = r.peers.length * barH + 10;
  const left = 290;
  const width = 900;
  const plotW = width - left - 70;
  const top = 40;
  const height = top + rows.length * groupH + 30;
  const max = Math.max(1e-9, ...rows.flatMap((row) => r.peers.map((p) => r.medians[row.id]?.[p] ?? 0)));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="16" font-size="13" font-weight="bold">TCP throughput, Gbit/s (median of ${r.rounds}) — ${esc(r.env.date)}, ${esc(r.env.cpu)}, Linux ${esc(r.env.kernel)}</text>`,
  ];
  r.peers.forEach((p, i) => {
    out.push(`<rect x="${10 + i * 110}" y="24" width="10" height="10" fill="${COLORS[p]}"/><text x="${24 + i * 110}" y="33">${p}</text>`);
  });
  rows.forEach((row, gi) => {
    const y0 = top + gi * groupH;
    out.push(`<text x="${left - 6}" y="${y0 + (r.peers.length * barH) / 2 + 4}" text-anchor="end">${esc(row.label)}</text>`);
    r.peers.forEach((p, i) => {
      const v = r.medians[row.id]?.[p];
      if (v === undefined) return;
      const w = Math.max(1, (v / max) * plotW);
      const y = y0 + i * barH;
      out.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH - 1}" fill="${COLORS[p]}"/>`);
      out.push(`<text x="${(left + w + 4).toFixed(1)}" y="${y + barH - 1}" font-size="9">${v.toFixed(2)}</text>`);
    });
  });
  out.push('</svg>', '');
  return out.join('\n');
}

/** One line of bench/results/history.jsonl: when, what, and hnet's ratios. */
export function historyLine(r: Results, label: string): string {
  const ratios: Record<string, Record<string, number>> = {};
  for (const row of ROWS) {
    const m = r.medians[row.id];
    if (m?.hnet === undefined) continue;
    for (const p of r.peers.filter((x) => x !== 'hnet')) {
      const q = ratio(row, m.hnet, m[p] ?? NaN);
      if (Number.isFinite(q)) (ratios[row.id] ??= {})[p] = Number(q.toFixed(3));
    }
  }
  const hnet = Object.fromEntries(Object.entries(r.medians).flatMap(([k, v]) => (v.hnet === undefined ? [] : [[k, Number(v.hnet.toFixed(3))]])));
  const paired: Record<string, Record<string, number>> = {};
  for (const [id, byPeer] of Object.entries(pairedRatios(r.perRound ?? [], r.peers))) {
    for (const [p, q] of Object.entries(byPeer)) if (q) (paired[id] ??= {})[p] = Number(q.ratio.toFixed(3));
  }
  return JSON.stringify({ date: r.env.date, commit: r.env.commit, label, hnet, ratios, ...(Object.keys(paired).length ? { paired } : {}) }) + '\n';
}
