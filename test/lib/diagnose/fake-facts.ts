// Facts for check tests: a daemon that is (or is not) running, and host outputs from fixtures.
import { homePaths } from '../../../src/lib/daemon/home.js';
import { defaultConfig, type HnetConfig } from '../../../src/lib/daemon/config.js';
import { HnetError } from '../../../src/lib/errors.js';
import type { StatusReport } from '../../../src/lib/daemon/control-client.js';
import type { Facts, GuestNetwork } from '../../../src/lib/diagnose/types.js';
import { parseIpAddrJson } from '../../../src/lib/host/addresses.js';
import { parseIpRouteJson } from '../../../src/lib/host/routes.js';
import { parseIpLinkJson } from '../../../src/lib/host/vpn-readers.js';
import { diagFixture } from './fixtures.js';

export function status(over: Partial<StatusReport> = {}): StatusReport {
  return {
    version: '0.1.0',
    pid: 4242,
    uptimeS: 5,
    subnet: '192.168.65.0/24',
    gateway: '192.168.65.1',
    hostIp: '192.168.65.254',
    mtu: 1500,
    transports: [{ uri: 'tap:hnt0?netns=g', kind: 'tap', clients: 1 }],
    guests: [{ mac: '02:00:00:00:00:02', ip: '192.168.65.2', hostname: 'g', transport: 'tap:hnt0?netns=g' }],
    counters: {},
    ports: [],
    leases: [{ mac: '02:00:00:00:00:02', ip: '192.168.65.2', hostname: 'g', expiresAt: '2030-01-01T00:00:00Z' }],
    ...over,
  };
}

export const unreachable = new HnetError('HNET_DAEMON_UNREACHABLE', 'no hnet daemon answers on /tmp/h/run/hnet.sock (the socket does not exist)', ['hnet start --home /tmp/h']);

/** A host with a split-tunnel cscotun0 whose route 192.168.65.0/25 overlaps the default subnet. */
export function vpnHost(): Pick<Facts, 'routes' | 'interfaces' | 'linkKinds'> {
  return {
    routes: async () => parseIpRouteJson(diagFixture('linux-ip-route-cscotun.json')),
    interfaces: async () => parseIpAddrJson(diagFixture('linux-ip-addr-cscotun.json')),
    linkKinds: async () => new Map(parseIpLinkJson(diagFixture('linux-ip-link-cscotun.json')).flatMap((l) => (l.kind ? [[l.name, l.kind] as [string, string]] : []))),
  };
}

/** A plain host: eth0 and a default route, no VPN. */
export function plainHost(): Pick<Facts, 'routes' | 'interfaces' | 'linkKinds'> {
  return {
    routes: async () => parseIpRouteJson('[{"dst":"default","gateway":"192.0.2.1","dev":"eth0","flags":[]},{"dst":"192.0.2.0/24","dev":"eth0","flags":[]}]'),
    interfaces: async () => [{ name: 'eth0', up: true, loopback: false, pointToPoint: false, mtu: 1500, flags: ['UP'], addresses: [{ family: 'inet', ip: '192.0.2.2', prefix: 24 }] }],
    linkKinds: async () => new Map(),
  };
}

export function fakeFacts(over: Omit<Partial<Facts>, 'config'> & { running?: StatusReport | false; config?: HnetConfig } = {}): Facts {
  const { running = status(), config = defaultConfig(), ...rest } = over;
  const guest: GuestNetwork = running ? { subnet: running.subnet, mtu: running.mtu, source: 'daemon' } : { subnet: config.subnet ?? '192.168.65.0/24', mtu: 1500, source: config.subnet ? 'config' : 'default' };
  return {
    platform: 'linux',
    paths: homePaths('/tmp/h'),
    options: { vpn: true, timeoutMs: 2000 },
    daemon: async () => (running ? { running: true, status: running } : { running: false, error: unreachable }),
    daemonProxy: async () => ({ http: null, https: null, noProxy: [], source: 'none' }),
    config: async () => config,
    guestNetwork: async () => guest,
    ...plainHost(),
    resolvers: async () => [],
    ncServices: async () => [],
    loopbackAliases: async () => [{ ip: '127.0.0.1', prefix: 8 }],
    hostProxy: async () => ({ source: 'none', noProxy: [] }),
    hostLookup: async () => ['203.0.113.10'],
    tcpConnect: async () => ({ ok: true, result: 'connected' }),
    forwardProbe: async () => ({ ok: true, result: 'answered' }),
    ...rest,
  };
}
