/**
 * The daemon: owns the event loop's timers (Scheduler), the transports, the
 * interface and the NAT/service layers, and wires them together (DESIGN §2).
 * `start()` brings up every --listen transport; `stop()` closes host sockets,
 * transports (removing taps hnet created) and the pcap file. Nothing here
 * parses packets: that is iface/ and wire/.
 */
import { Counters } from '../counters.js';
import { ipv4ToString, cidrToString, macToString } from '../wire/addr.js';
import type { StackConfig } from '../iface/config.js';
import { Interface, type GuestPort } from '../iface/interface.js';
import { UdpNat } from '../nat/udp.js';
import { IcmpNat } from '../nat/icmp.js';
import { TcpNat } from '../nat/tcp.js';
import { Scheduler, type Pollable } from './scheduler.js';
import { BusyPoll, DEFAULT_BUSY_POLL_US } from './busy-poll.js';
import { runQueueWaitMs } from './run-queue-wait.js';
import type { Logger } from './log.js';
import type { HomePaths } from './home.js';
import { BaseLink, type Link, type Transport } from '../phy/link.js';
import { createTransport, parseListenUri } from '../phy/uri.js';
import { PcapWriter, withPcap } from '../phy/pcap.js';
import { withFaults, type FaultOptions } from '../phy/faults.js';
import { completedTcpCopy } from '../phy/vnet-hdr.js';
import { TapLink } from '../phy/tap.js';
import { stackOnlyTransport } from './rx-checksum.js';
import type { Writable } from 'node:stream';
import { startControlServer, type ControlServer } from './control-server.js';
import { daemonApi } from './api.js';
import type { Lease, TransportInfo } from './control-types.js';
import type { HnetConfig } from './config.js';
import { GatewayServices, DNS_PORT } from './services.js';
import { L2Switch } from '../iface/switch.js';
import { ForwardManager } from '../nat/forward.js';
import { portHolder } from '../nat/forward-bind.js';
import { run as runHost } from '../host/exec.js';
import { setupGatewayProxy, type GatewayProxy } from './proxy-state-service.js';

export interface DaemonOptions {
  cfg: StackConfig;
  /** config.json as loaded at start. */
  config: HnetConfig;
  dnsUpstreams?: Array<{ host: string; port: number }>;
  listen: string[];
  paths: HomePaths;
  log: Logger;
  pcap?: string;
  /** Called when a stdio: guest's stdin reaches end of file. */
  onStdioClosed?: () => void;
  /** Impairments injected on purpose (tests: --fault-drop, --fault-rx). */
  faults?: FaultOptions;
  /** Guest TCP to ports 80/443 goes through the upstream proxy (start --transparent-proxy). */
  transparentProxy?: boolean;
  /** Longest busy-poll window in microseconds (start --busy-poll; 0 disables; default DEFAULT_BUSY_POLL_US). */
  busyPollUs?: number;
}

export interface DaemonSummary {
  listen: string[];
  subnet: string;
  gateway: string;
  hostIp: string;
  mtu: number;
}

const HOUSEKEEPING_MS = 1000;

export class Daemon {
  readonly counters = new Counters();
  readonly scheduler = new Scheduler();
  readonly iface: Interface;
  readonly udp: UdpNat;
  readonly icmp: IcmpNat;
  readonly tcp: TcpNat;
  /** Port forwards: host listeners -> guest ports (hnet ports). */
  readonly forwards: ForwardManager;
  readonly services: GatewayServices;
  /** The guest-facing HTTP proxy on gateway:3128 and its live settings (GET/PUT /v1/proxy). */
  readonly proxy: GatewayProxy;
  /** Guest-to-guest frames are switched here; the stack is one more station (DESIGN §2). */
  readonly switch: L2Switch;
  readonly startedAt = Date.now();
  private readonly transports: Transport[] = [];
  private readonly links = new Set<Link>();
  private pcap: PcapWriter | null = null;
  private readonly housekeeping: Pollable;
  private control: ControlServer | null = null;
  /** Live captures (hnet capture): each gets every frame, both directions. */
  private readonly captures = new Set<(frame: Buffer) => void>();
  private readonly linksByTransport = new Map<Transport, Set<Link>>();

  constructor(readonly opts: DaemonOptions) {
    const busyPollUs = opts.busyPollUs ?? DEFAULT_BUSY_POLL_US;
    if (busyPollUs > 0) {
      this.scheduler.busyPoll = new BusyPoll(busyPollUs / 1000, () => this.scheduler.now(), undefined, {
        runQueueWaitMs: runQueueWaitMs() ?? undefined,
        paused: this.counters.counter('busy_poll.paused_contended'),
        hits: this.counters.counter('busy_poll.hits'),
        misses: this.counters.counter('busy_poll.misses'),
        late: this.counters.counter('busy_poll.late'),
      });
    }
    this.iface = new Interface(opts.cfg, this.counters);
    this.switch = new L2Switch(opts.cfg.gatewayMac, this.counters);
    const clock = () => this.scheduler.now();
    this.udp = new UdpNat(this.iface, this.counters, clock);
    this.icmp = new IcmpNat(this.iface, this.counters, clock);
    this.tcp = new TcpNat(this.iface, this.counters, this.scheduler);
    this.forwards = new ForwardManager({
      cfg: opts.cfg,
      counters: this.counters,
      clock,
      guests: () => this.iface.neighbors.entries().map(([ip]) => ip),
      openTcp: (guestIp, guestPort, host) => this.tcp.openToGuest(guestIp, guestPort, host),
      sendUdp: (src, srcPort, dst, dstPort, payload) => this.iface.sendUdp(src, srcPort, dst, dstPort, payload),
      holderOf: (proto, port) => portHolder(runHost, proto, port),
    });
    this.services = new GatewayServices(this.iface, this.counters, { cfg: opts.cfg, config: opts.config, leasesFile: opts.paths.leases, dnsUpstreams: opts.dnsUpstreams });
    this.tcp.services.set(DNS_PORT, this.services.dnsOverTcp());
    this.proxy = setupGatewayProxy(this.tcp, { cfg: opts.cfg, config: opts.config, counters: this.counters, log: opts.log, transparent: opts.transparentProxy });
    this.iface.handlers = {
      gatewayUdp: (_now, d) => this.services.handleUdp(d),
      udp: (now, d) => {
        if (!this.forwards.handleUdp(now, d)) this.udp.handle(now, d);
      },
      echo: (now, e) => this.icmp.handle(now, e),
      tcp: (now, t) => this.tcp.handle(now, t),
    };
    this.scheduler.onTaskError = (task, err) => this.taskFailed(task, err);
    this.housekeeping = {
      poll: (now) => {
        this.iface.poll(now);
        this.switch.age(now);
        this.udp.poll(now);
        this.forwards.poll(now);
        this.icmp.poll(now);
        if (this.iface.lastInternalError) {
          opts.log.error('internal error while handling a frame (dropped)', { error: String(this.iface.lastInternalError.stack ?? this.iface.lastInternalError) });
          this.iface.lastInternalError = undefined;
        }
        return now + HOUSEKEEPING_MS;
      },
    };
  }

  /** A task threw: count it, log the stack, and let the task (a TCP flow) fail alone. */
  private taskFailed(task: Pollable, err: Error): void {
    this.counters.drop('internal_error');
    this.opts.log.error('internal error in a flow (it is closed; the daemon keeps serving)', { error: String(err.stack ?? err) });
    const onError = (task as { onInternalError?: () => void }).onInternalError;
    try {
      onError?.call(task);
    } catch {
      /* already broken */
    }
  }

  async start(): Promise<void> {
    // The control socket first: it holds the pid lock, so a second daemon on this HOME stops here.
    this.control = await startControlServer(this.opts.paths, daemonApi(this), this.opts.log);
    if (this.opts.pcap) this.pcap = new PcapWriter(this.opts.pcap);
    for (const uri of this.opts.listen) {
      const spec = parseListenUri(uri, this.opts.paths.home);
      const transport = createTransport(spec, { mtu: this.opts.cfg.mtu, log: this.opts.log });
      const links = new Set<Link>();
      this.linksByTransport.set(transport, links);
      transport.onLink = (link) => this.attach(link, links);
      await transport.start();
      this.transports.push(transport);
      this.opts.log.info('listening', { uri: transport.uri, attach: transport.describe() });
    }
    this.scheduler.schedule(this.housekeeping, this.scheduler.now() + HOUSEKEEPING_MS);
    await this.restoreForwards();
  }

  private attach(raw: Link, group: Set<Link>): void {
    let link = raw;
    if (this.opts.faults) link = withFaults(link, { seed: 1, ...this.opts.faults });
    if (this.pcap) link = withPcap(link, this.pcap);
    link = this.withCapture(link);
    const port: GuestPort = link;
    group.add(link);
    this.links.add(link);
    this.iface.attach(port);
    this.switch.attach(port);
    this.counters.inc('links.attached');
    this.opts.log.info('guest link up', { link: link.id, kind: link.kind });
    const captures = this.captures;
    // Fault injection may hold a frame back and deliver it during another: the
    // link's per-frame checksum flag would then describe the wrong frame.
    const trustChecksums = !this.opts.faults;
    // With nothing between the tap and here recording raw frames, a guest's
    // partial checksum is completed only for frames that go anywhere but the stack.
    if (trustChecksums && !this.pcap && raw instanceof TapLink) raw.deferRxChecksum = true;
    // A tap wakeup's frames are answered at the end of that wakeup (scheduler.ts).
    if (raw instanceof BaseLink) raw.inputBatch = this.scheduler;
    const gatewayMac = this.iface.cfg.gatewayMac;
    link.onFrame = (frame) => {
      const valid = trustChecksums && link.rxChecksumValid === true;
      if (valid && (captures.size > 0 || !stackOnlyTransport(frame, gatewayMac))) link.completeRxChecksum?.(frame);
      if (captures.size > 0) for (const c of captures) c(frame);
      const now = this.scheduler.now();
      if (this.switch.ingress(port, frame, now)) this.iface.receive(port, frame, now, valid);
    };
    link.onClose = () => {
      group.delete(link);
      this.links.delete(link);
      this.iface.detach(port);
      this.switch.detach(port);
      this.opts.log.info('guest link down', { link: link.id });
      // Under stdio: hnet is the child of a VM monitor; its stdin closing means the VM is gone.
      if (link.kind === 'stdio') this.opts.onStdioClosed?.();
    };
  }

  /** Tee every frame hnet sends on `link` to the live captures (received frames: see attach). */
  private withCapture(link: Link): Link {
    const captures = this.captures;
    const show = (frame: Buffer, partialCsum?: boolean) => {
      const shown = partialCsum ? completedTcpCopy(frame) : frame;
      for (const c of captures) c(shown);
    };
    const send = link.send.bind(link);
    link.send = (frame: Buffer, gsoSize?: number, partialCsum?: boolean) => {
      if (captures.size > 0) show(frame, partialCsum);
      send(frame, gsoSize, partialCsum);
    };
    const sendv = link.sendv?.bind(link);
    if (sendv) {
      link.sendv = (head: Buffer, tail: readonly Buffer[], gsoSize: number, partialCsum: boolean) => {
        if (captures.size > 0) show(Buffer.concat([head, ...tail]), partialCsum);
        sendv(head, tail, gsoSize, partialCsum);
      };
    }
    return link;
  }

  /** Stream `seconds` of live traffic as pcap to `out`; ends early when `out` closes. */
  capture(seconds: number, out: Writable): Promise<void> {
    return new Promise((resolve) => {
      const writer = new PcapWriter(out);
      const sink = (frame: Buffer) => writer.write(frame);
      this.captures.add(sink);
      const finish = () => {
        clearTimeout(timer);
        if (!this.captures.delete(sink)) return;
        writer.flush();
        resolve();
      };
      const timer = setTimeout(finish, seconds * 1000);
      out.once('close', finish);
      out.once('error', finish);
    });
  }

  transportInfo(): TransportInfo[] {
    return this.transports.map((t) => ({ uri: t.uri, kind: t.uri.split(':')[0], clients: this.linksByTransport.get(t)?.size ?? 0 }));
  }

  /** The stack's counters plus every link's drops (`drop.link_<reason>`), summed over links. */
  countersSnapshot(): Record<string, number> {
    const out = this.counters.snapshot();
    for (const link of this.links) {
      for (const [reason, n] of Object.entries(link.stats.drops)) out[`drop.link_${reason}`] = (out[`drop.link_${reason}`] ?? 0) + n;
    }
    return out;
  }

  /** Gauges for status and /metrics: what is open right now. */
  gauges(): Record<string, number> {
    return {
      tcp_flows: this.tcp.size,
      tcp_time_wait: this.tcp.timeWaitCount,
      tcp_host_sockets: this.tcp.openHostSockets,
      udp_flows: this.udp.size,
      icmp_flows: this.icmp.size,
      guest_links: this.links.size,
    };
  }

  leases(): Lease[] {
    return this.services.leases();
  }

  hostnameOf(mac: Buffer): string | null {
    return this.services.hostnameOf(macToString(mac));
  }

  summary(): DaemonSummary {
    const c = this.opts.cfg;
    return {
      listen: this.transports.map((t) => t.describe()),
      subnet: cidrToString(c.subnet),
      gateway: ipv4ToString(c.gateway),
      hostIp: ipv4ToString(c.hostIp),
      mtu: c.mtu,
    };
  }

  /** Re-open the forwards saved in config.json; one that cannot bind is logged, not fatal. */
  private async restoreForwards(): Promise<void> {
    for (const p of this.opts.config.ports) {
      try {
        await this.forwards.add(p);
        this.opts.log.info('forwarding', { proto: p.proto, host: `${p.hostIp}:${p.hostPort}`, guest: `${p.guestIp ?? 'auto'}:${p.guestPort}` });
      } catch (err) {
        this.opts.log.warn('saved port forward not applied', { proto: p.proto, host: `${p.hostIp}:${p.hostPort}`, error: (err as Error).message });
      }
    }
  }

  async stop(): Promise<void> {
    await this.forwards.closeAll();
    this.tcp.closeAll();
    this.proxy.proxy.close();
    this.udp.closeAll();
    this.icmp.closeAll();
    this.scheduler.stop();
    for (const t of this.transports.splice(0)) {
      try {
        await t.close();
      } catch (err) {
        this.opts.log.warn('transport close failed', { uri: t.uri, error: String(err) });
      }
    }
    await this.pcap?.close();
    this.pcap = null;
    await this.control?.close();
    this.control = null;
  }
}
