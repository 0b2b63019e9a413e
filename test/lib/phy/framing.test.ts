/**
 * Length-prefixed frame streams: QEMU stream (4-byte BE) and stdio (2-byte LE).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { Deframer, FrameBatcher, encodeFrame, QEMU_STREAM, STDIO_STREAM, type PrefixFormat } from '../../../src/lib/phy/framing.js';

function collect(fmt: PrefixFormat, maxFrame: number) {
  const frames: Buffer[] = [];
  const drops: string[] = [];
  const d = new Deframer(fmt, maxFrame, (f) => frames.push(Buffer.from(f)), (r) => drops.push(r));
  return { d, frames, drops };
}

/** Split `buf` at the given cut points (fractions) into chunks. */
function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * buf.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

for (const [name, fmt] of [['QEMU stream framing (4-byte big-endian)', QEMU_STREAM], ['stdio framing (2-byte little-endian)', STDIO_STREAM]] as const) {
  describe(name, () => {
    it('writes the length in the documented byte order', () => {
      const enc = encodeFrame(fmt, Buffer.alloc(0x0102, 7));
      if (fmt.headerBytes === 4) expect([...enc.subarray(0, 4)]).to.deep.equal([0, 0, 1, 2]);
      else expect([...enc.subarray(0, 2)]).to.deep.equal([2, 1]);
      expect(enc.length).to.equal(fmt.headerBytes + 0x0102);
    });

    it('reassembles frames across arbitrary read splits', () => {
      fc.assert(
        fc.property(
          fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 12 }),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }),
          (frames, cuts) => {
            const stream = Buffer.concat(frames.map((f) => encodeFrame(fmt, Buffer.from(f))));
            const { d, frames: got, drops } = collect(fmt, 300);
            for (const chunk of splitAt(stream, cuts)) d.push(chunk);
            expect(got.map((b) => [...b])).to.deep.equal(frames.map((f) => [...f]));
            expect(drops).to.deep.equal([]);
            expect(d.idle).to.equal(true);
          },
        ),
      );
    });

    it('drops an oversized frame, counts it, and keeps the stream in sync', () => {
      fc.assert(
        fc.property(fc.integer({ min: 101, max: 2000 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 }), (bigLen, cuts) => {
          const before = Buffer.alloc(60, 1);
          const after = Buffer.alloc(70, 2);
          const stream = Buffer.concat([encodeFrame(fmt, before), encodeFrame(fmt, Buffer.alloc(bigLen, 9)), encodeFrame(fmt, after)]);
          const { d, frames, drops } = collect(fmt, 100);
          for (const chunk of splitAt(stream, cuts)) d.push(chunk);
          expect(frames.map((f) => f.length)).to.deep.equal([60, 70]);
          expect(frames[1].every((b) => b === 2)).to.equal(true);
          expect(drops).to.deep.equal(['rx_oversized']);
        }),
      );
    });

    it('drops a zero-length frame and delivers the next one', () => {
      const { d, frames, drops } = collect(fmt, 100);
      d.push(Buffer.concat([Buffer.alloc(fmt.headerBytes), encodeFrame(fmt, Buffer.alloc(20, 5))]));
      expect(drops).to.deep.equal(['rx_zero_length']);
      expect(frames).to.have.length(1);
      expect(frames[0].length).to.equal(20);
    });

    it('delivers frames inside one read as views of that read, without copying', () => {
      const views: Buffer[] = [];
      const d = new Deframer(fmt, 100, (f) => views.push(f), () => undefined);
      const chunk = Buffer.concat([encodeFrame(fmt, Buffer.alloc(30, 1)), encodeFrame(fmt, Buffer.alloc(40, 2))]);
      d.push(chunk);
      const h = fmt.headerBytes;
      expect(views.map((v) => v.buffer === chunk.buffer && v.byteOffset - chunk.byteOffset)).to.deep.equal([h, h + 30 + h]);
    });

    it('never throws on random bytes', () => {
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), (chunks) => {
          const { d } = collect(fmt, 1514);
          for (const c of chunks) d.push(Buffer.from(c));
        }),
      );
    });
  });
}

describe('frame batching', () => {
  it('coalesces the frames of one loop turn into one write', async () => {
    const writes: Buffer[] = [];
    const b = new FrameBatcher(QEMU_STREAM, (chunk) => {
      writes.push(Buffer.from(chunk));
      return true;
    });
    for (let i = 1; i <= 5; i++) b.add(Buffer.alloc(10 * i, i));
    expect(writes).to.have.length(0);
    await new Promise((r) => setImmediate(r));
    expect(writes).to.have.length(1);
    const got: number[] = [];
    const d = new Deframer(QEMU_STREAM, 100, (f) => got.push(f.length), () => undefined);
    d.push(writes[0]);
    expect(got).to.deep.equal([10, 20, 30, 40, 50]);
  });

  it('flushes early when a burst fills', () => {
    const writes: number[] = [];
    const b = new FrameBatcher(STDIO_STREAM, (chunk) => (writes.push(chunk.length), false), 100);
    b.add(Buffer.alloc(60));
    b.add(Buffer.alloc(60));
    expect(writes).to.deep.equal([62]);
    b.flushNow();
    expect(writes).to.deep.equal([62, 62]);
  });
});
