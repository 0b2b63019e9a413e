/**
 * Sequence number arithmetic (RFC 9293 §3.4): sequence numbers are uint32 and
 * compared modulo 2^32, so "a < b" means b lies less than 2^31 ahead of a.
 * Every sequence comparison in the TCP socket goes through this module; plain
 * `<` on sequence numbers is a bug waiting for the wrap at 2^32.
 */

/** Signed distance a - b in (-2^31, 2^31]. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** a + n modulo 2^32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Unsigned distance from b forward to a, modulo 2^32 (a - b). */
export function seqSub(a: number, b: number): number {
  return (a - b) >>> 0;
}

export function seqLt(a: number, b: number): boolean {
  return seqDiff(a, b) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return seqDiff(a, b) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return seqDiff(a, b) >= 0;
}

export function seqMax(a: number, b: number): number {
  return seqGe(a, b) ? a : b;
}

export function seqMin(a: number, b: number): number {
  return seqLe(a, b) ? a : b;
}

/** lo <= x < hi, modulo 2^32 (RFC 9293 §3.4 "acceptable" range tests). */
export function seqInRange(x: number, lo: number, hi: number): boolean {
  return seqLe(lo, x) && seqLt(x, hi);
}
