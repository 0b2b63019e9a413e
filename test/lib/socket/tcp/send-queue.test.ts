/**
 * SendQueue's two ways to read a range: view() (one buffer: a chunk's view, or
 * a copy for a range that straddles chunks) and views() (the chunks' views,
 * never a copy), at every offset and length over uneven chunks.
 */
import { expect } from 'chai';
import { SendQueue } from '../../../../src/lib/socket/tcp/send-queue.js';
import { pattern } from './harness.js';

describe('SendQueue', () => {
  const sizes = [3, 700, 1, 1500, 64];
  const chunks = sizes.map((n, i) => pattern(n, i + 1));
  const all = Buffer.concat(chunks);
  const queue = () => {
    const q = new SendQueue();
    for (const c of chunks) q.push(c);
    return q;
  };

  it('views() gives every range as views of the queued chunks, in order, copying nothing', () => {
    const q = queue();
    for (let off = 0; off < all.length; off += 37) {
      for (const len of [1, 3, 700, 2000, all.length - off]) {
        if (off + len > all.length) continue;
        const rest: Buffer[] = [];
        const first = q.views(off, len, rest);
        const parts = [first, ...rest];
        expect(Buffer.concat(parts).equals(all.subarray(off, off + len)), `[${off}, +${len})`).to.equal(true);
        for (const p of parts) expect(chunks.some((c) => c.buffer === p.buffer && p.length > 0)).to.equal(true);
      }
    }
  });

  it('view() gives the same bytes, in one buffer', () => {
    const q = queue();
    const scratch = Buffer.alloc(all.length);
    for (let off = 0; off < all.length; off += 53) {
      const len = Math.min(900, all.length - off);
      expect(q.view(off, len, scratch).equals(all.subarray(off, off + len))).to.equal(true);
    }
  });

  it('views() after acknowledged bytes are dropped from the front', () => {
    const q = queue();
    q.ack(703);
    const rest: Buffer[] = [];
    const first = q.views(703, 1000, rest);
    expect(Buffer.concat([first, ...rest]).equals(all.subarray(703, 1703))).to.equal(true);
    expect([first, ...rest].map((b) => b.length)).to.deep.equal([1, 999]);
  });
});
