/**
 * The daemon's side of the control API (control-types.ts DaemonApi): reads
 * state out of the running Daemon for status, leases, connections, counters
 * and live capture. The control server maps thrown HnetErrors to HTTP codes.
 */
import type { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import { ipv4ToString, macToString } from '../wire/addr.js';
import type { Daemon } from './daemon.js';
import { daemonProbes } from '../diagnose/daemon-probes.js';
import type { Connection, ConnectionFilter, DaemonApi, Lease, PortForward, PortForwardRequest, Proto, ProxyBody, ProxyUpdate, StatusBody } from './control-types.js';

const require = createRequire(import.meta.url);
const VERSION: string = (require('../../../package.json') as { version: string }).version;

export function daemonApi(d: Daemon): DaemonApi {
  const probes = daemonProbes(d.opts.cfg, d.services.dns);
  return {
    status(): StatusBody {
      const s = d.summary();
      return {
        version: VERSION,
        pid: process.pid,
        uptimeS: Math.round((Date.now() - d.startedAt) / 1000),
        subnet: s.subnet,
        gateway: s.gateway,
        hostIp: s.hostIp,
        mtu: s.mtu,
        transports: d.transportInfo(),
        guests: d.iface.neighbors.entries().map(([ip, n]) => ({
          mac: macToString(n.mac),
          ip: ipv4ToString(ip),
          hostname: d.hostnameOf(n.mac),
          transport: n.port.id,
        })),
        counters: { ...d.countersSnapshot(), ...d.gauges() },
      };
    },
    listPorts(): PortForward[] {
      return d.forwards.list();
    },
    addPort(p: PortForwardRequest): Promise<PortForward> {
      return d.forwards.add(p);
    },
    removePort(proto: Proto, hostIp: string, hostPort: number): Promise<void> {
      return d.forwards.remove(proto, hostIp, hostPort);
    },
    getProxy(): ProxyBody {
      return d.proxy.state.body();
    },
    async putProxy(update: ProxyUpdate): Promise<ProxyBody> {
      // Live: new requests use these settings, open connections keep theirs.
      return d.proxy.state.apply(update, 'api');
    },
    leases(): Lease[] {
      return d.leases();
    },
    *connections(filter?: ConnectionFilter): Generator<Connection> {
      const wants = (proto: string) => !filter?.protos || filter.protos.has(proto);
      if (wants('tcp')) yield* d.tcp.connections(filter?.states ?? null);
      if (wants('udp')) yield* d.udp.connections();
    },
    counters(): Record<string, number> {
      return d.countersSnapshot();
    },
    gauges(): Record<string, number> {
      return d.gauges();
    },
    capture(seconds: number, out: Writable): Promise<void> {
      return d.capture(seconds, out);
    },
    probeDns: (name, type) => probes.resolve(name, type),
    probeConnect: (host, port) => probes.connect(host, port),
  };
}
