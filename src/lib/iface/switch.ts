/**
 * L2 learning switch in front of the gateway's Interface (DESIGN §2): several
 * guests on one daemon, each link a switch port, the stack one more station
 * (the gateway MAC).
 *
 * Contract of `ingress(from, frame, now)` (IEEE 802.1D §7.7-7.8, learning and
 * forwarding; no spanning tree, guests are leaves):
 *  - the source MAC is learned on `from` (a group-address source is never
 *    learned and the frame is dropped: no station sends from a multicast MAC);
 *  - destination = the gateway MAC: the stack only (return true);
 *  - broadcast or multicast destination: flooded to every other port AND the
 *    stack (return true), so ARP, DHCP and mDNS reach both guests and gateway;
 *  - unicast to a MAC learned on another port: sent to that port only;
 *  - unicast to a MAC learned on the same port: filtered (dropped, counted);
 *  - unknown unicast: flooded to every other port, not the stack (the stack
 *    only takes frames for its own MAC).
 * Frames are passed as the caller's view; each port's send() copies what it
 * keeps (Link contract). Entries age out after `ageMs` without traffic and
 * vanish with their port; the table is bounded (`maxEntries`): when full, new
 * source MACs are not learned (frames to them are flooded) and counted.
 */
import type { Counters } from '../counters.js';
import type { GuestPort } from './neighbors.js';

export interface SwitchOptions {
  /** MAC table entries expire after this long without a frame from them (802.1D default 300 s). */
  ageMs?: number;
  /** Table bound; a guest flooding random source MACs cannot grow memory. */
  maxEntries?: number;
}

interface Entry {
  port: GuestPort;
  seenAt: number;
}

/** A MAC as a number key (48 bits fit exactly in a double). */
function macKey(buf: Buffer, off: number): number {
  return buf.readUIntBE(off, 6);
}

export class L2Switch {
  private readonly table = new Map<number, Entry>();
  private readonly ports = new Set<GuestPort>();
  private readonly gatewayKey: number;
  private readonly ageMs: number;
  private readonly maxEntries: number;

  constructor(
    gatewayMac: Buffer,
    private readonly counters: Counters,
    opts: SwitchOptions = {},
  ) {
    this.gatewayKey = macKey(gatewayMac, 0);
    this.ageMs = opts.ageMs ?? 300_000;
    this.maxEntries = opts.maxEntries ?? 4096;
  }

  attach(port: GuestPort): void {
    this.ports.add(port);
  }

  /** Remove a port and every MAC learned on it. */
  detach(port: GuestPort): void {
    this.ports.delete(port);
    for (const [k, e] of this.table) if (e.port === port) this.table.delete(k);
  }

  get portCount(): number {
    return this.ports.size;
  }

  /** The port a MAC was learned on, if any (for status and tests). */
  portOf(mac: Buffer): GuestPort | undefined {
    return this.table.get(macKey(mac, 0))?.port;
  }

  /** Learned MACs as [mac, port id]. */
  entries(): Array<{ mac: string; port: string }> {
    return [...this.table].map(([k, e]) => ({
      mac: k.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:'),
      port: e.port.id,
    }));
  }

  /** Forward one frame from `from`; returns true when the stack must receive it too. */
  ingress(from: GuestPort, frame: Buffer, now: number): boolean {
    if (frame.length < 14) {
      this.counters.drop('switch_runt');
      return false;
    }
    // Group bit (I/G) of the first octet, IEEE 802 §8.2.
    if ((frame[6] & 1) === 1) {
      this.counters.drop('switch_multicast_source');
      return false;
    }
    this.learn(macKey(frame, 6), from, now);
    if ((frame[0] & 1) === 1) {
      this.flood(from, frame);
      return true;
    }
    const dst = macKey(frame, 0);
    if (dst === this.gatewayKey) return true;
    const e = this.table.get(dst);
    if (e && now - e.seenAt <= this.ageMs && this.ports.has(e.port)) {
      if (e.port === from) {
        this.counters.drop('switch_same_port');
        return false;
      }
      this.counters.inc('switch.forwarded');
      e.port.send(frame);
      return false;
    }
    if (e) this.table.delete(dst);
    this.counters.inc('switch.unknown_unicast');
    this.flood(from, frame);
    return false;
  }

  /** Drop entries idle for longer than the ageing time; returns how many went. */
  age(now: number): number {
    let n = 0;
    for (const [k, e] of this.table) {
      if (now - e.seenAt > this.ageMs) {
        this.table.delete(k);
        n++;
      }
    }
    return n;
  }

  private learn(src: number, port: GuestPort, now: number): void {
    if (src === this.gatewayKey) {
      // A guest claiming the gateway's MAC would steal its traffic: never learn it.
      this.counters.drop('switch_spoofed_gateway_mac');
      return;
    }
    const e = this.table.get(src);
    if (e) {
      if (e.port !== port) this.counters.inc('switch.moved');
      e.port = port;
      e.seenAt = now;
      return;
    }
    if (this.table.size >= this.maxEntries) {
      this.age(now);
      if (this.table.size >= this.maxEntries) return this.counters.drop('switch_table_full');
    }
    this.table.set(src, { port, seenAt: now });
  }

  private flood(from: GuestPort, frame: Buffer): void {
    if (this.ports.size <= 1) return;
    this.counters.inc('switch.flooded');
    for (const p of this.ports) if (p !== from) p.send(frame);
  }
}
