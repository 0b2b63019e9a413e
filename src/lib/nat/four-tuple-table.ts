/**
 * A table of TCP connections by four-tuple, as the NAT keeps them (its live
 * flows, tcp.ts, and its TIME-WAIT entries, time-wait.ts).
 *
 * Keyed by the two ports, (guest port << 16 | destination port): an int32,
 * which V8 keeps unboxed (a Smi). Keys of ip * 65536 + port were 48-bit
 * doubles, boxed on every lookup of every frame, and took two Maps. Items
 * that share both ports but not both addresses chain through `nextInBucket`
 * (rare: it takes two guests, or one guest's source port reused toward two
 * hosts at once). The caller picks the Map: a ChurnMap for items that come
 * and go by the thousand while young (churn-map.ts).
 */
import type { Ipv4 } from '../wire/addr.js';

export interface FourTupleItem<T> {
  readonly guestIp: Ipv4;
  readonly guestPort: number;
  readonly dstIp: Ipv4;
  readonly dstPort: number;
  /** The next item with the same ports; the table's own link. */
  nextInBucket: T | undefined;
}

/** The Map operations the table needs (Map and ChurnMap have them). */
export interface PortsMap<T> {
  get(key: number): T | undefined;
  set(key: number, value: T): unknown;
  delete(key: number): boolean;
  values(): IterableIterator<T>;
}

function portsKey(guestPort: number, dstPort: number): number {
  return (guestPort << 16) | dstPort; // `|` yields an int32: no `| 0` needed
}

export class FourTupleTable<T extends FourTupleItem<T>> {
  private count = 0;

  constructor(private readonly byPorts: PortsMap<T>) {}

  get size(): number {
    return this.count;
  }

  find(guestIp: Ipv4, guestPort: number, dstIp: Ipv4, dstPort: number): T | undefined {
    let x = this.byPorts.get(portsKey(guestPort, dstPort));
    while (x !== undefined && (x.guestIp !== guestIp || x.dstIp !== dstIp)) x = x.nextInBucket;
    return x;
  }

  /** The caller has checked that nothing has the same four-tuple (find). */
  insert(x: T): void {
    const k = portsKey(x.guestPort, x.dstPort);
    x.nextInBucket = this.byPorts.get(k);
    this.byPorts.set(k, x);
    this.count++;
  }

  /** Take `x` out; false if it was not in the table. */
  remove(x: T): boolean {
    const k = portsKey(x.guestPort, x.dstPort);
    const head = this.byPorts.get(k);
    if (head === x) {
      if (x.nextInBucket === undefined) this.byPorts.delete(k);
      else this.byPorts.set(k, x.nextInBucket);
    } else {
      let prev = head;
      while (prev !== undefined && prev.nextInBucket !== x) prev = prev.nextInBucket;
      if (prev === undefined) return false;
      prev.nextInBucket = x.nextInBucket;
    }
    x.nextInBucket = undefined;
    this.count--;
    return true;
  }

  /** Every item, bucket chains included (a snapshot is safe to remove from). */
  *all(): IterableIterator<T> {
    for (const head of this.byPorts.values()) for (let x: T | undefined = head; x !== undefined; x = x.nextInBucket) yield x;
  }
}
