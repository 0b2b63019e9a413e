/**
 * Young-generation tuning (heap-tuning.ts). The growth factor and the keeper
 * are checked on a real isolate, each case in a child node; the keeper's
 * rules on a fake young-generation size.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { YoungGenerationKeeper } from '../../../src/lib/daemon/heap-tuning.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** The young generation's size (MiB) after 2 million small objects, 50 000 of them alive at a time. */
async function youngGenerationMiB(tuned: boolean): Promise<number> {
  const script = `
    import v8 from 'node:v8';
    import { tuneYoungGeneration } from './src/lib/daemon/heap-tuning.ts';
    if (${tuned}) tuneYoungGeneration();
    let keep = [];
    for (let i = 0; i < 2e6; i++) { keep.push({ i }); if (keep.length > 50000) keep = []; }
    console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
  `;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd() });
  return Number(stdout.trim()) / 1048576;
}

/**
 * A daemon-like isolate after a quiet spell: grown at start, a scavenge, idle
 * 5.5 s, then one more scavenge (V8 shrinks the young generation there: the
 * allocation rate since the last one was low), then 60 event-loop turns that each allocate 20 000 objects and
 * keep none. Returns the young generation's size (MiB) before and after the
 * turns, the scavenges they took and the ballasts the keeper laid.
 */
async function afterQuietSpell(keeper: boolean): Promise<{ shrunk: number; end: number; scavenges: number; laid: number }> {
  const script = `
    import v8 from 'node:v8';
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    import { tuneYoungGeneration, YoungGenerationKeeper } from './src/lib/daemon/heap-tuning.ts';
    const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / ${MiB};
    tuneYoungGeneration();
    let sink;
    const burn = (n) => { for (let i = 0; i < n; i++) sink = { i }; };
    burn(2e6);
    globalThis.gc({ type: 'minor' });
    await new Promise((r) => setTimeout(r, 5500));
    globalThis.gc({ type: 'minor' });
    const shrunk = young();
    let scavenges = 0;
    new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++; }).observe({ entryTypes: ['gc'] });
    const k = new YoungGenerationKeeper();
    if (${keeper}) k.watch();
    let turns = 0;
    await new Promise((r) => { const turn = () => { burn(20000); if (++turns < 60) setImmediate(turn); else r(); }; turn(); });
    console.log(JSON.stringify({ shrunk, end: young(), scavenges, laid: k.laid }));
  `;
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd() });
  return JSON.parse(stdout.trim()) as { shrunk: number; end: number; scavenges: number; laid: number };
}

describe('young generation growth', () => {
  it('grows further for the same survivors with the daemon growth factor', async function () {
    this.timeout(30_000);
    const [plain, tuned] = await Promise.all([youngGenerationMiB(false), youngGenerationMiB(true)]);
    expect(tuned, `tuned ${tuned} MiB against ${plain}`).to.be.greaterThan(plain);
  });

  it('grows back after a quiet spell with the keeper, and stays small without it', async function () {
    this.timeout(60_000);
    const [plain, kept] = await Promise.all([afterQuietSpell(false), afterQuietSpell(true)]);
    const seen = `without ${JSON.stringify(plain)}, with ${JSON.stringify(kept)}`;
    expect(plain.shrunk, seen).to.be.at.most(4);
    expect(kept.shrunk, seen).to.be.at.most(4);
    expect(plain.end, seen).to.be.at.most(4);
    expect(kept.end, seen).to.be.at.least(16);
    expect(kept.laid, seen).to.equal(1);
    expect(kept.scavenges, seen).to.be.lessThan(plain.scavenges);
  });
});

describe('YoungGenerationKeeper', () => {
  /** A keeper on a young generation of `size()` bytes; the ballast is real (a few MiB). */
  function keeperAt(size: () => number): YoungGenerationKeeper {
    // The keeper's clock reads the start of the scavenge being reported, as if the ballast took no time.
    let now = 0;
    const k = new YoungGenerationKeeper(size, () => now);
    const report = k.onScavenge.bind(k);
    k.onScavenge = (at: number) => {
      now = at;
      report(at);
    };
    return k;
  }

  it('lays a ballast only when scavenges come close together on a shrunk young generation', () => {
    const k = keeperAt(() => 1 * MiB);
    k.onScavenge(0);
    k.onScavenge(300); // 300 ms apart: not busy
    expect(k.laid).to.equal(0);
    k.onScavenge(400);
    expect(k.laid).to.equal(1);
  });

  it('leaves a grown young generation alone', () => {
    const k = keeperAt(() => 32 * MiB);
    for (let t = 0; t < 1000; t += 10) k.onScavenge(t);
    expect(k.laid).to.equal(0);
  });

  it('holds the ballast through two scavenges, then may lay another', () => {
    let size = 1 * MiB;
    const k = keeperAt(() => size);
    k.onScavenge(0);
    k.onScavenge(10);
    expect(k.laid).to.equal(1);
    k.onScavenge(20);
    k.onScavenge(30); // the second scavenge held: released, and it grew
    size = 32 * MiB;
    k.onScavenge(40);
    expect(k.laid).to.equal(1);
    size = 1 * MiB; // shrunk again after a later quiet spell
    k.onScavenge(100_000);
    k.onScavenge(100_010);
    expect(k.laid).to.equal(2);
  });

  it('counts only scavenges that started after the ballast was complete', () => {
    let size = 1 * MiB;
    const k = keeperAt(() => size);
    k.onScavenge(0);
    k.onScavenge(10); // laid
    k.onScavenge(10); // set off by the ballast's own allocation: not counted
    k.onScavenge(10);
    k.onScavenge(20);
    size = 32 * MiB; // grown at the second scavenge after it
    k.onScavenge(30);
    size = 1 * MiB; // had it been released at 20, this would lay another
    k.onScavenge(40);
    expect(k.laid).to.equal(2);
    k.onScavenge(50);
    expect(k.laid).to.equal(2);
  });

  it('backs off after ballasts that did not grow the young generation: 250 ms, then doubling', () => {
    const k = keeperAt(() => 1 * MiB);
    /** Busy scavenges every 10 ms from `from` to `to`. */
    const busy = (from: number, to: number) => {
      for (let t = from; t < to; t += 10) k.onScavenge(t);
    };
    busy(0, 40); // laid at 10, released at 30, still shrunk: next no sooner than 280
    expect(k.laid).to.equal(1);
    busy(40, 280);
    expect(k.laid).to.equal(1);
    busy(280, 310); // laid at 280, released at 300: next no sooner than 800
    expect(k.laid).to.equal(2);
    busy(310, 800);
    expect(k.laid).to.equal(2);
    busy(800, 810);
    expect(k.laid).to.equal(3);
  });

  it('starts the back-off over after a quiet spell', () => {
    const k = keeperAt(() => 1 * MiB);
    for (let t = 0; t < 40_000; t += 10) k.onScavenge(t); // misses: the last ballast at about 31.75 s, the next not before 61.75 s
    const before = k.laid;
    k.onScavenge(41_000); // after a quiet second
    k.onScavenge(41_010);
    expect(k.laid).to.equal(before + 1);
    k.onScavenge(41_020);
    k.onScavenge(41_030); // released, missed: the next waits 250 ms again
    k.onScavenge(41_270);
    expect(k.laid).to.equal(before + 1);
    k.onScavenge(41_290);
    expect(k.laid).to.equal(before + 2);
  });

  it('caps the back-off at 30 s', () => {
    const k = keeperAt(() => 1 * MiB);
    for (let t = 0; t < 200_000; t += 10) k.onScavenge(t);
    // Waits of 0.25, 0.5, ... 16 s, then 30 s each: ballasts at about 0, 0.25, 0.75, 1.75, 3.75, 7.75,
    // 15.75, 31.75, 61.75, 91.75, 121.75, 151.75, 181.75 s.
    expect(k.laid).to.equal(13);
  });
});
