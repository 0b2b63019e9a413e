import { expect } from 'chai';
import fc from 'fast-check';
import { put16be, put16le, put32be, u16be, u16le, u32be } from '../../../src/lib/wire/bytes.js';

describe('integer fields by byte (wire/bytes.ts)', () => {
  const field = fc.record({ size: fc.integer({ min: 4, max: 40 }), at: fc.nat({ max: 36 }), v: fc.nat({ max: 0xffffffff }) }).filter((r) => r.at + 4 <= r.size);

  it('reads what Buffer writes and writes what Buffer reads, in both byte orders', () => {
    fc.assert(
      fc.property(field, ({ size, at, v }) => {
        const b = Buffer.alloc(size);
        b.writeUInt32BE(v, at);
        expect(u32be(b, at)).to.equal(v);
        expect(u16be(b, at)).to.equal(b.readUInt16BE(at));
        expect(u16le(b, at)).to.equal(b.readUInt16LE(at));
        const ours = Buffer.alloc(size);
        put32be(ours, at, v);
        expect(ours.readUInt32BE(at)).to.equal(v);
        put16be(ours, at, v & 0xffff);
        expect(ours.readUInt16BE(at)).to.equal(v & 0xffff);
        put16le(ours, at + 2, v >>> 16);
        expect(ours.readUInt16LE(at + 2)).to.equal(v >>> 16);
        // Nothing outside the field is touched.
        expect(ours.subarray(0, at).every((x) => x === 0)).to.equal(true);
        expect(ours.subarray(at + 4).every((x) => x === 0)).to.equal(true);
      }),
    );
  });

  it('throws a RangeError for a field that does not fit, as Buffer does, and writes nothing', () => {
    const b = Buffer.alloc(6);
    expect(() => u16be(b, 5)).to.throw(RangeError, /2-byte field at offset 5 does not fit in 6 bytes/);
    expect(() => u16le(b, -1)).to.throw(RangeError);
    expect(() => u32be(b, 3)).to.throw(RangeError, /4-byte field/);
    expect(() => put16be(b, 5, 0xffff)).to.throw(RangeError);
    expect(() => put16le(b, 6, 0xffff)).to.throw(RangeError);
    expect(() => put32be(b, 3, 0xffffffff)).to.throw(RangeError);
    expect([...b]).to.deep.equal([0, 0, 0, 0, 0, 0]);
    expect(u32be(b, 2)).to.equal(0);
  });

  it('writes a value modulo the field width', () => {
    const b = Buffer.alloc(4);
    put16be(b, 0, 0x12345);
    expect(b.readUInt16BE(0)).to.equal(0x2345);
    put32be(b, 0, -1);
    expect(b.readUInt32BE(0)).to.equal(0xffffffff);
  });
});
