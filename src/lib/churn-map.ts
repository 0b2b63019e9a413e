/**
 * A Map for values that come and go by the thousand (NAT flows), which lets
 * go of a removed value for the young-generation GC too.
 *
 * Why: V8 grows and compacts a Map by rehashing it into a new table, and the
 * table it leaves behind keeps the entries it held (iterators still walking it
 * follow them to the new one). A table that has lived long enough to be in the
 * old generation gets its successors allocated there too, and the scavenger
 * cannot tell a dead old object from a live one: whatever an abandoned table
 * points to survives every young-generation GC until the next full one. With
 * a flow table of 16 live flows and thousands opened a second, each rehash
 * every few dozen inserts left the flows of that moment in the old generation,
 * and every short connection's objects were copied and promoted: measured on
 * the daemon (`--trace-gc-nvp`, 4400 connections/s), 3.4 KB promoted per
 * connection, 2.6 MB surviving each scavenge, scavenges of 4-13 ms, and a
 * mark-compact every ~2 s to clear it up. With the flows in boxes emptied on
 * delete, 75 bytes promoted per connection (the empty boxes) and 140 KB
 * surviving each scavenge.
 *
 * Contract: the Map operations below, for any value type; values() yields in
 * insertion order like Map's. Keys are held as a Map holds them (a key object
 * would still be kept by an abandoned table; use primitive keys).
 */
interface Box<V> {
  value: V | undefined;
}

export class ChurnMap<K, V> {
  private readonly boxes = new Map<K, Box<V>>();

  get size(): number {
    return this.boxes.size;
  }

  get(key: K): V | undefined {
    return this.boxes.get(key)?.value;
  }

  has(key: K): boolean {
    return this.boxes.has(key);
  }

  set(key: K, value: V): this {
    const box = this.boxes.get(key);
    if (box) box.value = value;
    else this.boxes.set(key, { value });
    return this;
  }

  delete(key: K): boolean {
    const box = this.boxes.get(key);
    if (!box) return false;
    box.value = undefined;
    return this.boxes.delete(key);
  }

  *values(): IterableIterator<V> {
    for (const box of this.boxes.values()) yield box.value as V;
  }

  clear(): void {
    for (const box of this.boxes.values()) box.value = undefined;
    this.boxes.clear();
  }
}
