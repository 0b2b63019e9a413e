/**
 * Receive-slab recycling (recv-buffer.ts usePool/release, slab-pool.ts): a
 * slab goes back to the pool only when every byte of it has been read and
 * released, so a chunk the consumer still holds is never overwritten; the
 * stream read out is exactly the stream pushed in.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { ReceiveBuffer } from '../../../../src/lib/socket/tcp/recv-buffer.js';
import { SLAB_SIZE, SlabPool } from '../../../../src/lib/socket/tcp/slab-pool.js';

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 31) & 0xff;
  return b;
}

describe('TCP receive slabs recycled through a pool', () => {
  it('returns a slab only once all of its bytes are read and released', () => {
    const pool = new SlabPool(8);
    const rq = new ReceiveBuffer();
    rq.usePool(pool);
    rq.pushInOrder(bytes(SLAB_SIZE, 1)); // fills slab 1 exactly
    rq.pushInOrder(bytes(100, 2)); // retires slab 1, starts slab 2
    expect(pool.idle).to.equal(0);
    const first = rq.read()!;
    expect(first.length).to.equal(SLAB_SIZE);
    rq.release(rq.readTotal - 1); // one byte of slab 1 still referenced
    expect(pool.idle).to.equal(0);
    rq.release(rq.readTotal);
    expect(pool.idle).to.equal(1);
    // The next slab comes from the pool.
    rq.pushInOrder(bytes(SLAB_SIZE, 3));
    expect(pool.reused).to.equal(1);
  });

  it('gives back a partly filled slab once everything in it is read and released', () => {
    const pool = new SlabPool(8);
    const rq = new ReceiveBuffer();
    rq.usePool(pool);
    rq.pushInOrder(bytes(100, 1));
    const chunk = rq.read()!;
    rq.release(rq.readTotal - 1);
    expect(pool.idle, 'one byte still referenced').to.equal(0);
    rq.release(rq.readTotal);
    expect(pool.idle, 'an idle connection pins no slab').to.equal(1);
    expect(chunk.equals(bytes(100, 1))).to.equal(true);
    rq.pushInOrder(bytes(50, 2));
    expect(pool.reused).to.equal(1);
    rq.pushInOrder(bytes(10, 3));
    rq.release(rq.readTotal);
    expect(pool.idle, 'unread bytes keep their slab').to.equal(0);
    expect(Buffer.concat([rq.read()!]).equals(Buffer.concat([bytes(50, 2), bytes(10, 3)]))).to.equal(true);
  });

  it('never recycles without release(), and never keeps more than maxFree', () => {
    const pool = new SlabPool(2);
    const rq = new ReceiveBuffer();
    rq.usePool(pool);
    for (let i = 0; i < 6; i++) rq.pushInOrder(bytes(SLAB_SIZE, i));
    while (rq.read());
    expect(pool.idle).to.equal(0);
    rq.release(rq.readTotal);
    expect(pool.idle).to.equal(2);
  });

  it('keeps held chunks intact and the stream exact under random pushes, reads and releases', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ push: fc.integer({ min: 1, max: 70_000 }), reads: fc.integer({ min: 0, max: 3 }), release: fc.boolean() }), {
          minLength: 1,
          maxLength: 40,
        }),
        (steps) => {
          const pool = new SlabPool(4);
          const rq = new ReceiveBuffer();
          rq.usePool(pool);
          const pushed: Buffer[] = [];
          const out: Buffer[] = [];
          // Chunks read but not released, with a copy of what they held when read.
          let held: Array<{ view: Buffer; copy: Buffer }> = [];
          let seed = 0;
          for (const s of steps) {
            const data = bytes(s.push, seed++);
            pushed.push(data);
            rq.pushInOrder(data);
            for (let r = 0; r < s.reads; r++) {
              const c = rq.read();
              if (!c) break;
              held.push({ view: c, copy: Buffer.from(c) });
              out.push(Buffer.from(c));
            }
            for (const h of held) expect(h.view.equals(h.copy), 'a held chunk was overwritten').to.equal(true);
            if (s.release) {
              rq.release(rq.readTotal);
              held = [];
            }
          }
          for (let c = rq.read(); c; c = rq.read()) out.push(Buffer.from(c));
          expect(Buffer.concat(out).equals(Buffer.concat(pushed))).to.equal(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('TCP receive slabs after the reader is gone (releaseAll)', () => {
  it('gives back the fully read current slab and keeps unread bytes readable', () => {
    const pool = new SlabPool(8);
    const rq = new ReceiveBuffer();
    rq.usePool(pool);
    rq.pushInOrder(Buffer.alloc(100, 1));
    while (rq.read());
    rq.releaseAll();
    expect(pool.idle).to.equal(1);

    const rq2 = new ReceiveBuffer();
    rq2.usePool(pool);
    rq2.pushInOrder(Buffer.alloc(100, 2));
    rq2.releaseAll();
    expect(rq2.read()!.equals(Buffer.alloc(100, 2)), 'unread bytes untouched').to.equal(true);
  });
});
