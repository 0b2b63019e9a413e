/**
 * Paired A/B rounds of two hnet builds: each round measures both, back to
 * back, in an order that flips every round, so a slow phase of this noisy
 * machine lands on both sides of a pair. The summary per metric is the
 * median over rounds of B's value over A's, and in how many rounds B was
 * the better one. On 2026-12-06 the same build against itself gave medians
 * of 0.96-1.07 (bench/results/steps-2026-12-06.md): a median within about
 * 7% of 1.00 is not a measured effect; B better in nearly every round is.
 */
import { median } from './report.js';

export interface PairedMetric {
  id: string;
  label: string;
  better: 'higher' | 'lower';
}

export const PAIRED_METRICS: PairedMetric[] = [
  { id: 'rate', label: 'short connections / s', better: 'higher' },
  { id: 'cpuConn', label: 'CPU µs per connection', better: 'lower' },
  { id: 'p50', label: 'latency p50 µs (half the round trip)', better: 'lower' },
  { id: 'p99', label: 'latency p99 µs (half the round trip)', better: 'lower' },
  { id: 'p999', label: 'latency p99.9 µs (half the round trip)', better: 'lower' },
  { id: 'cpuRt', label: 'CPU µs per round trip', better: 'lower' },
];

export type RoundValues = Record<string, number>;

export interface PairedRow {
  metric: PairedMetric;
  /** Median over rounds of B / A (NaN without a round where both are finite and A is not 0). */
  ratio: number;
  /** Rounds where B was better, of the rounds compared. */
  bBetter: number;
  rounds: number;
}

export function pairedSummary(rounds: ReadonlyArray<{ a: RoundValues; b: RoundValues }>, metrics: readonly PairedMetric[] = PAIRED_METRICS): PairedRow[] {
  return metrics.map((metric) => {
    const ratios: number[] = [];
    let bBetter = 0;
    for (const { a, b } of rounds) {
      const x = a[metric.id];
      const y = b[metric.id];
      if (!Number.isFinite(x) || !Number.isFinite(y) || x === 0) continue;
      ratios.push(y / x);
      if (metric.better === 'higher' ? y > x : y < x) bBetter++;
    }
    return { metric, ratio: median(ratios), bBetter, rounds: ratios.length };
  });
}

export function pairedTable(rows: readonly PairedRow[]): string {
  const lines = ['| metric | B / A, median | B better in |', '| --- | --- | --- |'];
  for (const r of rows) lines.push(`| ${r.metric.label} (${r.metric.better} is better) | ${Number.isFinite(r.ratio) ? r.ratio.toFixed(3) : '–'} | ${r.bBetter} of ${r.rounds} rounds |`);
  return lines.join('\n') + '\n';
}
