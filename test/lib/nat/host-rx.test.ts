/**
 * HostRxSlabs (host-rx.ts): host reads copied into recycled slabs; a view is
 * never overwritten before release() passes its end; the current slab goes
 * back only after end() once everything is acknowledged; dispose() frees all.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { HostRxSlabs } from '../../../src/lib/nat/host-rx.js';
import { SLAB_SIZE, SlabPool } from '../../../src/lib/socket/tcp/slab-pool.js';

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 7 + i) & 0xff;
  return b;
}

describe('host reads in recycled slabs (HostRxSlabs)', () => {
  it('splits a read across two slabs into two views, never one that straddles', () => {
    const rx = new HostRxSlabs(new SlabPool(4));
    const views: Buffer[] = [];
    rx.copyIn(bytes(SLAB_SIZE - 10, 1), SLAB_SIZE - 10, (v) => views.push(v));
    rx.copyIn(bytes(30, 2), 30, (v) => views.push(v));
    expect(views.map((v) => v.length)).to.deep.equal([SLAB_SIZE - 10, 10, 20]);
    expect(views[1].buffer).to.not.equal(views[2].buffer);
    expect(Buffer.concat(views.slice(1)).equals(bytes(30, 2))).to.equal(true);
  });

  it('returns the current slab only after end() and once all of it is acknowledged', () => {
    const pool = new SlabPool(4);
    const rx = new HostRxSlabs(pool);
    rx.copyIn(bytes(100, 1), 100, () => undefined);
    rx.release(100);
    expect(pool.idle, 'still being filled').to.equal(0);
    rx.end();
    rx.release(99);
    expect(pool.idle).to.equal(0);
    rx.release(100);
    expect(pool.idle).to.equal(1);
    rx.copyIn(bytes(5, 1), 5, () => expect.fail('no copies after end()'));
  });

  it('dispose() hands every slab back', () => {
    const pool = new SlabPool(8);
    const rx = new HostRxSlabs(pool);
    rx.copyIn(bytes(SLAB_SIZE * 2 + 5, 3), SLAB_SIZE * 2 + 5, () => undefined);
    rx.dispose();
    expect(pool.idle).to.equal(3);
  });

  it('keeps every unreleased view intact under random reads and acknowledgements', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ n: fc.integer({ min: 1, max: 65536 }), ackShare: fc.double({ min: 0, max: 1, noNaN: true }) }), { minLength: 1, maxLength: 30 }), (steps) => {
        const rx = new HostRxSlabs(new SlabPool(2));
        const live: Array<{ start: number; view: Buffer; copy: Buffer }> = [];
        let total = 0;
        let acked = 0;
        steps.forEach((s, i) => {
          const data = bytes(s.n, i);
          rx.copyIn(data, s.n, (view) => {
            live.push({ start: total, view, copy: Buffer.from(view) });
            total += view.length;
          });
          acked = Math.max(acked, Math.floor(total * s.ackShare));
          rx.release(acked);
          for (const l of live) if (l.start + l.view.length > acked) expect(l.view.equals(l.copy), 'an unacknowledged view changed').to.equal(true);
        });
      }),
      { numRuns: 150 },
    );
  });
});
