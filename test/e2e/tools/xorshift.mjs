// A seeded xorshift32 PRNG (Marsaglia 2003) for the fuzzing tools: the same
// seed gives the same frames, so a failure can be replayed.
// xorshift(seed)() -> a number in [0, 1).
export function xorshift(seedValue) {
  let seed = Number(seedValue) >>> 0 || 1;
  return () => {
    seed ^= seed << 13;
    seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return seed / 4294967296;
  };
}
