/**
 * ICMP echo from guests to addresses beyond the gateway: each (guest, ident,
 * destination) becomes one host ICMP socket (icmp-socket.ts). Raw sockets see
 * every echo reply from the peer, so the request goes out with an identifier
 * of ours and replies are matched and mapped back to the guest's identifier
 * and sequence number (RFC 792). Idle flows close after 30 s.
 */
import type { Counters } from '../counters.js';
import { ipv4ToString, type Ipv4 } from '../wire/addr.js';
import type { GuestEcho, Interface } from '../iface/interface.js';
import { egressFor } from './egress.js';
import { openIcmpSocket, type IcmpSocket } from './icmp-socket.js';
import { emitIcmpv4, icmpv4Len, type Icmpv4Repr } from '../wire/icmpv4.js';

const IDLE_MS = 30_000;
const MAX_FLOWS = 1024;

interface EchoFlow {
  key: string;
  guestIp: Ipv4;
  guestIdent: number;
  /** What the guest addressed (the host address stays the host address in replies). */
  guestDst: Ipv4;
  hostIdent: number;
  socket: IcmpSocket;
  lastUsed: number;
}

export class IcmpNat {
  private readonly flows = new Map<string, EchoFlow>();
  private nextIdent = (Math.random() * 0xffff) | 0;

  constructor(
    private readonly iface: Interface,
    private readonly counters: Counters,
    private readonly clock: () => number,
  ) {}

  handle(now: number, e: GuestEcho): void {
    const egress = egressFor(this.iface.cfg, e.dst);
    if (!egress.ok) {
      this.counters.drop(`icmp_${egress.reason}`);
      return;
    }
    const key = `${e.src}/${e.ident}/${e.dst}`;
    let flow = this.flows.get(key);
    if (!flow) {
      if (this.flows.size >= MAX_FLOWS) return this.counters.drop('icmp_flow_limit');
      try {
        flow = this.open(key, e, egress.hostAddress, now);
      } catch (err) {
        this.counters.inc(`icmp.host_error.${((err as NodeJS.ErrnoException).code ?? 'unknown').toLowerCase()}`);
        return;
      }
    }
    flow.lastUsed = now;
    // Raw sockets see every reply from the peer: ours carry our identifier, mapped back in fromHost.
    const ident = flow.socket.kind === 'raw' ? flow.hostIdent : e.ident;
    const repr: Icmpv4Repr = { kind: 'echoRequest', ident, seqNo: e.seqNo, data: e.data };
    const msg = Buffer.allocUnsafe(icmpv4Len(repr));
    emitIcmpv4(repr, msg, 0);
    if (flow.socket.send(msg)) this.counters.inc('icmp.echo_sent');
    else this.counters.drop('icmp_send_failed');
  }

  private open(key: string, e: GuestEcho, host: string, now: number): EchoFlow {
    this.nextIdent = (this.nextIdent + 1) & 0xffff;
    const flow: EchoFlow = { key, guestIp: e.src, guestIdent: e.ident, guestDst: e.dst, hostIdent: this.nextIdent, socket: null as unknown as IcmpSocket, lastUsed: now };
    flow.socket = openIcmpSocket(host, (data) => this.fromHost(flow, data));
    this.flows.set(key, flow);
    this.counters.inc('icmp.flows_opened');
    return flow;
  }

  private fromHost(flow: EchoFlow, data: Buffer): void {
    let icmp = data;
    if (flow.socket.kind === 'raw') {
      if (data.length < 20) return;
      icmp = data.subarray((data[0] & 0x0f) * 4);
    }
    if (icmp.length < 8 || icmp[0] !== 0 /* echo reply */) return;
    if (flow.socket.kind === 'raw' && icmp.readUInt16BE(4) !== flow.hostIdent) return;
    flow.lastUsed = this.clock();
    this.counters.inc('icmp.echo_replies');
    this.iface.icmp.echoReply(flow.guestDst, flow.guestIp, flow.guestIdent, icmp.readUInt16BE(6), icmp.subarray(8));
  }

  poll(now: number): number {
    let next = Infinity;
    for (const f of this.flows.values()) {
      if (f.lastUsed + IDLE_MS <= now) this.close(f);
      else next = Math.min(next, f.lastUsed + IDLE_MS);
    }
    return next;
  }

  private close(f: EchoFlow): void {
    if (!this.flows.delete(f.key)) return;
    f.socket.close();
  }

  closeAll(): void {
    for (const f of [...this.flows.values()]) this.close(f);
  }

  get size(): number {
    return this.flows.size;
  }

  describe(): string[] {
    return [...this.flows.values()].map((f) => `${ipv4ToString(f.guestIp)} -> ${ipv4ToString(f.guestDst)}`);
  }
}
