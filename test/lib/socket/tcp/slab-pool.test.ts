/**
 * SlabPool (slab-pool.ts): slabs come back for reuse up to maxFree; once
 * traffic stops, trim() drops the slabs that sat unused a whole period, down
 * to keepFree, and keeps the ones the period needed.
 */
import { expect } from 'chai';
import { SLAB_SIZE, SlabPool } from '../../../../src/lib/socket/tcp/slab-pool.js';

function takeAndGive(pool: SlabPool, n: number): Buffer[] {
  const slabs = Array.from({ length: n }, () => pool.take());
  for (const s of slabs) pool.give(s);
  return slabs;
}

describe('SlabPool', () => {
  it('reuses given slabs and keeps at most maxFree', () => {
    const pool = new SlabPool(4, 2, 0);
    const slabs = takeAndGive(pool, 6);
    expect(pool.idle).to.equal(4);
    const again = pool.take();
    expect(slabs).to.include(again);
    expect(pool.reused).to.equal(1);
    pool.give(Buffer.alloc(SLAB_SIZE).subarray(1)); // not a whole slab: refused
    expect(pool.idle).to.equal(3);
  });

  it('trims to keepFree only the slabs unused for a whole period, coldest first', () => {
    const pool = new SlabPool(100, 4, 0);
    const slabs = takeAndGive(pool, 20); // the burst: 20 free, given in order
    expect(pool.trim()).to.equal(0); // a take() missed the free list this period: nothing was spare
    // The next period needs 6 at most at once: 14 of the 20 sat unused.
    takeAndGive(pool, 6);
    expect(pool.trim()).to.equal(14);
    expect(pool.idle).to.equal(6);
    // The warmest stay: the six the period used (the top of the stack), not the bottom fourteen.
    const kept = Array.from({ length: 6 }, () => pool.take());
    expect(kept.every((s) => slabs.slice(14).includes(s))).to.equal(true);
    for (const s of kept) pool.give(s);
    expect(pool.trim()).to.equal(0); // all six were taken this period
    // Idle periods shrink it to keepFree and no further.
    expect(pool.trim()).to.equal(2);
    expect(pool.trim()).to.equal(0);
    expect(pool.idle).to.equal(4);
  });

  it('trims itself on a timer once traffic stops, and stops the timer at keepFree', async () => {
    const pool = new SlabPool(100, 3, 5);
    takeAndGive(pool, 30);
    expect(pool.idle).to.equal(30);
    const until = Date.now() + 5000;
    while (pool.idle > 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(pool.idle).to.equal(3);
    // The timer is gone: trim() finds nothing more to do and nothing re-arms it while at keepFree.
    expect(pool.trim()).to.equal(0);
  });
});
