import { expect } from 'chai';
import fc from 'fast-check';
import { finishChecksum, onesComplementSum, pseudoHeaderSum } from '../../../src/lib/wire/checksum.js';

/** RFC 1071 §1 done the slow way: 16-bit words, fold on every add. */
function referenceChecksum(buf: Buffer, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) {
    sum += (buf[i] << 8) | (i + 1 < end ? buf[i + 1] : 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
}

describe('Internet checksum (RFC 1071)', () => {
  it('matches the worked example of RFC 1071 §3', () => {
    // 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (after folding), so the checksum is 220d.
    const b = Buffer.from('0001f203f4f5f6f7', 'hex');
    expect(finishChecksum(onesComplementSum(b, 0, b.length))).to.equal(0x220d);
  });

  it('agrees with a word-by-word reference on any range, odd lengths included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), fc.nat(), (arr, a, b) => {
        const buf = Buffer.from(arr);
        const start = buf.length ? a % (buf.length + 1) : 0;
        const end = start + (buf.length - start ? b % (buf.length - start + 1) : 0);
        expect(finishChecksum(onesComplementSum(buf, start, end))).to.equal(referenceChecksum(buf, start, end));
      }),
    );
  });

  it('chains: summing two even-length pieces equals summing their concatenation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), (x, y) => {
        const a = Buffer.from(x.length % 2 ? [...x, 0] : x);
        const b = Buffer.from(y);
        const whole = Buffer.concat([a, b]);
        expect(finishChecksum(onesComplementSum(b, 0, b.length, onesComplementSum(a, 0, a.length)))).to.equal(
          finishChecksum(onesComplementSum(whole, 0, whole.length)),
        );
      }),
    );
  });

  it('makes a buffer containing its own checksum sum to zero', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 100 }), (arr) => {
        const buf = Buffer.from(arr.length % 2 ? [...arr, 0] : arr);
        buf.writeUInt16BE(0, 0);
        buf.writeUInt16BE(finishChecksum(onesComplementSum(buf, 0, buf.length)), 0);
        expect(finishChecksum(onesComplementSum(buf, 0, buf.length))).to.equal(0);
      }),
    );
  });

  it('sums the pseudo-header as the 12 bytes of RFC 768 would', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.nat({ max: 255 }), fc.nat({ max: 0xffff }), (s, d, p, l) => {
        const ph = Buffer.alloc(12);
        ph.writeUInt32BE(s, 0);
        ph.writeUInt32BE(d, 4);
        ph[9] = p;
        ph.writeUInt16BE(l, 10);
        expect(finishChecksum(pseudoHeaderSum(s, d, p, l))).to.equal(referenceChecksum(ph, 0, 12));
      }),
    );
  });

  it('folds accumulators far beyond 32 bits', () => {
    const big = Buffer.alloc(1 << 20, 0xff);
    // 2^19 words of 0xffff are ≡ 0 (mod 0xffff); 2^40 = (2^16)^2 · 2^8 ≡ 2^8, so the sum folds to 0x0100.
    expect(finishChecksum(onesComplementSum(big, 0, big.length, 2 ** 40))).to.equal(~0x0100 & 0xffff);
  });
});
