/**
 * Test harness for the sans-IO TCP socket: a scripted peer (segment builders,
 * captured output copied out of the reused emit object), a fake clock
 * advanced by hand, a seeded PRNG and a lossy/reordering/duplicating fake link
 * for back-to-back transfers. Not a test file itself.
 */
import { expect } from 'chai';
import { TcpSocket, TcpState, rstForUnexpected, type Endpoint, type TcpSocketConfig } from '../../../../src/lib/socket/tcp/index.js';
import { TcpFlags, TcpPacket, emitTcp, parseTcp, type TcpRepr } from '../../../../src/lib/wire/tcp.js';

export const F = TcpFlags;
/** The socket under test. */
export const LOCAL: Endpoint = { addr: 0xc0a84101, port: 80 };
/** The scripted peer. */
export const REMOTE: Endpoint = { addr: 0xc0a84102, port: 40000 };
export const PEER_ISS = 0xfffff000; // close to the wrap on purpose
export const OUR_ISS = 0xffffff00;

export function config(over: Partial<TcpSocketConfig> = {}): TcpSocketConfig {
  return { mss: 1460, sndBuf: 64 * 1024, rcvBuf: 64 * 1024, iss: OUR_ISS, tsOffset: 0, ...over };
}

/** A segment from the peer to the socket. */
export function seg(fields: Partial<TcpRepr>): TcpRepr {
  return {
    srcPort: REMOTE.port, dstPort: LOCAL.port, seq: 0, ack: 0, flags: F.ACK, window: 65535, urgent: 0,
    options: {}, payload: Buffer.alloc(0), ...fields,
  };
}

export function clone(s: TcpRepr): TcpRepr {
  const o = s.options;
  return {
    ...s,
    options: {
      ...o,
      timestamps: o.timestamps ? { ...o.timestamps } : undefined,
      sack: o.sack ? o.sack.map(([l, r]) => [l, r] as [number, number]) : undefined,
    },
    payload: Buffer.from(s.payload),
  };
}

/** Everything the socket emits at `now`, copied. */
export function drain(sock: TcpSocket, now: number): TcpRepr[] {
  const out: TcpRepr[] = [];
  sock.dispatch(now, (s) => out.push(clone(s)));
  return out;
}

export function has(s: TcpRepr, flags: number): boolean {
  return (s.flags & flags) === flags;
}

export function readAll(sock: TcpSocket): Buffer {
  const parts: Buffer[] = [];
  for (let c = sock.read(); c; c = sock.read()) parts.push(c);
  return Buffer.concat(parts);
}

export function add(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pattern(len: number, seed: number): Buffer {
  const r = rng(seed);
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = (r() * 256) | 0;
  return b;
}

export interface EstablishedPeer {
  sock: TcpSocket;
  /** Next sequence number the peer will send. */
  peerNxt: number;
  /** Sequence number of the socket's next byte (what the peer acks). */
  ourNxt: number;
  now: number;
}

/**
 * A passive socket taken to ESTABLISHED by the scripted peer. `synOptions`
 * are the peer SYN's options (none by default: no scaling, timestamps or SACK).
 */
export function establishedPassive(over: Partial<TcpSocketConfig> = {}, synOptions: TcpRepr['options'] = { mss: 1460 }, peerWindow = 65535): EstablishedPeer {
  let now = 1000;
  const syn = seg({ seq: PEER_ISS, flags: F.SYN, options: synOptions, window: peerWindow });
  const sock = TcpSocket.fromSyn(now, LOCAL, REMOTE, syn, config(over));
  sock.accept(now);
  const synAck = drain(sock, now);
  expect(synAck).to.have.length(1);
  now += 10;
  const ts = synOptions.timestamps ? { tsVal: synOptions.timestamps.tsVal + 10, tsEcr: synAck[0].options.timestamps!.tsVal } : undefined;
  sock.process(now, seg({ seq: add(PEER_ISS, 1), ack: add(OUR_ISS, 1), window: peerWindow, options: { timestamps: ts } }));
  expect(sock.state).to.equal(TcpState.ESTABLISHED);
  return { sock, peerNxt: add(PEER_ISS, 1), ourNxt: add(OUR_ISS, 1), now };
}

interface InFlight {
  at: number;
  toA: boolean;
  seg: TcpRepr;
}

export interface LinkOptions {
  loss: number;
  dup: number;
  /** Probability that a segment gets extra delay (so later ones overtake it). */
  reorder: number;
  delayMs: number;
  /** Encode every segment with the wire codec and parse it back (checksums, option layout). */
  wire?: boolean;
  /**
   * Arrivals are rounded up to multiples of this many ms, so segments land in
   * one batch, all processed before the receiver dispatches: one turn of the
   * daemon's loop reading several frames (0 or unset: no batching).
   */
  batchMs?: number;
  /** Lose the n-th segment (0-based) sent toward b (toB) or toward a, on top of `loss`. */
  dropNth?: { toA: ReadonlySet<number>; toB: ReadonlySet<number> };
}

/** Two sockets wired back to back through an unreliable link, driven by a fake clock. */
export class FakeLink {
  private inFlight: InFlight[] = [];
  now = 0;
  delivered = 0;
  /** Largest TCP segment (header + options + payload) seen on the wire when `wire` is set. */
  maxWireLen = 0;
  constructor(
    readonly a: TcpSocket,
    readonly b: TcpSocket,
    private readonly rand: () => number,
    private readonly opts: LinkOptions,
  ) {}

  private sentToA = 0;
  private sentToB = 0;

  private send(toA: boolean, s: TcpRepr): void {
    if (this.opts.wire) s = this.viaWire(toA, s);
    const nth = toA ? this.sentToA++ : this.sentToB++;
    if ((toA ? this.opts.dropNth?.toA : this.opts.dropNth?.toB)?.has(nth)) return;
    if (this.rand() < this.opts.loss) return;
    const copies = this.rand() < this.opts.dup ? 2 : 1;
    const batch = this.opts.batchMs ?? 0;
    for (let i = 0; i < copies; i++) {
      const extra = this.rand() < this.opts.reorder ? this.rand() * 4 * this.opts.delayMs : 0;
      const at = this.now + this.opts.delayMs + extra;
      this.inFlight.push({ at: batch > 0 ? Math.ceil(at / batch) * batch : at, toA, seg: clone(s) });
    }
  }

  private viaWire(toA: boolean, s: TcpRepr): TcpRepr {
    const src = toA ? this.b.local.addr : this.a.local.addr;
    const dst = toA ? this.a.local.addr : this.b.local.addr;
    const frame = Buffer.alloc(65536);
    const n = emitTcp(s, frame, 0, src, dst);
    this.maxWireLen = Math.max(this.maxWireLen, n);
    return parseTcp(TcpPacket.checked(frame.subarray(0, n), src, dst));
  }

  /** Advance to the next event and handle it; returns false when nothing is pending. */
  step(): boolean {
    this.a.dispatch(this.now, (s) => this.send(false, s));
    this.b.dispatch(this.now, (s) => this.send(true, s));
    let next = Math.min(this.a.pollAt(), this.b.pollAt());
    for (const f of this.inFlight) if (f.at < next) next = f.at;
    if (next === Infinity) return false;
    this.now = Math.max(this.now, next);
    const due = this.inFlight.filter((f) => f.at <= this.now);
    this.inFlight = this.inFlight.filter((f) => f.at > this.now);
    for (const f of due) {
      const to = f.toA ? this.a : this.b;
      this.delivered++;
      if (to.state === TcpState.CLOSED) {
        // The socket is gone (after TIME-WAIT, say): its host answers like a stack without it.
        const rst = rstForUnexpected(f.seg);
        if (rst) this.send(!f.toA, rst);
        continue;
      }
      to.process(this.now, f.seg);
    }
    return true;
  }
}
