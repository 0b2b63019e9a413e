/**
 * Port forwards (DESIGN §4): a host listener (TCP or UDP, 127.0.0.1 unless a
 * host IP is given) whose clients reach guest IP:port.
 *
 * Contract:
 * - add() binds the host port before it resolves; a forward that exists with
 *   the same target is returned as is; a bind failure throws the HnetError of
 *   forward-bind.ts (HNET_PORT_IN_USE, HNET_PORT_PRIVILEGED, HNET_BAD_SPEC).
 *   Without guestIp the forward follows "the only guest": add() refuses with
 *   HNET_AMBIGUOUS_GUEST (listing them) when several guests are known, and each
 *   new connection picks the only guest at that moment (reset when none or
 *   several). An explicit guestIp must lie in the guest subnet and not be the
 *   gateway, host, network or broadcast address (HNET_UNKNOWN_GUEST).
 * - remove() closes the listener and every connection/flow of the forward, so
 *   the host port is free when it resolves; HNET_NOT_FOUND if there is none.
 * - TCP: each accepted host connection becomes an active open from the host
 *   address toward the guest (deps.openTcp, TcpNat.openToGuest), with the TCP
 *   NAT's backpressure; a refusal in the guest resets the host connection.
 * - UDP: one flow per host client (address, port), seen by the guest as
 *   hostIp(.254):ephemeral; the guest's replies are claimed by handleUdp()
 *   before the UDP NAT sees them. Flows idle for udpIdleMs (60 s) close in
 *   poll(); past maxUdpFlows per forward the least recently used is evicted.
 */
import type net from 'node:net';
import type dgram from 'node:dgram';
import type { Counters } from '../counters.js';
import { HnetError } from '../errors.js';
import type { StackConfig } from '../iface/config.js';
import type { GuestUdp } from '../iface/interface.js';
import { cidrContains, ipv4ToString, parseIpv4, prefixMask, type Ipv4 } from '../wire/addr.js';
import { bindError, bindUdp, listenTcp, type ForwardProto } from './forward-bind.js';

export interface ForwardRequest {
  proto: ForwardProto;
  hostIp?: string;
  hostPort: number;
  guestIp?: string;
  guestPort: number;
}

export interface ForwardInfo {
  proto: ForwardProto;
  hostIp: string;
  hostPort: number;
  /** The explicit guest, else the only guest now, else "auto". */
  guestIp: string;
  guestPort: number;
}

export interface ForwardDeps {
  cfg: StackConfig;
  counters: Counters;
  clock: () => number;
  /** Guest addresses known now (the neighbour table). */
  guests(): Ipv4[];
  openTcp(guestIp: Ipv4, guestPort: number, host: net.Socket): boolean;
  sendUdp(src: Ipv4, srcPort: number, dst: Ipv4, dstPort: number, payload: Buffer): void;
  /** Who holds a port (for HNET_PORT_IN_USE); optional. */
  holderOf?(proto: ForwardProto, port: number): Promise<string | undefined>;
  udpIdleMs?: number;
  maxUdpFlows?: number;
}

interface UdpFlow {
  fwd: Forward;
  clientAddr: string;
  clientPort: number;
  guestIp: Ipv4;
  ephemeral: number;
  lastUsed: number;
}

interface Forward {
  proto: ForwardProto;
  hostIp: string;
  hostPort: number;
  guestIp: Ipv4 | undefined;
  guestPort: number;
  server?: net.Server;
  udp?: dgram.Socket;
  conns: Set<net.Socket>;
  udpFlows: Map<string, UdpFlow>;
}

const keyOf = (proto: string, hostIp: string, hostPort: number) => `${proto}/${hostIp}/${hostPort}`;

export class ForwardManager {
  private readonly forwards = new Map<string, Forward>();
  /** UDP flows by the ephemeral port the guest sees on the host address. */
  private readonly udpByEphemeral = new Map<number, UdpFlow>();
  private nextEphemeral = 49152;
  private readonly udpIdleMs: number;
  private readonly maxUdpFlows: number;

  constructor(private readonly deps: ForwardDeps) {
    this.udpIdleMs = deps.udpIdleMs ?? 60_000;
    this.maxUdpFlows = deps.maxUdpFlows ?? 1024;
  }

  get size(): number {
    return this.forwards.size;
  }

  list(): ForwardInfo[] {
    return [...this.forwards.values()].map((f) => this.info(f));
  }

  async add(req: ForwardRequest): Promise<ForwardInfo> {
    const hostIp = req.hostIp ?? '127.0.0.1';
    const guestIp = req.guestIp === undefined ? undefined : this.checkGuest(req.guestIp);
    const key = keyOf(req.proto, hostIp, req.hostPort);
    const existing = this.forwards.get(key);
    if (existing) {
      if (existing.guestIp === guestIp && existing.guestPort === req.guestPort) return this.info(existing);
      throw new HnetError('HNET_PORT_IN_USE', `host port ${hostIp}:${req.hostPort}/${req.proto} is already forwarded to ${this.info(existing).guestIp}:${existing.guestPort}`, [
        `remove it first: hnet ports remove ${hostIp}:${req.hostPort}/${req.proto}`,
      ]);
    }
    if (guestIp === undefined && this.deps.guests().length > 1) throw this.ambiguous();
    const f: Forward = { proto: req.proto, hostIp, hostPort: req.hostPort, guestIp, guestPort: req.guestPort, conns: new Set(), udpFlows: new Map() };
    try {
      if (f.proto === 'tcp') f.server = await listenTcp(hostIp, req.hostPort, (s) => this.accept(f, s));
      else {
        f.udp = await bindUdp(hostIp, req.hostPort);
        f.udp.on('message', (msg, rinfo) => this.fromClient(f, msg, rinfo.address, rinfo.port));
        f.udp.on('error', () => this.deps.counters.inc('forward.udp_host_error'));
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const holder = e.code === 'EADDRINUSE' ? await this.deps.holderOf?.(req.proto, req.hostPort) : undefined;
      throw bindError(e, req.proto, hostIp, req.hostPort, holder);
    }
    f.server?.on('error', () => this.deps.counters.inc('forward.tcp_listener_error'));
    this.forwards.set(key, f);
    this.deps.counters.inc('forward.added');
    return this.info(f);
  }

  async remove(proto: ForwardProto, hostIp: string, hostPort: number): Promise<void> {
    const key = keyOf(proto, hostIp, hostPort);
    const f = this.forwards.get(key);
    if (!f) {
      throw new HnetError('HNET_NOT_FOUND', `no forward for ${hostIp}:${hostPort}/${proto}`, ['list them: hnet ports list']);
    }
    this.forwards.delete(key);
    await this.close(f);
    this.deps.counters.inc('forward.removed');
  }

  async closeAll(): Promise<void> {
    const all = [...this.forwards.values()];
    this.forwards.clear();
    await Promise.all(all.map((f) => this.close(f)));
  }

  /** Claim a guest datagram that answers a UDP forward flow; false: not ours. */
  handleUdp(now: number, d: GuestUdp): boolean {
    if (d.dst !== this.deps.cfg.hostIp) return false;
    const flow = this.udpByEphemeral.get(d.dstPort);
    if (!flow || flow.guestIp !== d.src || flow.fwd.guestPort !== d.srcPort) return false;
    flow.lastUsed = now;
    this.deps.counters.inc('forward.udp_from_guest');
    // One copy at the host-socket boundary: the frame buffer is reused after this call.
    flow.fwd.udp?.send(Buffer.from(d.payload), flow.clientPort, flow.clientAddr);
    return true;
  }

  /** Close idle UDP flows; returns the next deadline. */
  poll(now: number): number {
    let next = Infinity;
    for (const flow of [...this.udpByEphemeral.values()]) {
      const expiry = flow.lastUsed + this.udpIdleMs;
      if (expiry <= now) this.dropFlow(flow, 'forward.udp_flows_expired');
      else next = Math.min(next, expiry);
    }
    return next;
  }

  private info(f: Forward): ForwardInfo {
    const only = this.deps.guests();
    const guestIp = f.guestIp !== undefined ? ipv4ToString(f.guestIp) : only.length === 1 ? ipv4ToString(only[0]) : 'auto';
    return { proto: f.proto, hostIp: f.hostIp, hostPort: f.hostPort, guestIp, guestPort: f.guestPort };
  }

  private checkGuest(text: string): Ipv4 {
    const { subnet, gateway, hostIp } = this.deps.cfg;
    const ip = parseIpv4(text);
    const broadcast = (subnet.network | ~prefixMask(subnet.prefix)) >>> 0;
    if (ip === undefined || !cidrContains(subnet, ip) || ip === gateway || ip === hostIp || ip === subnet.network || ip === broadcast) {
      const known = this.deps.guests().map(ipv4ToString);
      throw new HnetError('HNET_UNKNOWN_GUEST', `${text} is not a guest address (guests live in ${ipv4ToString(subnet.network)}/${subnet.prefix})`, [
        known.length > 0 ? `known guests: ${known.join(', ')}` : 'start a guest first, or omit --guest to use the only guest',
      ]);
    }
    const known = this.deps.guests();
    if (known.length > 0 && !known.includes(ip)) {
      throw new HnetError('HNET_UNKNOWN_GUEST', `no guest has ${text}`, [`known guests: ${known.map(ipv4ToString).join(', ')}`]);
    }
    return ip;
  }

  private ambiguous(): HnetError {
    const known = this.deps.guests().map(ipv4ToString);
    return new HnetError('HNET_AMBIGUOUS_GUEST', `several guests are attached (${known.join(', ')}); say which one`, known.map((ip) => `--guest ${ip}`));
  }

  /** The guest a new connection goes to, or undefined (counted). */
  private target(f: Forward): Ipv4 | undefined {
    if (f.guestIp !== undefined) return f.guestIp;
    const guests = this.deps.guests();
    if (guests.length === 1) return guests[0];
    this.deps.counters.drop(guests.length === 0 ? 'forward_no_guest' : 'forward_ambiguous_guest');
    return undefined;
  }

  private accept(f: Forward, s: net.Socket): void {
    s.on('error', () => undefined);
    const guest = this.target(f);
    if (guest === undefined) return void s.resetAndDestroy();
    this.deps.counters.inc('forward.tcp_connections');
    f.conns.add(s);
    s.once('close', () => f.conns.delete(s));
    this.deps.openTcp(guest, f.guestPort, s);
  }

  private fromClient(f: Forward, msg: Buffer, addr: string, port: number): void {
    const key = `${addr}:${port}`;
    let flow = f.udpFlows.get(key);
    const now = this.deps.clock();
    if (!flow) {
      const guest = this.target(f);
      const ephemeral = guest === undefined ? 0 : this.freeEphemeral();
      if (guest === undefined) return;
      if (ephemeral === 0) return this.deps.counters.drop('forward_udp_no_port');
      if (f.udpFlows.size >= this.maxUdpFlows) this.evictOldest(f);
      flow = { fwd: f, clientAddr: addr, clientPort: port, guestIp: guest, ephemeral, lastUsed: now };
      f.udpFlows.set(key, flow);
      this.udpByEphemeral.set(ephemeral, flow);
      this.deps.counters.inc('forward.udp_flows_opened');
    }
    flow.lastUsed = now;
    this.deps.counters.inc('forward.udp_to_guest');
    this.deps.sendUdp(this.deps.cfg.hostIp, flow.ephemeral, flow.guestIp, f.guestPort, msg);
  }

  private freeEphemeral(): number {
    for (let i = 0; i < 16384; i++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p >= 65535 ? 49152 : p + 1;
      if (!this.udpByEphemeral.has(p)) return p;
    }
    return 0;
  }

  private evictOldest(f: Forward): void {
    let oldest: UdpFlow | undefined;
    for (const fl of f.udpFlows.values()) if (!oldest || fl.lastUsed < oldest.lastUsed) oldest = fl;
    if (oldest) this.dropFlow(oldest, 'forward.udp_flows_evicted');
  }

  private dropFlow(flow: UdpFlow, counter: string): void {
    flow.fwd.udpFlows.delete(`${flow.clientAddr}:${flow.clientPort}`);
    this.udpByEphemeral.delete(flow.ephemeral);
    this.deps.counters.inc(counter);
  }

  private async close(f: Forward): Promise<void> {
    for (const flow of [...f.udpFlows.values()]) this.dropFlow(flow, 'forward.udp_flows_closed');
    for (const s of f.conns) s.destroy();
    f.conns.clear();
    if (f.server) await new Promise<void>((res) => f.server!.close(() => res()));
    if (f.udp) await new Promise<void>((res) => f.udp!.close(() => res()));
  }
}
