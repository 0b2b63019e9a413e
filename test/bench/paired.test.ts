/** The paired A/B summary: medians of B/A per metric and the rounds B won, each metric in its own direction. */
import { expect } from 'chai';
import { pairedSummary, pairedTable, PAIRED_METRICS } from '../../bench/lib/paired.js';

const byId = (rows: ReturnType<typeof pairedSummary>, id: string) => rows.find((r) => r.metric.id === id)!;

describe('paired A/B summary', () => {
  it('takes the median of the per-round B/A ratios, not the ratio of medians', () => {
    // Per-round ratios 0.5, 2, 1.1: median 1.1. Medians of the sides (20 and 20) would say 1.00.
    const rows = pairedSummary([
      { a: { rate: 40 }, b: { rate: 20 } },
      { a: { rate: 10 }, b: { rate: 20 } },
      { a: { rate: 20 }, b: { rate: 22 } },
    ]);
    expect(byId(rows, 'rate').ratio).to.be.closeTo(1.1, 1e-9);
    expect(byId(rows, 'rate').rounds).to.equal(3);
  });

  it('counts the rounds B won in each metric\'s own direction', () => {
    const rows = pairedSummary([
      { a: { rate: 100, p99: 50 }, b: { rate: 110, p99: 60 } },
      { a: { rate: 100, p99: 50 }, b: { rate: 90, p99: 40 } },
      { a: { rate: 100, p99: 50 }, b: { rate: 120, p99: 45 } },
    ]);
    expect(byId(rows, 'rate').bBetter, 'higher is better').to.equal(2);
    expect(byId(rows, 'p99').bBetter, 'lower is better').to.equal(2);
  });

  it('skips rounds where a side is missing, not finite or zero, and says NaN when none is left', () => {
    const rows = pairedSummary([
      { a: { p50: 30 }, b: { p50: NaN } },
      { a: { p50: 0 }, b: { p50: 30 } },
      { a: { p50: 30 }, b: { p50: 27 } },
    ]);
    expect(byId(rows, 'p50').rounds).to.equal(1);
    expect(byId(rows, 'p50').ratio).to.be.closeTo(0.9, 1e-9);
    expect(Number.isNaN(byId(rows, 'cpuRt').ratio)).to.equal(true);
    expect(byId(rows, 'cpuRt').rounds).to.equal(0);
  });

  it('renders one row per metric with the direction, the ratio and the wins', () => {
    const table = pairedTable(pairedSummary([{ a: { rate: 100, cpuConn: 200 }, b: { rate: 103, cpuConn: 187 } }]));
    expect(table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| metric') && !l.startsWith('| ---'))).to.have.length(PAIRED_METRICS.length);
    expect(table).to.include('| short connections / s (higher is better) | 1.030 | 1 of 1 rounds |');
    expect(table).to.include('| CPU µs per connection (lower is better) | 0.935 | 1 of 1 rounds |');
    expect(table).to.include('| latency p99 µs (half the round trip) (lower is better) | – | 0 of 0 rounds |');
  });
});
