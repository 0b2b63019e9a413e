/**
 * Guest TCP through host sockets (DESIGN §2): the heart of VPN passthrough.
 *
 * On a guest SYN we connect() to the real destination first and complete the
 * guest's handshake only on success: RST on refusal, ICMP unreachable on a
 * timeout or an unroutable destination. Duplicate SYNs while connecting are
 * absorbed; at most `maxConnecting` connects are in flight (extra SYNs are
 * dropped and counted; the guest retransmits them).
 *
 * The relay keeps every buffer bounded (RFC 9293 flow control end to end):
 * guest data is read out of the TCP socket only while the host socket accepts
 * writes, so a host that stops draining closes the window the guest sees; host
 * data is queued in the TCP socket only while its send buffer has room, else
 * the host socket is paused. FIN, RST and errors are mapped both ways.
 * Established flows have no idle reaper: they live as long as both ends.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Counters } from '../counters.js';
import { ipv4ToString, type Ipv4 } from '../wire/addr.js';
import { TcpFlags, type TcpRepr } from '../wire/tcp.js';
import { ipv4Quote } from '../wire/ipv4.js';
import type { GuestTcp, Interface } from '../iface/interface.js';
import type { Pollable, Scheduler } from '../daemon/scheduler.js';
import { TcpSocket, TcpState, rstForUnexpected, type TcpSocketConfig } from '../socket/tcp/index.js';
import { SlabPool } from '../socket/tcp/slab-pool.js';
import { HOST_READ_BUFFER, HostRxSlabs } from './host-rx.js';
import { DuplexHost, type HostStream } from './host-stream.js';
import { RawTcpHost } from './raw-tcp.js';
import { egressFor } from './egress.js';
import { ChurnMap } from '../churn-map.js';
import { TimeWaitTable } from './time-wait.js';
import { FourTupleTable } from './four-tuple-table.js';

export interface TcpNatOptions {
  connectTimeoutMs?: number;
  maxConnecting?: number;
  /** Receive and send buffer per connection (bytes). */
  bufferBytes?: number;
  /** Source ports on the host address for port forwards, inclusive (default the IANA dynamic range, RFC 6335 §6). */
  forwardPorts?: readonly [number, number];
  /** TIME-WAIT toward the guest, 2*MSL (default 60 s, RFC 9293 §3.4.2). */
  timeWaitMs?: number;
  /** Connections kept in TIME-WAIT at most (time-wait.ts); default MAX_TIME_WAIT. */
  maxTimeWait?: number;
}

/** A local service on the gateway (DNS over TCP, the HTTP proxy): a fresh Duplex per connection. */
export type GatewayService = (info: { guest: string }) => Duplex;

/** A guest flow's destination as the host would reach it (after egress mapping), for TcpNat.intercept. */
export interface InterceptTarget {
  address: string;
  port: number;
}

type FlowState = 'connecting' | 'open' | 'closed';

/**
 * The guest is on a virtual link with sub-millisecond RTT: Linux's 200 ms
 * floor (RFC 6298 §2.4 says 1 s) turns every tail loss the probe (RFC 8985
 * TLP) misses into a long stall; much lower floors fire spuriously when the
 * daemon is descheduled on a loaded host. 100 ms measured best here.
 */
const MIN_RTO_MS = 100;
const COALESCE_BYTES = 64 * 1024;
/**
 * Receive and send buffer per connection (each an upper bound: slabs are taken
 * as data is queued). A link whose segments are at most ~1.5 KiB gets 1 MiB;
 * one that moves ~64 KiB per segment (a jumbo MTU, or TCP super-segments
 * toward a tap with offload) gets 4 MiB. With 1 MiB a super-segment link at
 * MTU 1500 kept stopping the host socket: host-to-guest iperf3, 4 interleaved
 * 3 s runs, 11.4 against 13.9 Gbit/s and 0.69 against 0.55 CPU s/GB, through
 * a port forward 11.4 against 14.7 Gbit/s.
 */
const SMALL_SEGMENT_BUFFER = 1024 * 1024;
const LARGE_SEGMENT_BUFFER = 4 * 1024 * 1024;
/** Bytes queued in a host socket's user-space buffer before we stop reading from the guest. */
const HOST_WRITE_BUDGET = 512 * 1024;
/** Slabs shared by every relayed flow, both directions (slab-pool.ts: up to 64 MiB kept for reuse while bulk data moves, 1 MiB once idle). */
const RX_SLABS = new SlabPool(1024, 16);
const COALESCE_MS = 1;
/** Fills a write slot once written, so the batch keeps no guest bytes alive. */
const NO_CHUNK = Buffer.alloc(0);
/** Payload of a segment or host read that is bulk data, not a request or a reply (busy-poll.ts). */
const BULK_SEGMENT = 1024;
/**
 * A port forward's source port whose flow has been in TIME-WAIT this long is
 * taken for a new connection, as Linux reuses TIME-WAIT for outgoing
 * connections after 1 s (tcp_tw_reuse). The daemon closed first, so the
 * guest holds no state for the old connection, and the link to it keeps no
 * old segment that long. Held for the full 2*MSL (60 s, RFC 9293 §3.4.2),
 * the 16384 ports ran out at 16384 short connections a minute: measured,
 * host-side short connections through a forward at ~2000/s were reset from
 * the 16385th on (tcp_forward_no_port).
 */
const TIME_WAIT_REUSE_MS = 1000;
/**
 * TIME-WAIT entries kept at most (time-wait.ts, about 220 bytes each, so 28
 * MiB when full): the whole 60 s of ~2200 connections a second that the host
 * side closed first. Linux sizes its tcp_max_tw_buckets by memory, 262144 on
 * a machine with a few GiB.
 */
const MAX_TIME_WAIT = 131072;
const ignore = (): void => undefined;

class TcpFlow implements Pollable {
  state: FlowState = 'connecting';
  /** The next flow with the same ports in TcpNat's table. */
  nextInBucket: TcpFlow | undefined = undefined;
  host: HostStream | null = null;
  hostBlocked = false;
  hostEnded = false;
  peerFin = false;
  bytesIn = 0;
  bytesOut = 0;
  connectTimer: NodeJS.Timeout | null = null;
  /** The guest's SYN (IP header + 8 bytes) for an ICMP error about it. */
  synQuote: Buffer | null = null;
  /** Guest data waits to be written to the host: done once per event-loop turn, coalesced. */
  wantPump = false;
  pump: (() => void) | null = null;
  /** Writes this flow's segments toward the guest; one closure per flow, not per poll. */
  readonly emit: (seg: TcpRepr) => void;
  /** Host data in recycled slabs (host-rx.ts), for a kernel host socket. */
  rxSlabs: HostRxSlabs | null = null;
  /** The TCP socket refused more host data: the host socket stays paused until onSendSpace. */
  sendFull = false;
  /** Queue one view of host data on the TCP socket; one closure per flow. */
  readonly queueHostData = (view: Buffer): void => {
    if (!this.sock.send(view)) this.sendFull = true;
  };

  constructor(
    readonly nat: TcpNat,
    readonly guestIp: Ipv4,
    readonly guestPort: number,
    readonly dstIp: Ipv4,
    readonly dstPort: number,
    readonly sock: TcpSocket,
  ) {
    this.emit = nat.emitFor(this);
  }

  /** When guest data held for coalescing must be written anyway (0: none held). */
  coalesceUntil = 0;

  /** The scheduler caught an exception from this flow: reset both ends and forget it. */
  onInternalError(): void {
    this.nat.fail(this);
  }

  /**
   * Receive slabs (slab-pool.ts) go back once the host socket holds nothing:
   * every byte read so far has been handed to the kernel and no reference is
   * kept (host-stream.ts). A write callback per pump would cost a tick each time.
   */
  releaseWritten(): void {
    if (this.host && this.host.pendingBytes === 0) this.sock.releaseRead(this.sock.readMark);
  }

  poll(now: number): number {
    // Slabs of host data the guest has acknowledged are free again, and of guest data written to the host.
    if (this.rxSlabs) {
      this.rxSlabs.release(this.sock.ackedMark);
      this.releaseWritten();
    }
    if (this.pump && (this.wantPump || (this.coalesceUntil !== 0 && now >= this.coalesceUntil))) this.pump();
    this.sock.dispatch(now, this.emit);
    if (this.sock.state === TcpState.TIME_WAIT && this.nat.retire(this)) return Infinity;
    const next = this.sock.pollAt();
    return this.coalesceUntil !== 0 ? Math.min(next, this.coalesceUntil) : next;
  }
}

export class TcpNat {
  /**
   * Flows by four-tuple (four-tuple-table.ts), over a ChurnMap, so a closed
   * flow is not kept for the young-generation GC by a table the Map
   * abandoned (churn-map.ts).
   */
  private readonly flows = new FourTupleTable<TcpFlow>(new ChurnMap<number, TcpFlow>());
  /** Flows that ended in TIME-WAIT, kept as a few numbers each (time-wait.ts). */
  private readonly timeWait: TimeWaitTable;
  private connecting = 0;
  private readonly connectTimeoutMs: number;
  private readonly maxConnecting: number;
  private readonly socketConfig: TcpSocketConfig;
  /** One object, so every flow shares its resolved defaults (types.ts resolveConfig). */
  private readonly tsoConfig: TcpSocketConfig;
  readonly services = new Map<number, GatewayService>();
  /**
   * Transparent proxying (start --transparent-proxy): may claim a guest flow to
   * a non-gateway destination, which is then served like a gateway service
   * (handshake completed at once, no host connect by the NAT).
   */
  intercept: ((dst: InterceptTarget) => GatewayService | undefined) | null = null;
  private hostSockets = 0;
  /**
   * The chunks of one host write (pumps run one at a time: one array for all
   * flows). Slots are overwritten, never truncated: `length = 0` dropped the
   * backing store, and the next push allocated a new one, on every write.
   */
  private readonly writeBatch: Buffer[] = [];
  /** The common write of one chunk, passed without building an array. */
  private readonly oneChunk: Buffer[] = [NO_CHUNK];

  constructor(
    private readonly iface: Interface,
    private readonly counters: Counters,
    private readonly scheduler: Scheduler,
    opts: TcpNatOptions = {},
  ) {
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.maxConnecting = opts.maxConnecting ?? 256;
    [this.firstForwardPort, this.lastForwardPort] = opts.forwardPorts ?? [49152, 65535];
    this.nextEphemeral = this.firstForwardPort;
    const buffer = opts.bufferBytes ?? (iface.cfg.mtu > 9000 ? LARGE_SEGMENT_BUFFER : SMALL_SEGMENT_BUFFER);
    const timeWaitMs = opts.timeWaitMs ?? 60_000;
    this.socketConfig = { mss: iface.cfg.mtu - 40, rcvBuf: buffer, sndBuf: buffer, minRtoMs: MIN_RTO_MS, timeWaitMs };
    this.timeWait = new TimeWaitTable(scheduler, counters, {
      durationMs: timeWaitMs,
      max: opts.maxTimeWait ?? MAX_TIME_WAIT,
      send: (src, dst, seg) => iface.sendTcp(src, dst, seg),
    });
    // 65535 total length - 20 IP header - 60 TCP header with the most options.
    // Super-segments move data in ~64 KiB pieces whatever the MTU: buffer as for a jumbo MTU.
    const tsoBuffer = opts.bufferBytes ?? LARGE_SEGMENT_BUFFER;
    this.tsoConfig = { ...this.socketConfig, rcvBuf: tsoBuffer, sndBuf: tsoBuffer, maxSegmentBytes: 65535 - 20 - 60, gatherPayload: true };
  }

  /** Open host sockets right now (for leak checks and status). */
  get openHostSockets(): number {
    return this.hostSockets;
  }

  /** Flows open or closing; those in TIME-WAIT are `timeWaitCount`. */
  get size(): number {
    return this.flows.size;
  }

  /** Connections in TIME-WAIT toward the guest (hnet closed first). */
  get timeWaitCount(): number {
    return this.timeWait.size;
  }

  emitFor(flow: TcpFlow): (seg: TcpRepr) => void {
    return (seg) => this.iface.sendTcp(flow.dstIp, flow.guestIp, seg, flow.sock.gsoSize);
  }

  /** Toward a guest on a TSO link (tap offload), data goes out in super-segments up to the IPv4 maximum. */
  private configFor(guestIp: Ipv4): TcpSocketConfig {
    return this.iface.tsoFor(guestIp) ? this.tsoConfig : this.socketConfig;
  }

  handle(now: number, t: GuestTcp): void {
    const seg = t.seg;
    const flow = this.flows.find(t.src, seg.srcPort, t.dst, seg.dstPort);
    if (flow) {
      if (flow.state === 'connecting') {
        if (seg.flags & TcpFlags.RST) return this.abandon(flow, 'guest_rst_while_connecting');
        return this.counters.inc('tcp.duplicate_syn');
      }
      flow.sock.process(now, seg);
      if (seg.payload.length >= BULK_SEGMENT) this.scheduler.busyPoll?.bulk();
      this.coalesce(flow, seg, now);
      this.scheduler.markDirty(flow);
      return;
    }
    let iss: number | undefined;
    if (this.timeWait.size !== 0) {
      const tw = this.timeWait.find(t.src, seg.srcPort, t.dst, seg.dstPort);
      if (tw !== undefined) {
        if (!this.timeWait.reopens(now, tw, seg)) return;
        iss = tw.reopenIss;
      }
    }
    const isSyn = (seg.flags & (TcpFlags.SYN | TcpFlags.ACK | TcpFlags.RST)) === TcpFlags.SYN;
    if (!isSyn) return this.resetUnexpected(t);
    this.openFlow(now, t, iss);
  }

  /** `iss`: our initial sequence number when the SYN reopens a 4-tuple in TIME-WAIT. */
  private openFlow(now: number, t: GuestTcp, iss?: number): void {
    const seg = t.seg;
    const toGateway = t.dst === this.iface.cfg.gateway;
    const service = toGateway ? this.services.get(seg.dstPort) : undefined;
    if (toGateway && !service) {
      this.counters.drop('tcp_gateway_no_service');
      return this.resetUnexpected(t);
    }
    const egress = toGateway ? ({ ok: true, hostAddress: '' } as const) : egressFor(this.iface.cfg, t.dst);
    if (!egress.ok) {
      this.counters.drop(`tcp_${egress.reason}`);
      return this.resetUnexpected(t);
    }
    if (!toGateway && this.connecting >= this.maxConnecting) return this.counters.drop('tcp_connect_limit');
    const claimed = !toGateway && this.intercept ? this.intercept({ address: egress.hostAddress, port: seg.dstPort }) : undefined;
    const sock = TcpSocket.fromSyn(now, { addr: t.dst, port: seg.dstPort }, { addr: t.src, port: seg.srcPort }, seg, this.configFor(t.src), iss);
    const flow = new TcpFlow(this, t.src, seg.srcPort, t.dst, seg.dstPort, sock);
    flow.synQuote = Buffer.from(ipv4Quote(t.datagram));
    this.flows.insert(flow);
    this.counters.inc('tcp.flows_opened');
    const local = service ?? claimed;
    if (local) {
      if (claimed) this.counters.inc('tcp.intercepted');
      this.attachHost(flow, new DuplexHost(local({ guest: `${ipv4ToString(t.src)}:${seg.srcPort}` }), this.scheduler));
      this.established(flow);
      return;
    }
    this.connecting++;
    this.hostSockets++;
    const host = new RawTcpHost(egress.hostAddress, seg.dstPort, {
      connected: (err) => {
        if (err) return this.connectFailed(flow, err);
        this.doneConnecting(flow);
        if (flow.state !== 'connecting') return;
        this.attachHost(flow, host);
        this.established(flow);
      },
      handleClosed: () => this.hostSockets--,
      batch: this.scheduler,
    });
    flow.host = host;
    flow.connectTimer = setTimeout(() => this.connectFailed(flow, 'ETIMEDOUT'), this.connectTimeoutMs);
  }

  /**
   * Port forwards (DESIGN §2): an active open from the host address toward the
   * guest for an accepted host connection. The flow is keyed like a guest flow
   * (src guest:guestPort, dst hostIp:ephemeral) and relayed by the same code.
   * A refusal (RST in SYN-SENT) or a handshake timeout resets `host`.
   * Returns false when no ephemeral port is free (host is reset).
   */
  openToGuest(guestIp: Ipv4, guestPort: number, host: net.Socket): boolean {
    const hostIp = this.iface.cfg.hostIp;
    const port = this.freeEphemeral(guestIp, guestPort, hostIp);
    if (port === 0) {
      this.counters.drop('tcp_forward_no_port');
      host.resetAndDestroy();
      return false;
    }
    const now = this.scheduler.now();
    const sock = TcpSocket.connect(now, { addr: hostIp, port }, { addr: guestIp, port: guestPort }, this.configFor(guestIp));
    const flow = new TcpFlow(this, guestIp, guestPort, hostIp, port, sock);
    flow.state = 'open';
    this.flows.insert(flow);
    this.counters.inc('tcp.flows_opened');
    this.counters.inc('tcp.forward_opened');
    host.setNoDelay(true);
    this.attachHost(flow, new DuplexHost(host, this.scheduler));
    let established = false;
    sock.onEstablished = () => (established = true);
    const onReset = sock.onReset;
    sock.onReset = () => {
      if (established) return onReset?.();
      this.counters.inc('tcp.forward_refused');
      host.resetAndDestroy();
    };
    const onClosed = sock.onClosed;
    sock.onClosed = () => {
      if (!established && !host.destroyed) {
        this.counters.inc('tcp.forward_timeout');
        host.resetAndDestroy();
      }
      onClosed?.();
    };
    this.scheduler.markDirty(flow);
    return true;
  }

  private readonly firstForwardPort: number;
  private readonly lastForwardPort: number;
  private nextEphemeral: number;

  /** A source port on the host address with no live flow to guestIp:guestPort (a flow long enough in TIME-WAIT gives way). */
  private freeEphemeral(guestIp: Ipv4, guestPort: number, hostIp: Ipv4): number {
    const now = this.scheduler.now();
    for (let i = this.firstForwardPort; i <= this.lastForwardPort; i++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p >= this.lastForwardPort ? this.firstForwardPort : p + 1;
      const flow = this.flows.find(guestIp, guestPort, hostIp, p);
      if (!flow) {
        const tw = this.timeWait.size !== 0 ? this.timeWait.find(guestIp, guestPort, hostIp, p) : undefined;
        if (tw === undefined) return p;
        if (now - tw.since < TIME_WAIT_REUSE_MS) continue;
        this.counters.inc('tcp.time_wait_reused');
        this.timeWait.delete(tw);
        return p;
      }
      if (now - flow.sock.timeWaitSince >= TIME_WAIT_REUSE_MS) {
        this.counters.inc('tcp.time_wait_reused');
        this.remove(flow);
        return p;
      }
    }
    return 0;
  }

  /**
   * Bytes from the host, buf[0, n); false pauses the host until onSendSpace.
   * A kernel socket's bytes sit in a shared read buffer and are copied into
   * recycled slabs (host-rx.ts); a service's chunks are queued as they are.
   */
  private fromHost(flow: TcpFlow, buf: Buffer, n: number): boolean {
    if (n <= 0) return true;
    if (n >= BULK_SEGMENT) this.scheduler.bulkInput();
    flow.bytesIn += n;
    if (flow.rxSlabs) flow.rxSlabs.copyIn(buf, n, flow.queueHostData);
    else flow.queueHostData(n === buf.length ? buf : buf.subarray(0, n));
    this.scheduler.markDirty(flow);
    return !flow.sendFull;
  }

  private established(flow: TcpFlow): void {
    flow.state = 'open';
    flow.sock.accept(this.scheduler.now());
    this.scheduler.markDirty(flow);
  }

  private doneConnecting(flow: TcpFlow): void {
    if (flow.connectTimer) clearTimeout(flow.connectTimer);
    flow.connectTimer = null;
    this.connecting--;
  }

  private connectFailed(flow: TcpFlow, code: string): void {
    if (flow.state !== 'connecting') return;
    if (flow.connectTimer) this.doneConnecting(flow);
    this.counters.inc(`tcp.connect_failed.${code.toLowerCase()}`);
    flow.host?.destroy();
    if (code === 'ECONNREFUSED') {
      // RFC 9293 §3.10.7.1 semantics toward the guest: the port is closed.
      const rst = flow.sock.refuse();
      this.iface.sendTcp(flow.dstIp, flow.guestIp, rst);
      this.counters.inc('tcp.rst_sent');
      this.remove(flow);
      return;
    }
    // Timeout or no route: ICMP destination unreachable (RFC 1122 §4.2.3.9: the guest reports it).
    const codeIcmp = code === 'ENETUNREACH' ? 0 : 1;
    if (flow.synQuote) this.iface.icmp.unreachable(flow.guestIp, this.iface.cfg.gateway, codeIcmp, flow.synQuote);
    flow.state = 'closed';
    this.remove(flow);
  }

  private attachHost(flow: TcpFlow, host: HostStream): void {
    flow.host = host;
    const sock = flow.sock;
    if (host.kernel) {
      sock.useSlabPool(RX_SLABS);
      flow.rxSlabs = new HostRxSlabs(RX_SLABS);
    }
    // Everything the guest sent in one batch of frames goes out in one writev:
    // a syscall per segment would cap throughput. Up to HOST_WRITE_BUDGET may
    // wait in the host stream before the guest's window closes.
    const batch = this.writeBatch;
    const one = this.oneChunk;
    flow.pump = () => {
      flow.wantPump = false;
      flow.coalesceUntil = 0;
      while (!flow.hostBlocked) {
        let bytes = 0;
        let k = 0;
        while (host.pendingBytes + bytes < HOST_WRITE_BUDGET) {
          const chunk = sock.read();
          if (!chunk) break;
          batch[k++] = chunk;
          bytes += chunk.length;
        }
        if (k === 0) break;
        if (k === 1) {
          one[0] = batch[0];
          host.write(one);
        } else host.write(batch.slice(0, k));
        one[0] = NO_CHUNK;
        for (let i = 0; i < k; i++) batch[i] = NO_CHUNK;
        flow.bytesOut += bytes;
        if (host.pendingBytes >= HOST_WRITE_BUDGET) flow.hostBlocked = true;
      }
      if (host.kernel) flow.releaseWritten();
      if (flow.peerFin && !flow.hostEnded && sock.readableBytes === 0) {
        flow.hostEnded = true;
        host.end();
      }
    };
    const pumpSoon = () => {
      flow.wantPump = true;
      this.scheduler.markDirty(flow); // the pump runs before dispatch, so a window update goes out with it
    };
    // Arriving data is written by coalesce() rules; services (no PSH semantics needed) get it at once.
    sock.onReadable = host.kernel ? ignore : pumpSoon;
    sock.onPeerFin = () => {
      flow.peerFin = true;
      pumpSoon();
    };
    sock.onSendSpace = () => {
      flow.sendFull = false;
      host.resume();
    };
    sock.onReset = () => {
      // The guest reset the connection, or we gave up retransmitting to it (RFC 9293 §3.8.3 R2).
      this.counters.inc(sock.closeReason === 'timeout' ? 'tcp.retransmit_give_ups' : 'tcp.resets');
      host.destroy();
    };
    sock.onClosed = () => this.remove(flow);
    host.attach({
      // Called inside the host's input bracket (RawTcpHost, DuplexHost: scheduler.ts).
      data: (buf, n) => this.fromHost(flow, buf, n),
      // Bulk reads land straight in the flow's slabs (host-rx.ts).
      readBuffer: (n) => (flow.rxSlabs ? flow.rxSlabs.nextReadBuffer(n) : HOST_READ_BUFFER),
      drain: () => {
        flow.hostBlocked = false;
        pumpSoon();
      },
      end: () => {
        flow.rxSlabs?.end();
        sock.shutdownWrite();
        this.scheduler.markDirty(flow);
      },
      error: (code) => {
        this.counters.inc(`tcp.host_error.${code.toLowerCase()}`);
        sock.abort();
        this.scheduler.markDirty(flow);
      },
      close: () => {
        flow.rxSlabs?.end();
        // A flow in TIME-WAIT that waited for this host to take its last bytes can now retire.
        if (flow.state !== 'closed' && sock.state === TcpState.TIME_WAIT) this.scheduler.markDirty(flow);
        // Every write has completed or been cancelled: no byte read from the guest is referenced.
        if (host.kernel) sock.releaseAllRead();
        // Closed without an orderly end (destroyed by its side): the guest learns by RST.
        if (flow.state === 'open' && !host.readEnded && sock.state !== TcpState.CLOSED) {
          this.counters.inc('tcp.host_closed_abruptly');
          sock.abort();
          this.scheduler.markDirty(flow);
        }
      },
    });
  }

  /**
   * Guest data is written to the host in large writes, like GRO does for a
   * NIC: right away when the guest marked a push point (PSH, RFC 9293 §3.9.1.2:
   * the end of one of its writes), at FIN, or once COALESCE_BYTES are waiting;
   * otherwise within COALESCE_MS. One host syscall per segment would cap throughput.
   */
  private coalesce(flow: TcpFlow, seg: TcpRepr, now: number): void {
    const waiting = flow.sock.readableBytes;
    if (waiting === 0) return;
    if (seg.flags & (TcpFlags.PSH | TcpFlags.FIN) || waiting >= COALESCE_BYTES) {
      flow.wantPump = true;
    } else if (flow.coalesceUntil === 0) {
      flow.coalesceUntil = now + COALESCE_MS;
      this.scheduler.schedule(flow, flow.coalesceUntil);
    }
  }

  private resetUnexpected(t: GuestTcp): void {
    const rst = rstForUnexpected(t.seg);
    if (!rst) return;
    this.counters.inc('tcp.rst_sent');
    this.iface.sendTcp(t.dst, t.src, rst);
  }

  /**
   * A flow in TIME-WAIT with nothing left to relay becomes a TIME-WAIT entry
   * (time-wait.ts) and the flow is dropped: its FIN has gone to the host and
   * the host has taken every byte written to it. False while it still has
   * work (the host's close polls it again); true too for a flow already gone.
   */
  retire(flow: TcpFlow): boolean {
    if (flow.state === 'closed') return true;
    const host = flow.host;
    if (!flow.hostEnded || (host !== null && !host.closed && host.pendingBytes !== 0)) return false;
    const tcb = flow.sock.timeWaitTcb;
    this.remove(flow);
    this.timeWait.add(flow.guestIp, flow.guestPort, flow.dstIp, flow.dstPort, tcb, { in: flow.bytesIn, out: flow.bytesOut });
    return true;
  }

  /** A flow whose code threw: RST the guest if we can, destroy the host socket, forget it. */
  fail(flow: TcpFlow): void {
    this.counters.inc('tcp.internal_errors');
    try {
      flow.sock.abort(); // the socket knows the sequence numbers the guest will accept an RST at
      flow.sock.dispatch(this.scheduler.now(), flow.emit);
    } catch {
      /* the socket itself is what broke: the guest's retransmissions will meet our RST for unknown flows */
    }
    if (flow.state === 'connecting') this.doneConnecting(flow);
    flow.state = 'closed';
    flow.host?.destroy();
    this.remove(flow);
  }

  private abandon(flow: TcpFlow, reason: string): void {
    this.counters.inc(`tcp.${reason}`);
    if (flow.state === 'connecting') this.doneConnecting(flow);
    flow.state = 'closed';
    flow.host?.destroy();
    this.remove(flow);
  }

  private remove(flow: TcpFlow): void {
    if (!this.flows.remove(flow)) return;
    flow.state = 'closed';
    this.scheduler.cancel(flow);
    if (flow.host && !flow.host.closed) flow.host.destroy();
    flow.rxSlabs?.dispose(); // the socket is closed: its send queue is never read again
    this.counters.inc('tcp.flows_closed');
    const st = flow.sock.stats;
    if (st.retransmits) this.counters.inc('tcp.retransmits', st.retransmits);
    if (st.fastRetransmits) this.counters.inc('tcp.fast_retransmits', st.fastRetransmits);
    if (st.timeouts) this.counters.inc('tcp.rto_timeouts', st.timeouts);
    if (st.lossProbes) this.counters.inc('tcp.loss_probes', st.lossProbes);
    if (st.sackRecoveries) this.counters.inc('tcp.sack_recoveries', st.sackRecoveries);
    if (st.lostRetransmits) this.counters.inc('tcp.lost_retransmits', st.lostRetransmits);
  }

  /**
   * The flows and TIME-WAIT entries of the moment of the first pull, each
   * described as the iteration reaches it: the control server reads this a
   * slice per event-loop turn, and the live lists change between turns (an
   * entry that expires is unlinked, which would end a walk of the list).
   * With `states`, what is in no other state is skipped undescribed.
   */
  *connections(states: ReadonlySet<string> | null = null): Generator<{ proto: 'tcp'; guest: string; remote: string; state: string; bytesIn: number; bytesOut: number }> {
    const flows = [...this.flows.all()];
    const waiting = states === null || states.has(TcpState.TIME_WAIT) ? [...this.timeWait.entries()] : [];
    // A listing has few distinct addresses and may have 100 000 entries.
    const ipText = new Map<Ipv4, string>();
    const at = (ip: Ipv4, port: number) => {
      let text = ipText.get(ip);
      if (text === undefined) ipText.set(ip, (text = ipv4ToString(ip)));
      return `${text}:${port}`;
    };
    for (const f of flows) {
      const state = f.state === 'connecting' ? 'CONNECTING' : f.sock.state;
      if (states !== null && !states.has(state)) continue;
      yield { proto: 'tcp', guest: at(f.guestIp, f.guestPort), remote: at(f.dstIp, f.dstPort), state, bytesIn: f.bytesIn, bytesOut: f.bytesOut };
    }
    for (const e of waiting) {
      yield { proto: 'tcp', guest: at(e.guestIp, e.guestPort), remote: at(e.dstIp, e.dstPort), state: TcpState.TIME_WAIT, bytesIn: e.bytesIn, bytesOut: e.bytesOut };
    }
  }

  closeAll(): void {
    for (const f of [...this.flows.all()]) this.abandon(f, 'shutdown');
    this.timeWait.clear();
  }
}
