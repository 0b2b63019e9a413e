/**
 * The one error the wire codecs throw. `reason` is a snake_case drop-counter
 * key ("ipv4_bad_checksum", "eth_truncated", "udp_bad_length") so the layer
 * that catches it can do `counters.drop(err.reason)` without a lookup table.
 * Codecs throw nothing else on malformed input: callers may rely on
 * `catch (e) { if (e instanceof WireError) ... else throw e }`.
 */
export class WireError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'WireError';
  }
}

/** Throw a WireError unless `cond` holds (keeps the checked() bodies flat). */
export function check(cond: boolean, reason: string): void {
  if (!cond) throw new WireError(reason);
}
