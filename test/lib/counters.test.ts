import { expect } from 'chai';
import { Counters } from '../../src/lib/counters.js';

describe('Counters', () => {
  it('counts by name, sums drops, and reports sorted non-zero values', () => {
    const c = new Counters();
    c.inc('rx.frames');
    c.inc('rx.bytes', 1500);
    c.drop('eth_not_for_us');
    c.drop('eth_not_for_us');
    c.drop('ipv4_bad_checksum');
    expect(c.get('rx.bytes')).to.equal(1500);
    expect(c.get('never')).to.equal(0);
    expect(c.totalDrops()).to.equal(3);
    expect(Object.keys(c.snapshot())).to.deep.equal(['drop.eth_not_for_us', 'drop.ipv4_bad_checksum', 'rx.bytes', 'rx.frames']);
  });

  it('hands hot paths a cell that is the same counter as its name', () => {
    const c = new Counters();
    const frames = c.counter('tx.frames');
    expect(c.snapshot(), 'a cell still at 0 is not reported').to.deep.equal({});
    frames.n++;
    c.inc('tx.frames', 2);
    expect(c.get('tx.frames')).to.equal(3);
    expect(c.counter('tx.frames')).to.equal(frames);
    expect(c.snapshot()).to.deep.equal({ 'tx.frames': 3 });
  });

  it('keeps exact byte totals past 2^32', () => {
    const c = new Counters();
    const bytes = c.counter('rx.bytes');
    for (let i = 0; i < 3; i++) bytes.n += 2 ** 31;
    expect(c.get('rx.bytes')).to.equal(3 * 2 ** 31);
  });
});
