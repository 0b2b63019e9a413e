/**
 * The control API's wire contract (DESIGN §5): the JSON bodies of every route
 * as TypeScript types, and DaemonApi, the interface the daemon implements so
 * the control server can serve it without importing the packet stack.
 *
 * Contract:
 * - Addresses are dotted-quad strings and MACs are "02:68:6e:65:74:01" strings
 *   on the wire (the stack's uint32/Buffer forms stay inside the stack).
 * - Times are ISO-8601 strings (expiresAt) or seconds (uptimeS).
 * - Proxy URLs in ProxyBody never carry credentials: the server redacts them
 *   again before they leave the socket (DESIGN §6).
 * - DaemonApi methods may throw HnetError; the server maps its `code` to an HTTP
 *   status with httpStatusFor() and sends ErrorBody.
 */
import type { Writable } from 'node:stream';
import { HnetError } from '../errors.js';
import { TcpState } from '../socket/tcp/types.js';

export type Proto = 'tcp' | 'udp';
export const PROTOS: readonly Proto[] = ['tcp', 'udp'];

/** One frame transport the daemon listens on (`--listen URI`). */
export interface TransportInfo {
  /** As given to --listen, e.g. "qemu:///home/u/.hnet/run/qemu.sock". */
  uri: string;
  /** qemu | qemu+tcp | vfkit | vpnkit | stdio | tap */
  kind: string;
  /** Guests (peers) currently attached through this transport. */
  clients: number;
}

/** A guest the switch has learned (by source MAC). */
export interface GuestInfo {
  mac: string;
  /** From its DHCP lease or ARP; null until known. */
  ip: string | null;
  /** DHCP option 12, if the guest sent one. */
  hostname: string | null;
  /** The transport URI it is attached through. */
  transport: string;
}

/** GET /v1/status */
export interface StatusBody {
  version: string;
  pid: number;
  uptimeS: number;
  /** The guest network, e.g. "192.168.65.0/24". */
  subnet: string;
  gateway: string;
  hostIp: string;
  mtu: number;
  transports: TransportInfo[];
  guests: GuestInfo[];
  /** Counters snapshot: dotted names, e.g. "drop.ipv4_bad_checksum", "tcp.flows". */
  counters: Record<string, number>;
}

/** GET /v1/ports items; the result of POST /v1/ports. */
export interface PortForward {
  proto: Proto;
  hostIp: string;
  hostPort: number;
  guestIp: string;
  guestPort: number;
}

/**
 * POST /v1/ports body. hostIp defaults to 127.0.0.1 (DESIGN §4: forwards bind
 * loopback unless told otherwise); guestIp is left for the daemon to choose.
 */
export interface PortForwardRequest {
  proto: Proto;
  hostIp?: string;
  hostPort: number;
  guestIp?: string;
  guestPort: number;
}

/** GET /v1/proxy, and the answer to PUT /v1/proxy. Credentials redacted. */
export interface ProxyBody {
  http: string | null;
  https: string | null;
  noProxy: string[];
  /** Where the settings came from: "env", "scutil", "gsettings", "config", "none", ... */
  source: string;
  pac?: string;
}

/** PUT /v1/proxy body: only the fields given change; null clears one. */
export interface ProxyUpdate {
  http?: string | null;
  https?: string | null;
  noProxy?: string[];
  pac?: string | null;
}

/** GET /v1/leases items. */
export interface Lease {
  mac: string;
  ip: string;
  hostname: string | null;
  /** ISO-8601 time the lease runs out. */
  expiresAt: string;
}

/**
 * GET /v1/connections items: one guest flow and its host socket. The query
 * may narrow the list: `?proto=tcp,udp` and `?state=ESTABLISHED,TIME-WAIT`
 * (comma lists, case-insensitive; a state must be one of CONNECTION_STATES).
 */
export interface Connection {
  proto: 'tcp' | 'udp' | 'icmp';
  /** "IP:PORT" on the guest side. */
  guest: string;
  /** "IP:PORT" of the real destination (or the forward's host side). */
  remote: string;
  /** One of CONNECTION_STATES. */
  state: string;
  bytesIn: number;
  bytesOut: number;
}

export const CONNECTION_PROTOS: readonly Connection['proto'][] = ['tcp', 'udp', 'icmp'];

/**
 * Every `state` a Connection can have: the TCP states of RFC 9293 §3.3.2
 * (the stack's own names, a leaf module of constants), CONNECTING while the
 * host socket's connect runs, and for UDP "connected"
 * (one destination so far) or "full-cone" (any host may answer).
 */
export const CONNECTION_STATES: readonly string[] = [...Object.values(TcpState), 'CONNECTING', 'connected', 'full-cone'];

/** What GET /v1/connections?proto=...&state=... asks for; null: any. */
export interface ConnectionFilter {
  protos: ReadonlySet<string> | null;
  states: ReadonlySet<string> | null;
}

export function connectionMatches(f: ConnectionFilter, c: Connection): boolean {
  return (f.protos === null || f.protos.has(c.proto)) && (f.states === null || f.states.has(c.state));
}

/** GET /v1/diagnose/dns?name=N[&type=A|AAAA]: the daemon's own DNS answer (hnet diagnose). */
export interface DnsProbeBody {
  name: string;
  type: 'A' | 'AAAA';
  /** "NOERROR", "NXDOMAIN", "SERVFAIL", "TIMEOUT"... */
  rcode: string;
  answers: string[];
}

/** GET /v1/diagnose/connect?host=H&port=P: TCP from the daemon under its egress policy. */
export interface ConnectProbeBody {
  ok: boolean;
  /** "connected", an errno code, "timeout", or an egress refusal ("egress_denied", "martian"). */
  result: string;
  address?: string;
}

/** Every non-2xx answer. */
export interface ErrorBody {
  error: { code: string; message: string; suggestions: string[] };
}

/** What the daemon gives the control server. The server never imports the stack. */
export interface DaemonApi {
  status(): StatusBody;
  listPorts(): PortForward[];
  /** Throws HnetError HNET_PORT_IN_USE (→ 409) or HNET_BAD_SPEC (→ 400). */
  addPort(p: PortForwardRequest): Promise<PortForward>;
  /** Throws HnetError HNET_NOT_FOUND (→ 404) if no such forward. */
  removePort(proto: Proto, hostIp: string, hostPort: number): Promise<void>;
  getProxy(): ProxyBody;
  putProxy(p: ProxyUpdate): Promise<ProxyBody>;
  leases(): Lease[];
  /**
   * Every flow, read as the iteration reaches it: the server pulls a slice per
   * event-loop turn, so the items must not depend on being read in one turn.
   * `filter` lets the daemon skip what will not be sent without describing it
   * (10 000 TIME-WAIT entries behind `?state=ESTABLISHED`); the server applies
   * it again, so an implementation may ignore it.
   */
  connections(filter?: ConnectionFilter): Iterable<Connection>;
  counters(): Record<string, number>;
  /**
   * Optional: values that go up and down (open flows, queued bytes), dotted
   * names like counters; /metrics renders them as gauges `hnet_<name>`, not
   * as `_total` counters. Keep them out of counters().
   */
  gauges?(): Record<string, number>;
  /**
   * Write a pcap stream (global header, then records) of `seconds` of traffic
   * to `out`, then resolve. Must stop early when `out` emits 'close' (the
   * client went away). The server ends `out` after the promise settles.
   */
  capture(seconds: number, out: Writable): Promise<void>;
  /** Optional (hnet diagnose): ask the daemon's DNS server; absent → 404 HNET_NOT_FOUND. */
  probeDns?(name: string, type: 'A' | 'AAAA'): Promise<DnsProbeBody>;
  /** Optional (hnet diagnose): TCP connect from the daemon under --allow-egress; absent → 404. */
  probeConnect?(host: string, port: number): Promise<ConnectProbeBody>;
}

/** Stable codes the server itself produces. */
export const CODES = {
  notFound: 'HNET_NOT_FOUND',
  badRequest: 'HNET_BAD_REQUEST',
  badSpec: 'HNET_BAD_SPEC',
  portInUse: 'HNET_PORT_IN_USE',
  methodNotAllowed: 'HNET_METHOD_NOT_ALLOWED',
  bodyTooLarge: 'HNET_BODY_TOO_LARGE',
  internal: 'HNET_INTERNAL',
  unreachable: 'HNET_DAEMON_UNREACHABLE',
  badResponse: 'HNET_BAD_RESPONSE',
  alreadyRunning: 'HNET_ALREADY_RUNNING',
} as const;

/** The HTTP status for an error thrown by a DaemonApi method or the server. */
export function httpStatusFor(err: unknown): number {
  if (!(err instanceof HnetError)) return 500;
  switch (err.code) {
    case CODES.portInUse:
      return 409;
    case CODES.notFound:
      return 404;
    case CODES.methodNotAllowed:
      return 405;
    case CODES.bodyTooLarge:
      return 413;
    case CODES.badSpec:
    case CODES.badRequest:
      return 400;
    default:
      // UsageError (exit 2) of any code is the caller's fault.
      return err.exitCode === 2 ? 400 : 500;
  }
}
