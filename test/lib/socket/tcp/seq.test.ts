import { expect } from 'chai';
import fc from 'fast-check';
import { seqAdd, seqDiff, seqGe, seqGt, seqInRange, seqLe, seqLt, seqSub } from '../../../../src/lib/socket/tcp/seq.js';

describe('TCP sequence number arithmetic (RFC 9293 §3.4)', () => {
  it('orders numbers across the 2^32 wrap', () => {
    expect(seqLt(0xffffffff, 0)).to.equal(true);
    expect(seqGt(0, 0xffffffff)).to.equal(true);
    expect(seqLe(5, 5)).to.equal(true);
    expect(seqGe(0x10, 0xfffffff0)).to.equal(true);
    expect(seqLt(0x10, 0xfffffff0)).to.equal(false);
  });

  it('adds and subtracts modulo 2^32', () => {
    expect(seqAdd(0xffffffff, 2)).to.equal(1);
    expect(seqSub(1, 0xffffffff)).to.equal(2);
    expect(seqDiff(0xffffffff, 1)).to.equal(-2);
  });

  it('tests half-open ranges that straddle the wrap', () => {
    expect(seqInRange(0, 0xfffffff0, 0x10)).to.equal(true);
    expect(seqInRange(0x10, 0xfffffff0, 0x10)).to.equal(false);
    expect(seqInRange(0xffffffef, 0xfffffff0, 0x10)).to.equal(false);
  });

  it('agrees with integer order for any base and distance below 2^31', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 0x7fffffff }), (a, n) => {
        const b = seqAdd(a, n);
        return seqLt(a, b) && seqGt(b, a) && !seqLt(b, a) && seqSub(b, a) === n && seqDiff(b, a) === n;
      }),
    );
  });
});
