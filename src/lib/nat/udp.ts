/**
 * UDP from guests to the world through host sockets (DESIGN §2).
 *
 * One host socket per guest source endpoint (guest IP, port): full-cone, so
 * replies from any remote reach the guest. While a flow talks to a single
 * destination its socket is connect()ed, because Linux reports ICMP port
 * unreachable (ECONNREFUSED) only on connected UDP sockets; the first
 * datagram to a second destination disconnects it (full-cone wins, refusals
 * are then no longer seen). ECONNREFUSED becomes ICMP port unreachable to the
 * guest, quoting its last datagram (RFC 792, RFC 1122 §4.1.3.3).
 * Flows idle for `idleMs` (60 s) are closed; past `maxFlows` the least
 * recently used flow is evicted.
 */
import dgram from 'node:dgram';
import type { Counters } from '../counters.js';
import { ipv4ToString, parseIpv4, type Ipv4 } from '../wire/addr.js';
import type { GuestUdp, Interface } from '../iface/interface.js';
import { egressFor, guestViewOf } from './egress.js';

/** IPv4 header with options (60) + 8 bytes of UDP (RFC 792). */
const QUOTE_MAX = 68;

export interface UdpNatOptions {
  idleMs?: number;
  maxFlows?: number;
}

interface UdpFlow {
  key: number;
  guestIp: Ipv4;
  guestPort: number;
  socket: dgram.Socket;
  ready: boolean;
  queue: Array<{ data: Buffer; host: string; port: number }>;
  /** Destination while the socket is connected; null once the flow is full-cone. */
  connectedTo: { host: string; port: number; guestDst: Ipv4 } | null;
  singleDestination: boolean;
  /** The last datagram's IP header + 8 bytes (reused buffer), for an ICMP error about it. */
  lastQuote: Buffer;
  lastQuoteLen: number;
  lastUsed: number;
  bytesIn: number;
  bytesOut: number;
}

export class UdpNat {
  private readonly flows = new Map<number, UdpFlow>();
  private readonly idleMs: number;
  private readonly maxFlows: number;

  constructor(
    private readonly iface: Interface,
    private readonly counters: Counters,
    private readonly clock: () => number,
    opts: UdpNatOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? 60_000;
    this.maxFlows = opts.maxFlows ?? 4096;
  }

  get size(): number {
    return this.flows.size;
  }

  handle(now: number, d: GuestUdp): void {
    const egress = egressFor(this.iface.cfg, d.dst);
    if (!egress.ok) {
      this.counters.drop(`udp_${egress.reason}`);
      this.iface.icmp.unreachable(d.src, this.iface.cfg.gateway, egress.reason === 'martian' ? 1 : 13, d.quote);
      return;
    }
    const key = d.src * 65536 + d.srcPort;
    let flow = this.flows.get(key);
    if (!flow) flow = this.open(key, d, egress.hostAddress, now);
    flow.lastUsed = now;
    flow.lastQuoteLen = d.quote.copy(flow.lastQuote, 0, 0, Math.min(d.quote.length, flow.lastQuote.length));
    // One copy, at the host-socket boundary: the frame buffer is reused after this call.
    const data = Buffer.from(d.payload);
    flow.bytesOut += data.length;
    this.counters.inc('udp.tx_datagrams');
    if (!flow.ready) {
      if (flow.queue.length < 64) flow.queue.push({ data, host: egress.hostAddress, port: d.dstPort });
      else this.counters.drop('udp_queue_full');
      return;
    }
    this.sendOn(flow, data, egress.hostAddress, d.dstPort);
  }

  private open(key: number, d: GuestUdp, host: string, now: number): UdpFlow {
    if (this.flows.size >= this.maxFlows) this.evictOldest();
    const socket = dgram.createSocket({ type: 'udp4' });
    const flow: UdpFlow = {
      key,
      guestIp: d.src,
      guestPort: d.srcPort,
      socket,
      ready: false,
      queue: [],
      connectedTo: null,
      singleDestination: true,
      lastQuote: Buffer.alloc(QUOTE_MAX),
      lastQuoteLen: 0,
      lastUsed: now,
      bytesIn: 0,
      bytesOut: 0,
    };
    this.flows.set(key, flow);
    this.counters.inc('udp.flows_opened');
    socket.on('message', (msg, rinfo) => this.fromHost(flow, msg, rinfo.address, rinfo.port));
    socket.on('error', (err: NodeJS.ErrnoException) => this.onError(flow, err));
    socket.connect(d.dstPort, host, () => {
      flow.connectedTo = { host, port: d.dstPort, guestDst: d.dst };
      flow.ready = true;
      const queued = flow.queue;
      flow.queue = [];
      for (const q of queued) this.sendOn(flow, q.data, q.host, q.port);
    });
    return flow;
  }

  private sendOn(flow: UdpFlow, data: Buffer, host: string, port: number): void {
    const c = flow.connectedTo;
    if (c && (c.host !== host || c.port !== port)) {
      // A second destination: become full-cone (see the module comment).
      flow.socket.disconnect();
      flow.connectedTo = null;
      flow.singleDestination = false;
    }
    if (flow.connectedTo) flow.socket.send(data);
    else flow.socket.send(data, port, host);
  }

  private fromHost(flow: UdpFlow, msg: Buffer, address: string, port: number): void {
    if (!this.flows.has(flow.key)) return;
    flow.lastUsed = this.clock();
    flow.bytesIn += msg.length;
    this.counters.inc('udp.rx_datagrams');
    const src = parseIpv4(guestViewOf(this.iface.cfg, address));
    if (src === undefined) return this.counters.drop('udp_bad_remote');
    this.iface.sendUdp(src, port, flow.guestIp, flow.guestPort, msg);
  }

  private onError(flow: UdpFlow, err: NodeJS.ErrnoException): void {
    if (err.code === 'ECONNREFUSED' && flow.connectedTo) {
      this.counters.inc('udp.refused');
      this.iface.icmp.unreachable(flow.guestIp, flow.connectedTo.guestDst, 3 /* port unreachable */, flow.lastQuote.subarray(0, flow.lastQuoteLen));
      return;
    }
    this.counters.inc(`udp.host_error.${(err.code ?? 'unknown').toLowerCase()}`);
    if (err.code === 'EMSGSIZE' || err.code === 'ENETUNREACH' || err.code === 'EHOSTUNREACH' || err.code === 'ECONNREFUSED') return;
    this.close(flow);
  }

  private evictOldest(): void {
    let oldest: UdpFlow | undefined;
    for (const f of this.flows.values()) if (!oldest || f.lastUsed < oldest.lastUsed) oldest = f;
    if (oldest) {
      this.counters.inc('udp.flows_evicted');
      this.close(oldest);
    }
  }

  private close(flow: UdpFlow): void {
    if (!this.flows.delete(flow.key)) return;
    this.counters.inc('udp.flows_closed');
    try {
      flow.socket.close();
    } catch {
      /* already closed */
    }
  }

  /** Close idle flows; returns the next deadline. */
  poll(now: number): number {
    let next = Infinity;
    for (const f of this.flows.values()) {
      const expiry = f.lastUsed + this.idleMs;
      if (expiry <= now) this.close(f);
      else next = Math.min(next, expiry);
    }
    return next;
  }

  connections(): Array<{ proto: 'udp'; guest: string; remote: string; state: string; bytesIn: number; bytesOut: number }> {
    return [...this.flows.values()].map((f) => ({
      proto: 'udp',
      guest: `${ipv4ToString(f.guestIp)}:${f.guestPort}`,
      remote: f.connectedTo ? `${f.connectedTo.host}:${f.connectedTo.port}` : '*',
      state: f.singleDestination ? 'connected' : 'full-cone',
      bytesIn: f.bytesIn,
      bytesOut: f.bytesOut,
    }));
  }

  closeAll(): void {
    for (const f of [...this.flows.values()]) this.close(f);
  }
}
