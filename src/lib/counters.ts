/**
 * Named monotonically increasing counters shared by the whole stack: frames,
 * bytes, flows and every drop by its reason ("drop.ipv4_bad_checksum"). Bad
 * guest input is never thrown out of the stack: it is dropped and counted here.
 * Keys are dotted lowercase names; `/metrics` turns them into Prometheus names.
 */
/** One counter's cell: hot paths keep it and add to `n` directly (no lookup by name). */
export class Counter {
  n = 0;
}

export class Counters {
  private readonly values = new Map<string, Counter>();

  inc(name: string, by = 1): void {
    this.counter(name).n += by;
  }

  /**
   * The cell behind `name`, created at 0: for counters bumped on every frame,
   * where two Map operations per bump (get, then set) showed in profiles.
   * A counter still at 0 is not reported, as if never touched.
   */
  counter(name: string): Counter {
    let c = this.values.get(name);
    if (c === undefined) this.values.set(name, (c = new Counter()));
    return c;
  }

  /** Count a dropped frame or packet under `drop.<reason>`. */
  drop(reason: string): void {
    this.inc(`drop.${reason}`);
  }

  get(name: string): number {
    return this.values.get(name)?.n ?? 0;
  }

  /** Sum of every `drop.*` counter. */
  totalDrops(): number {
    let total = 0;
    for (const [k, c] of this.values) if (k.startsWith('drop.')) total += c.n;
    return total;
  }

  snapshot(): Record<string, number> {
    const entries: Array<[string, number]> = [];
    for (const [k, c] of this.values) if (c.n !== 0) entries.push([k, c.n]);
    return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
  }
}
