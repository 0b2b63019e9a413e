/**
 * The shapes of `hnet diagnose` (issue 9): a Check reads Facts and returns an
 * Outcome; the runner (runner.ts) adds id, title and timing to make a
 * CheckResult; report.ts assembles the stable JSON report.
 *
 * Contract:
 * - status: pass (fine), warn (worth knowing, exit 0), fail (a real fault:
 *   exit 1), skip (needs something the user did not ask for or that is not
 *   there: a --name, a --target, a running daemon for daemon-side checks).
 * - Every non-pass outcome carries at least one next step for people.
 * - Checks never touch the OS themselves: everything comes through Facts,
 *   which are memoized (one `ip -j route` however many checks ask) and
 *   replaced by fakes in unit tests.
 */
import type { HostInterface } from '../host/addresses.js';
import type { HostRoute } from '../host/routes.js';
import type { HostResolver } from '../host/dns-config.js';
import type { NcService } from '../host/vpn-readers.js';
import type { AliasSpec } from '../host/alias.js';
import type { EffectiveProxy } from '../host/proxy/types.js';
import type { HnetConfig } from '../daemon/config.js';
import type { StatusReport } from '../daemon/control-client.js';
import type { ProxyBody } from '../daemon/control-types.js';
import type { HomePaths } from '../daemon/home.js';
import type { HnetError } from '../errors.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface Outcome {
  status: CheckStatus;
  /** One or two sentences: what was found. */
  detail: string;
  /** What to do next (commands or actions), empty on pass. */
  next?: string[];
  /** Machine-readable specifics (addresses, routes...), stable per check id. */
  data?: Record<string, unknown>;
}

export interface CheckResult {
  id: string;
  title: string;
  group: CheckGroup;
  status: CheckStatus;
  detail: string;
  next: string[];
  data?: Record<string, unknown>;
  durationMs: number;
}

export type CheckGroup = 'daemon' | 'dns' | 'network' | 'proxy' | 'ports' | 'aliases' | 'vpn';

export interface Check {
  /** Stable dotted id ("vpn.overlap"); scripts match on it. */
  id: string;
  title: string;
  group: CheckGroup;
  /** Runs only with --vpn. */
  vpnOnly?: boolean;
  run(f: Facts): Promise<Outcome>;
}

export interface DiagnoseOptions {
  vpn: boolean;
  /** --name: a host name to resolve on the host and through the daemon. */
  name?: string;
  /** --target HOST:PORT: outbound TCP from the host and through the daemon. */
  target?: { host: string; port: number };
  /** Per-check timeout, ms. */
  timeoutMs: number;
}

export type DaemonState = { running: true; status: StatusReport } | { running: false; error: HnetError };

export interface TcpProbe {
  ok: boolean;
  /** "connected", "ECONNREFUSED", "timeout", ... */
  result: string;
}

/** The guest network diagnose reasons about, and where it came from. */
export interface GuestNetwork {
  subnet: string;
  mtu: number;
  source: 'daemon' | 'config' | 'default';
}

export interface Facts {
  platform: NodeJS.Platform;
  paths: HomePaths;
  options: DiagnoseOptions;
  daemon(): Promise<DaemonState>;
  /** GET /v1/proxy of the running daemon (throws when unreachable or unsupported). */
  daemonProxy(): Promise<ProxyBody>;
  /** Resolve through the daemon's DNS; undefined when this daemon offers no way to ask. */
  daemonResolve?: (name: string) => Promise<string[]>;
  /** TCP connect through the daemon's stack; undefined when this daemon offers no way to ask. */
  daemonConnect?: (host: string, port: number) => Promise<TcpProbe>;
  config(): Promise<HnetConfig>;
  guestNetwork(): Promise<GuestNetwork>;
  routes(): Promise<HostRoute[]>;
  interfaces(): Promise<HostInterface[]>;
  linkKinds(): Promise<Map<string, string>>;
  resolvers(): Promise<HostResolver[]>;
  ncServices(): Promise<NcService[]>;
  loopbackAliases(): Promise<AliasSpec[]>;
  hostProxy(): Promise<EffectiveProxy>;
  hostLookup(name: string): Promise<string[]>;
  tcpConnect(host: string, port: number): Promise<TcpProbe>;
  /**
   * Connect to a forward's host listener and watch it: result "answered" when
   * the connection is still open (or sent data) after a grace period,
   * "reset" when the daemon reset it (the guest refused), else the connect error.
   */
  forwardProbe(host: string, port: number): Promise<TcpProbe>;
}
