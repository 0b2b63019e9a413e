/**
 * Memory reclaim (reclaim.ts): requests coalesce into one reclaim after a
 * delay, reclaims are spaced by a minimum interval, a full GC really
 * collects, and a slab pool that drops slabs asks for a reclaim.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { MemoryReclaim, fullGc } from '../../src/lib/reclaim.js';
import { mallocTrim } from '../../src/lib/phy/libc.js';
import { SlabPool } from '../../src/lib/socket/tcp/slab-pool.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('memory reclaim after bulk traffic', () => {
  it('runs once for requests made within its delay, and not again before the minimum interval', async () => {
    let ran = 0;
    const reclaim = new MemoryReclaim(() => ran++, 10, 600);
    reclaim.request();
    reclaim.request();
    reclaim.request();
    expect(ran, 'not at once').to.equal(0);
    await sleep(60);
    expect(ran).to.equal(1);
    reclaim.request();
    await sleep(100);
    expect(ran, 'the interval has not passed').to.equal(1);
    await sleep(700);
    expect(ran).to.equal(2);
    expect(reclaim.runs).to.equal(2);
  });

  it('runs a full GC that collects what nothing references', async () => {
    const ref = new WeakRef({ payload: new Array(1000).fill(0) });
    await sleep(0); // a WeakRef keeps its target to the end of the job that made it
    expect(fullGc()).to.equal(true);
    expect(ref.deref()).to.equal(undefined);
  });

  it('trims malloc on Linux with glibc: the pages of chunks freed inside its heap go back', function () {
    if (process.platform !== 'linux') this.skip();
    const rssMiB = () => (Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096) / 1048576;
    // 25 MiB of 64 KiB chunks freed between live ones: holes malloc keeps resident.
    const live = Array.from({ length: 800 }, () => Buffer.allocUnsafeSlow(64 * 1024).fill(1)).filter((_, i) => i % 2 === 1);
    expect(fullGc()).to.equal(true);
    const before = rssMiB();
    expect(mallocTrim()).to.equal(true);
    expect(before - rssMiB(), 'MiB returned').to.be.greaterThan(8);
    expect(live).to.have.length(400);
  });

  it('is asked for by a slab pool that drops slabs, and only then', () => {
    let asked = 0;
    const pool = new SlabPool(100, 2, 0, undefined, () => asked++);
    const slabs = Array.from({ length: 6 }, () => pool.take());
    for (const s of slabs) pool.give(s);
    pool.trim(); // the period that needed them: nothing spare yet
    expect(asked).to.equal(0);
    expect(pool.trim()).to.equal(4);
    expect(asked).to.equal(1);
    expect(pool.trim()).to.equal(0);
    expect(asked).to.equal(1);
  });
});
