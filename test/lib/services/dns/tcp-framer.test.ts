import { expect } from 'chai';
import fc from 'fast-check';
import { DnsTcpFramer } from '../../../../src/lib/services/dns/tcp-framer.js';

describe('DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8)', () => {
  it('prefixes a message with its 2-byte big-endian length', () => {
    expect(DnsTcpFramer.frame(Buffer.from([1, 2, 3]))).to.deep.equal(Buffer.from([0, 3, 1, 2, 3]));
    expect(() => DnsTcpFramer.frame(Buffer.alloc(65536))).to.throw(RangeError);
  });

  it('returns several messages that arrive in one chunk, in order', () => {
    const f = new DnsTcpFramer();
    const out = f.push(Buffer.concat([DnsTcpFramer.frame(Buffer.from('ab')), DnsTcpFramer.frame(Buffer.from('cde'))]));
    expect(out.map(String)).to.deep.equal(['ab', 'cde']);
    expect(f.buffered).to.equal(0);
  });

  it('holds a message split across chunks, even inside the length prefix', () => {
    const f = new DnsTcpFramer();
    const wire = DnsTcpFramer.frame(Buffer.from('hello'));
    expect(f.push(wire.subarray(0, 1))).to.deep.equal([]);
    expect(f.push(wire.subarray(1, 4))).to.deep.equal([]);
    expect(f.buffered).to.equal(4);
    expect(f.push(wire.subarray(4)).map(String)).to.deep.equal(['hello']);
  });

  it('skips zero-length messages and buffers at most one incomplete message', () => {
    const f = new DnsTcpFramer();
    expect(f.push(Buffer.from([0, 0, 0, 1, 9]))).to.deep.equal([Buffer.from([9])]);
    expect(f.skipped).to.equal(1);
    const big = Buffer.alloc(2 + 65535);
    big.writeUInt16BE(65535, 0);
    for (let off = 0; off < big.length - 1; off += 4096) f.push(big.subarray(off, Math.min(off + 4096, big.length - 1)));
    expect(f.buffered).to.equal(big.length - 1);
    expect(f.push(big.subarray(big.length - 1))).to.have.length(1);
    expect(f.buffered).to.equal(0);
  });

  it('yields the same messages however the stream is cut (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 20 }),
        (msgs, cuts) => {
          const wire = Buffer.concat(msgs.map((m) => DnsTcpFramer.frame(Buffer.from(m))));
          const f = new DnsTcpFramer();
          const got: Buffer[] = [];
          let off = 0;
          for (let k = 0; off < wire.length; k++) {
            const n = cuts[k % cuts.length];
            got.push(...f.push(wire.subarray(off, off + n)));
            off += n;
          }
          expect(got).to.deep.equal(msgs.map((m) => Buffer.from(m)));
          expect(f.buffered).to.equal(0);
        },
      ),
    );
  });
});
