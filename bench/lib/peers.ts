/**
 * The four network paths the benchmark compares, each serving a fresh network
 * namespace guest: hnet (tap transport, from a built tree), slirp4netns 1.2,
 * pasta, and a kernel veth pair (the ceiling).
 *
 * startPeer(name, opts) returns where host-side servers bind (`serverBind`),
 * the address the guest dials to reach them (`hostTarget`), the userspace
 * forwarder's pid (for CPU and RSS; none for veth), and a port forward from
 * host 127.0.0.1:hostPort to the guest's guestPort, or a reason it is skipped.
 *
 * SAFETY: guests only ever dial `hostTarget`, which each peer maps to the
 * host's loopback: hnet .254 (with --allow-egress 127.0.0.0/8), slirp4netns
 * 10.0.2.2 (host loopback enabled), pasta's gateway (mapped to the host by its
 * default --map-gw; the gateway address is a host blackhole route, so even an
 * unmapped flow could not leave the machine), veth a host address on our own
 * pair, checked with `ip route get` before use.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sh, nsh, start, sleep, type Started } from './proc.js';

export type PeerName = 'hnet' | 'slirp4netns' | 'pasta' | 'veth';
export const PEERS: PeerName[] = ['hnet', 'slirp4netns', 'pasta', 'veth'];

export interface PeerOptions {
  mtu: number;
  /** Root of the hnet tree to run (bin/run.js + dist). */
  hnetRoot: string;
  /** Host port and guest port of the port-forward row. */
  forward: { hostPort: number; guestPort: number };
  /** Extra node flags for the hnet daemon (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Extra `hnet start` flags (e.g. --busy-poll 0). */
  hnetArgs?: string[];
}

export interface Peer {
  readonly name: PeerName;
  readonly ns: string;
  readonly serverBind: string;
  readonly hostTarget: string;
  /** Where the host dials to reach the forwarded guest port, or why there is none. */
  readonly forward: { host: string; port: number } | { skip: string };
  readonly daemonPid?: number;
  stop(): Promise<void>;
}

const PASTA_GW = '198.51.100.1'; // RFC 5737 TEST-NET-2; blackholed on the host while pasta runs
const VETH_HOST = '198.19.77.1'; // RFC 2544 benchmark range, on our own veth pair only
const VETH_GUEST = '198.19.77.2';

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await probe().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function newNs(): Promise<string> {
  const ns = `hnb-${randomBytes(3).toString('hex')}`;
  await sh('ip', ['netns', 'add', ns]);
  await nsh(ns, 'ip', ['link', 'set', 'lo', 'up']);
  // The connection-rate rounds open tens of thousands of short connections from
  // one guest, which closes first and so keeps a TIME-WAIT per connection. Its
  // connect() may reuse one only when the peer sent TCP timestamps (RFC 7323
  // §5, the kernel's tcp_twsk_unique): hnet does, slirp4netns does not, so at
  // 10 000 connections a second slirp4netns's guest filled its 32 000 ports of
  // one parity (the kernel's connect() takes even ones) in 3 s and fell to 270
  // connections a second. Capping the guest's TIME-WAIT table (beyond it a
  // closing socket goes straight to CLOSED) keeps the row a measure of the
  // forwarder, not of the guest's port table. A range with ends of different
  // parity is what the kernel asks for.
  await nsh(ns, 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=1024 65535', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.tcp_max_tw_buckets=4096']);
  return ns;
}

async function delNs(ns: string): Promise<void> {
  const pids = await sh('ip', ['netns', 'pids', ns]).catch(() => '');
  for (const p of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      // gone
    }
  }
  await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
}

async function hasAddr(ns: string, ip: string): Promise<boolean> {
  return (await sh('ip', ['-n', ns, '-4', '-o', 'addr'])).includes(`${ip}/`);
}

/** Start `name` serving a fresh namespace at `opts.mtu`. */
export async function startPeer(name: PeerName, opts: PeerOptions): Promise<Peer> {
  const ns = await newNs();
  try {
    switch (name) {
      case 'hnet':
        return await startHnet(ns, opts);
      case 'slirp4netns':
        return await startSlirp(ns, opts);
      case 'pasta':
        return await startPasta(ns, opts);
      case 'veth':
        return await startVeth(ns, opts);
    }
  } catch (err) {
    await delNs(ns);
    throw err;
  }
}

async function startHnet(ns: string, opts: PeerOptions): Promise<Peer> {
  const home = mkdtempSync(join(tmpdir(), 'hnb-home-'));
  const dev = 'hnb0';
  const args = [...(opts.nodeFlags ?? []), join(opts.hnetRoot, 'bin/run.js'), 'start', '--listen', `tap:${dev}?netns=${ns}`, '--home', home, '--subnet', '192.168.65.0/24', '--allow-egress', '127.0.0.0/8', '--mtu', String(opts.mtu), '--log-level', 'warn', ...(opts.hnetArgs ?? [])];
  let d: Started;
  try {
    d = await start(process.execPath, args, { ready: /hnet ready/, cwd: opts.hnetRoot });
  } catch (err) {
    rmSync(home, { recursive: true, force: true });
    throw err;
  }
  await nsh(ns, 'ip', ['link', 'set', dev, 'mtu', String(opts.mtu)]);
  await nsh(ns, 'ip', ['addr', 'add', '192.168.65.2/24', 'dev', dev]);
  await nsh(ns, 'ip', ['link', 'set', dev, 'up']);
  await nsh(ns, 'ip', ['route', 'add', 'default', 'via', '192.168.65.1']);
  let forward: Peer['forward'] = { skip: 'hnet has no `ports add` in this tree yet' };
  if (existsSync(join(opts.hnetRoot, 'dist/commands/ports/add.js'))) {
    const { hostPort, guestPort } = opts.forward;
    await sh(process.execPath, [join(opts.hnetRoot, 'bin/run.js'), 'ports', 'add', `127.0.0.1:${hostPort}:${guestPort}`, '--guest', '192.168.65.2', '--home', home]);
    forward = { host: '127.0.0.1', port: hostPort };
  }
  return {
    name: 'hnet',
    ns,
    serverBind: '127.0.0.1',
    hostTarget: '192.168.65.254',
    forward,
    daemonPid: d.pid,
    async stop() {
      await d.stop();
      await delNs(ns);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** One request on slirp4netns's API socket (newline-free JSON in, JSON out). */
async function slirpApi(sock: string, req: object): Promise<unknown> {
  return new Promise((res, rej) => {
    const c = createConnection(sock);
    let buf = '';
    c.on('connect', () => c.end(JSON.stringify(req)));
    c.on('data', (d) => (buf += d.toString()));
    c.on('end', () => {
      try {
        const r = JSON.parse(buf) as { error?: unknown };
        if (r.error) rej(new Error(`slirp4netns API: ${JSON.stringify(r.error)}`));
        else res(r);
      } catch (e) {
        rej(e as Error);
      }
    });
    c.on('error', rej);
  });
}

async function startSlirp(ns: string, opts: PeerOptions): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'hnb-slirp-'));
  const sock = join(dir, 'api.sock');
  // No --disable-host-loopback: 10.0.2.2 is the host's 127.0.0.1.
  const d = await start('slirp4netns', ['--configure', `--mtu=${opts.mtu}`, '--api-socket', sock, '--netns-type=path', `/run/netns/${ns}`, 'tap0']);
  await waitFor('slirp4netns to configure tap0', () => hasAddr(ns, '10.0.2.100'));
  await waitFor('slirp4netns API socket', async () => existsSync(sock));
  const { hostPort, guestPort } = opts.forward;
  await slirpApi(sock, { execute: 'add_hostfwd', arguments: { proto: 'tcp', host_addr: '127.0.0.1', host_port: hostPort, guest_port: guestPort } });
  return {
    name: 'slirp4netns',
    ns,
    serverBind: '127.0.0.1',
    hostTarget: '10.0.2.2',
    forward: { host: '127.0.0.1', port: hostPort },
    daemonPid: d.pid,
    async stop() {
      await d.stop();
      await delNs(ns);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startPasta(ns: string, opts: PeerOptions): Promise<Peer> {
  // Guard: the gateway address is a blackhole on the host, so a flow pasta did not map could not leave.
  const existing = await sh('ip', ['route', 'show', `${PASTA_GW}/32`]);
  const addedRoute = !existing.includes('blackhole');
  if (addedRoute) await sh('ip', ['route', 'add', 'blackhole', `${PASTA_GW}/32`]);
  const { hostPort, guestPort } = opts.forward;
  let d: Started;
  try {
    d = await start('pasta', ['-f', '-4', '--runas', '0', '--config-net', '-m', String(opts.mtu), '-a', '198.51.100.2', '-n', '24', '-g', PASTA_GW, '-t', `127.0.0.1/${hostPort}:${guestPort}`, '-u', 'none', '-T', 'none', '-U', 'none', '--netns', ns]);
    await waitFor('pasta to configure the namespace', () => hasAddr(ns, '198.51.100.2'));
  } catch (err) {
    if (addedRoute) await sh('ip', ['route', 'del', 'blackhole', `${PASTA_GW}/32`]).catch(() => undefined);
    throw err;
  }
  return {
    name: 'pasta',
    ns,
    serverBind: '127.0.0.1',
    hostTarget: PASTA_GW,
    forward: { host: '127.0.0.1', port: hostPort },
    daemonPid: d.pid,
    async stop() {
      await d.stop();
      await delNs(ns);
      if (addedRoute) await sh('ip', ['route', 'del', 'blackhole', `${PASTA_GW}/32`]).catch(() => undefined);
    },
  };
}

async function startVeth(ns: string, opts: PeerOptions): Promise<Peer> {
  const hostDev = `hnbv${randomBytes(2).toString('hex')}`;
  await sh('ip', ['link', 'add', hostDev, 'mtu', String(opts.mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', String(opts.mtu), 'netns', ns]);
  const stop = async () => {
    await sh('ip', ['link', 'del', hostDev]).catch(() => undefined);
    await delNs(ns);
  };
  try {
    await sh('ip', ['addr', 'add', `${VETH_HOST}/30`, 'dev', hostDev]);
    await sh('ip', ['link', 'set', hostDev, 'up']);
    await nsh(ns, 'ip', ['addr', 'add', `${VETH_GUEST}/30`, 'dev', 'eth0']);
    await nsh(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    const route = await sh('ip', ['route', 'get', VETH_GUEST]);
    if (!new RegExp(`\\bdev ${hostDev}\\b`).test(route)) throw new Error(`SAFETY: ${VETH_GUEST} is not routed via our ${hostDev}: ${route.trim()}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name: 'veth', ns, serverBind: VETH_HOST, hostTarget: VETH_HOST, forward: { host: VETH_GUEST, port: opts.forward.guestPort }, stop };
}
