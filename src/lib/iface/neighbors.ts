/**
 * Which guest owns which IPv4 address, and through which port (link) it is
 * reached: learned from ARP and from the source of every IPv4 frame (RFC 826
 * §"Packet Reception": merge the sender into the table). Frames for a guest
 * address we have not seen wait briefly (bounded) while an ARP request goes out.
 */
import { macAt, type Ipv4 } from '../wire/addr.js';

export interface GuestPort {
  readonly id: string;
  /** Write one frame; must not keep a reference to `frame` after returning. gsoSize: see Link.send. */
  send(frame: Buffer, gsoSize?: number, partialCsum?: boolean): void;
  /** The port takes TCP super-segments and partial TCP checksums (Link.tso, Link.send). */
  readonly tso?: boolean;
  /** Optional, with tso: write the frame `head` followed by the `tail` views in one system call, copying none (Link.sendv). */
  sendv?(head: Buffer, tail: readonly Buffer[], gsoSize: number, partialCsum: boolean): void;
}

export interface Neighbor {
  mac: Buffer;
  port: GuestPort;
  seenAt: number;
}

const MAX_PENDING_PER_IP = 16;
const NOTHING_WAITING: readonly Buffer[] = Object.freeze([]);
const MAX_PENDING_IPS = 256;
const PENDING_TTL_MS = 3000;

export class NeighborTable {
  private readonly byIp = new Map<Ipv4, Neighbor>();
  private readonly pending = new Map<Ipv4, { since: number; frames: Buffer[] }>();

  lookup(ip: Ipv4): Neighbor | undefined {
    return this.byIp.get(ip);
  }

  /**
   * The per-frame fast path: when ip is already known at the MAC in
   * `frame[macOffset..+6]` via `port` and no frame waits for it, refresh the
   * entry and return true (no allocation); otherwise return false, and the
   * caller learns it.
   */
  refresh(ip: Ipv4, frame: Buffer, macOffset: number, port: GuestPort, now: number): boolean {
    const known = this.byIp.get(ip);
    if (!known || known.port !== port || !macAt(frame, macOffset, known.mac) || this.pending.has(ip)) return false;
    known.seenAt = now;
    return true;
  }

  /** Learn (or refresh) ip -> mac via port; returns frames that were waiting for it. */
  learn(ip: Ipv4, mac: Buffer, port: GuestPort, now: number): readonly Buffer[] {
    const known = this.byIp.get(ip);
    if (known && known.port === port && known.mac.equals(mac)) {
      known.seenAt = now;
    } else {
      this.byIp.set(ip, { mac: Buffer.from(mac), port, seenAt: now });
    }
    const waiting = this.pending.get(ip);
    if (!waiting) return NOTHING_WAITING;
    this.pending.delete(ip);
    return waiting.frames;
  }

  /** Queue a copy of a frame until ip is resolved; false when the queue is full. */
  enqueue(ip: Ipv4, frame: Buffer, now: number): boolean {
    let q = this.pending.get(ip);
    if (!q) {
      if (this.pending.size >= MAX_PENDING_IPS) return false;
      q = { since: now, frames: [] };
      this.pending.set(ip, q);
    }
    if (q.frames.length >= MAX_PENDING_PER_IP) return false;
    q.frames.push(Buffer.from(frame));
    return true;
  }

  /** Drop pending frames older than the ARP wait; returns how many were dropped. */
  expire(now: number): number {
    let dropped = 0;
    for (const [ip, q] of this.pending) {
      if (now - q.since > PENDING_TTL_MS) {
        dropped += q.frames.length;
        this.pending.delete(ip);
      }
    }
    return dropped;
  }

  hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** Forget every neighbour reached through a port that went away. */
  forgetPort(port: GuestPort): void {
    for (const [ip, n] of this.byIp) if (n.port === port) this.byIp.delete(ip);
  }

  entries(): Array<[Ipv4, Neighbor]> {
    return [...this.byIp.entries()];
  }
}
