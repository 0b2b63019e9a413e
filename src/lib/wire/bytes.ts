/**
 * Integer fields of frames, read and written byte by byte.
 *
 * Why not Buffer's readUInt16BE() and friends: Node 20's optimized code
 * fetches such a method through a generic property load (V8's LoadIC
 * builtin) on every call. 30 million readUInt16BE calls took 163 ms, the
 * same reads by byte 39 ms; in the daemon's short-connection profile LoadIC
 * was 2.1% of its CPU, most of it on these calls in the per-frame path.
 *
 * Contract: an offset whose field does not fit in the buffer throws a
 * RangeError, as Buffer's methods do. A written value is taken modulo 2^16
 * or 2^32 (callers pass header fields already in range; Buffer threw).
 */

function outOfRange(offset: number, bytes: number, length: number): never {
  throw new RangeError(`a ${bytes}-byte field at offset ${offset} does not fit in ${length} bytes`);
}

export function u16be(b: Uint8Array, o: number): number {
  if (o < 0 || o + 2 > b.length) outOfRange(o, 2, b.length);
  return (b[o] << 8) | b[o + 1];
}

export function u16le(b: Uint8Array, o: number): number {
  if (o < 0 || o + 2 > b.length) outOfRange(o, 2, b.length);
  return b[o] | (b[o + 1] << 8);
}

export function u32be(b: Uint8Array, o: number): number {
  if (o < 0 || o + 4 > b.length) outOfRange(o, 4, b.length);
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function put16be(b: Uint8Array, o: number, v: number): void {
  if (o < 0 || o + 2 > b.length) outOfRange(o, 2, b.length);
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function put16le(b: Uint8Array, o: number, v: number): void {
  if (o < 0 || o + 2 > b.length) outOfRange(o, 2, b.length);
  b[o] = v;
  b[o + 1] = v >>> 8;
}

export function put32be(b: Uint8Array, o: number, v: number): void {
  if (o < 0 || o + 4 > b.length) outOfRange(o, 4, b.length);
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}
