/**
 * Named monotonically increasing counters shared by the whole stack: frames,
 * bytes, flows and every drop by its reason ("drop.ipv4_bad_checksum"). Bad
 * guest input is never thrown out of the stack: it is dropped and counted here.
 * Keys are dotted lowercase names; `/metrics` turns them into Prometheus names.
 */
export class Counters {
  private readonly values = new Map<string, number>();

  inc(name: string, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  /** Count a dropped frame or packet under `drop.<reason>`. */
  drop(reason: string): void {
    this.inc(`drop.${reason}`);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  /** Sum of every `drop.*` counter. */
  totalDrops(): number {
    let total = 0;
    for (const [k, v] of this.values) if (k.startsWith('drop.')) total += v;
    return total;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.values.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
