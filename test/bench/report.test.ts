/**
 * The benchmark's arithmetic and renderings: medians, "how many times better
 * hnet is" per row direction, the round-by-round comparison, the Markdown
 * table, the SVG chart, the history line, and the parsers for iperf3 -J and
 * sockperf output.
 */
import { expect } from 'chai';
import { addSample, historyLine, markdownTable, median, pairedRatios, ratio, ROWS, summarize, svgChart, type Results, type RoundSamples, type Samples } from '../../bench/lib/report.js';
import { parseIperf, parseSockperf } from '../../bench/lib/measure.js';
import { topSelf } from '../../bench/lib/profile.js';

const row = (id: string) => ROWS.find((r) => r.id === id)!;

function results(samples: Samples): Results {
  const peers = ['hnet', 'slirp4netns', 'pasta', 'veth'] as const;
  return {
    env: { date: '2026-01-02 03:04 UTC', commit: 'abc1234', cpu: 'Test CPU', cores: 2, kernel: '6.1.0', node: '20.0.0', versions: {} },
    rounds: 3,
    seconds: 2,
    peers: [...peers],
    notes: ['a note'],
    medians: summarize(samples, [...peers]),
    samples,
  };
}

describe('bench results', () => {
  it('takes the median of odd and even sample counts, NaN of none', () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(Number.isNaN(median([]))).to.equal(true);
  });

  it('expresses ratios as how many times better hnet is, by row direction', () => {
    expect(ratio(row('tcp-g2h-1-1500'), 2, 1)).to.equal(2); // throughput: hnet/peer
    expect(ratio(row('lat-p50'), 20, 40)).to.equal(2); // latency: peer/hnet
    expect(ratio(row('rss-idle'), 100, 50)).to.equal(0.5);
    expect(Number.isNaN(ratio(row('tcp-g2h-1-1500'), 2, NaN))).to.equal(true);
  });

  it('ignores non-finite samples (a forwarder without a pid has no CPU figure)', () => {
    const s: Samples = {};
    addSample(s, 'cpu-g2h-1500', 'veth', NaN);
    addSample(s, 'cpu-g2h-1500', 'hnet', 3);
    expect(s['cpu-g2h-1500']).to.deep.equal({ hnet: [3] });
  });

  it('renders one Markdown row per measured row with values and ratios', () => {
    const s: Samples = {};
    for (const [p, v] of [['hnet', 1], ['hnet', 3], ['hnet', 2], ['slirp4netns', 0.5], ['pasta', 4], ['veth', 10]] as const) addSample(s, 'tcp-g2h-1-1500', p, v);
    const md = markdownTable(results(s));
    const line = md.split('\n').find((l) => l.startsWith('| TCP guest→host, 1 stream, MTU 1500'))!;
    expect(line).to.equal('| TCP guest→host, 1 stream, MTU 1500 | Gbit/s | 2.00 | 0.50 | 4.00 | 10.00 | 4.00x | 0.50x | 0.20x |');
    expect(md).to.contain('commit abc1234').and.contain('Test CPU').and.contain('Linux 6.1.0').and.contain('- a note');
    expect(md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| row') && !l.startsWith('| ---'))).to.have.length(1);
  });

  it('draws one bar per peer and throughput row in the SVG, scaled to the largest', () => {
    const s: Samples = {};
    addSample(s, 'tcp-h2g-4-65520', 'hnet', 5);
    addSample(s, 'tcp-h2g-4-65520', 'veth', 10);
    addSample(s, 'lat-p50', 'hnet', 10); // not a throughput row: no bar
    const svg = svgChart(results(s));
    expect(svg.startsWith('<svg')).to.equal(true);
    const bars = [...svg.matchAll(/<rect x="290" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(bars).to.have.length(2);
    expect(bars[1]! / bars[0]!).to.be.closeTo(2, 0.01);
  });

  it('writes a history line with hnet medians and ratios', () => {
    const s: Samples = {};
    addSample(s, 'lat-p99', 'hnet', 100);
    addSample(s, 'lat-p99', 'slirp4netns', 300);
    const h = JSON.parse(historyLine(results(s), 'step 1')) as { label: string; hnet: Record<string, number>; ratios: Record<string, Record<string, number>> };
    expect(h.label).to.equal('step 1');
    expect(h.hnet['lat-p99']).to.equal(100);
    expect(h.ratios['lat-p99']).to.deep.equal({ slirp4netns: 3 });
  });
});

describe('bench results round by round', () => {
  // p99 (lower is better): hnet 40, 70, 40 µs against slirp4netns 60, 50, 38 in the same rounds.
  // Per round slirp4netns/hnet is 1.5, 0.714, 0.95: median 0.95, hnet ahead once;
  // the ratio of the medians would say 50/40 = 1.25.
  const rounds: RoundSamples[] = [
    { 'lat-p99': { hnet: 40, slirp4netns: 60 }, 'conn-rate': { hnet: 100, slirp4netns: 200 } },
    { 'lat-p99': { hnet: 70, slirp4netns: 50 }, 'conn-rate': { hnet: 200, slirp4netns: 100 } },
    { 'lat-p99': { hnet: 40, slirp4netns: 38, pasta: 20 } },
  ];

  it('takes the median of the per-round ratios, in each row\'s direction, and counts the rounds hnet was ahead', () => {
    const p = pairedRatios(rounds, ['hnet', 'slirp4netns', 'pasta']);
    expect(p['lat-p99']!.slirp4netns!.ratio).to.be.closeTo(0.95, 1e-9);
    expect(p['lat-p99']!.slirp4netns!).to.include({ hnetAhead: 1, rounds: 3 });
    expect(p['conn-rate']!.slirp4netns).to.deep.equal({ ratio: 1.25, hnetAhead: 1, rounds: 2 });
    // pasta was measured in one round only: one ratio, not a gap filled in.
    expect(p['lat-p99']!.pasta).to.deep.equal({ ratio: 0.5, hnetAhead: 0, rounds: 1 });
    expect(p['lat-p50']).to.equal(undefined);
  });

  it('renders the rounds as a second table, and writes their ratios to the history line', () => {
    const s: Samples = {};
    for (const r of rounds) for (const [p, v] of Object.entries(r['lat-p99']!)) addSample(s, 'lat-p99', p as 'hnet', v!);
    const res = { ...results(s), perRound: rounds };
    const md = markdownTable(res);
    expect(md.split('\n').find((l) => l.startsWith('| TCP request/response latency p99') && l.includes('1.25x'))).to.not.equal(undefined);
    const pairedLine = md.split('\n').find((l) => l.startsWith('| TCP request/response latency p99') && l.includes('ahead in'));
    expect(pairedLine).to.equal('| TCP request/response latency p99 (64 B, half the round trip) | 0.95x (ahead in 1 of 3) | 0.50x (ahead in 0 of 1) | – |');
    const h = JSON.parse(historyLine(res, 'x')) as { paired: Record<string, Record<string, number>> };
    expect(h.paired['lat-p99']).to.deep.equal({ slirp4netns: 0.95, pasta: 0.5 });
    expect(markdownTable(results(s))).to.not.contain('ahead in');
  });
});

describe('bench tool output parsers', () => {
  it('reads receiver throughput and bytes from iperf3 -J', () => {
    const json = JSON.stringify({ end: { sum_sent: { bits_per_second: 9e9, bytes: 1 }, sum_received: { bits_per_second: 2.5e9, bytes: 625_000_000 } } });
    expect(parseIperf(json)).to.deep.equal({ gbps: 2.5, bytes: 625_000_000 });
  });

  it('turns an iperf3 error into an exception', () => {
    expect(() => parseIperf(JSON.stringify({ error: 'unable to connect to server' }))).to.throw(/unable to connect/);
  });

  it('reads p50, p99 and p99.9 from sockperf ping-pong output', () => {
    const out = [
      'sockperf: [Total Run] RunTime=4.001 sec; Warm up time=400 msec; SentMessages=50784; ReceivedMessages=50783',
      'sockperf: [Valid Duration] RunTime=3.550 sec; SentMessages=48717; ReceivedMessages=48717',
      'sockperf: ---> percentile 99.900 = 1424.048',
      'sockperf: ---> percentile 99.000 =   38.216',
      'sockperf: ---> percentile 50.000 =    8.901',
    ].join('\n');
    expect(parseSockperf(out), 'round trips of the whole run: the CPU is measured over all of it').to.deep.equal({ p50: 8.901, p99: 38.216, p999: 1424.048, roundTrips: 50783 });
    expect(Number.isNaN(parseSockperf(out.replace(/.*percentile 99\.900.*\n/, '')).p999), 'a run too short for p99.9').to.equal(true);
    expect(() => parseSockperf('sockperf: nothing')).to.throw(/percentile 50.000/);
  });

  it('sums self time per function from a V8 cpuprofile', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'checksum', url: 'file:///tree/dist/lib/wire/checksum.js', lineNumber: 9 } },
        { id: 3, callFrame: { functionName: 'emit', url: 'file:///tree/dist/lib/wire/tcp.js', lineNumber: 0 } },
      ],
      samples: [2, 3, 2, 2],
      timeDeltas: [1000, 1000, 1000, 1000],
    };
    const t = topSelf(profile, '/tree', 2);
    expect(t.totalMs).to.equal(4);
    expect(t.top[0]).to.deep.equal({ fn: 'checksum', where: 'dist/lib/wire/checksum.js:10', selfMs: 3, share: 0.75 });
    expect(t.top[1]!.fn).to.equal('emit');
  });
});
