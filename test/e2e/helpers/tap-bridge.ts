/**
 * Test-side "virtual NIC" for the socket transports: a tap device inside a
 * test namespace stands in for a VM's network card, and its frames are
 * relayed to a daemon over a framed byte stream, exactly as QEMU, hyperkit or
 * a VM monitor on stdio would carry them.
 *
 *  - openNetnsTap(name, netns, mtu): create (or attach to) tap NAME inside
 *    NETNS with hnet's own tap transport (src/lib/phy/tap.ts) and bring it
 *    up; the device disappears when the link closes or this process dies.
 *  - bridgeLinks(a, b): every frame from a is sent on b and back. Returns a
 *    counter of frames moved each way (the tests wait on it to act
 *    "mid-transfer").
 *  - streamLink(sock, fmt, mtu): a Link over a connected byte stream with
 *    QEMU's 4-byte big-endian or vpnkit/stdio's 2-byte little-endian framing
 *    (src/lib/phy/qemu.ts StreamLink, the daemon's own deframer).
 *  - vpnkitClientHandshake(sock, ...): the hyperkit side of the vpnkit v22
 *    handshake using the encoders of src/lib/phy/vpnkit.ts; resolves with the
 *    parsed reply (vif or disconnect) and any bytes read past it.
 *  - spawnTapRelay(...): the same bridge in a separate process
 *    (tools/tap-relay.ts) so a test can SIGKILL one guest's transport.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TapTransport } from '../../../src/lib/phy/tap.js';
import { StreamLink } from '../../../src/lib/phy/qemu.js';
import type { Link } from '../../../src/lib/phy/link.js';
import type { PrefixFormat } from '../../../src/lib/phy/framing.js';
import { HELLO_LEN, REPLY_LEN, encodeEthernetCommand, encodeHello, parseHello, parseReply, type VpnkitHello, type VpnkitReply } from '../../../src/lib/phy/vpnkit.js';
import { onProcessExit, type Cleanup } from '../harness/env.js';
import { REPO_ROOT } from '../harness/daemon.js';

const TOOLS = join(dirname(fileURLToPath(import.meta.url)), '..', 'tools');

/** Open tap `name` inside `netns`, up, with this MTU. */
export async function openNetnsTap(name: string, netns: string, mtu = 1500): Promise<Link> {
  const t = new TapTransport(`tap:${name}?netns=${netns}`, { name, netns }, { mtu });
  let link: Link | undefined;
  t.onLink = (l) => (link = l);
  await t.start();
  if (!link) throw new Error(`tap ${name} in ${netns} produced no link`);
  return link;
}

export interface BridgeCounts {
  /** Frames and bytes from a to b, and from b to a. */
  aToB: { frames: number; bytes: number };
  bToA: { frames: number; bytes: number };
}

/** Relay frames between two links both ways; closing either closes the other. */
export function bridgeLinks(a: Link, b: Link): BridgeCounts {
  const counts: BridgeCounts = { aToB: { frames: 0, bytes: 0 }, bToA: { frames: 0, bytes: 0 } };
  a.onFrame = (f) => {
    counts.aToB.frames++;
    counts.aToB.bytes += f.length;
    b.send(f);
  };
  b.onFrame = (f) => {
    counts.bToA.frames++;
    counts.bToA.bytes += f.length;
    a.send(f);
  };
  a.onClose = () => void b.close();
  b.onClose = () => void a.close();
  return counts;
}

/** A Link over a connected stream socket with the given length-prefix framing. */
export function streamLink(sock: Socket, fmt: PrefixFormat, mtu = 1500): Link {
  return new StreamLink('relay', mtu, sock, fmt);
}

/** Connect to a unix socket path. */
export function connectUnix(path: string): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect(path);
    s.once('connect', () => {
      s.off('error', rej);
      res(s);
    });
    s.once('error', rej);
  });
}

/** Read exactly n bytes (or fewer if the peer closes first). */
export function readExactly(sock: Socket, n: number, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((res, rej) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`read ${got.length}/${n} bytes within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= n) finish();
    };
    const onEnd = () => finish();
    const finish = (err?: Error) => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.off('close', onEnd);
      sock.pause();
      if (err) return rej(err);
      if (got.length > n) sock.unshift(got.subarray(n));
      res(got.subarray(0, n));
    };
    sock.on('data', onData);
    sock.once('end', onEnd);
    sock.once('close', onEnd);
    sock.resume();
  });
}

export interface VpnkitHandshake {
  serverHello: VpnkitHello;
  reply: VpnkitReply;
}

/**
 * hyperkit's side of the vpnkit handshake: our hello, the server's hello,
 * the ethernet command, the 258-byte reply. `hello` overrides what we claim
 * (to test refusals). After a vif reply the socket is paused and carries frames.
 */
export async function vpnkitClientHandshake(sock: Socket, uuid: string, hello?: VpnkitHello): Promise<VpnkitHandshake> {
  sock.write(hello ? encodeHello(hello) : encodeHello());
  const h = await readExactly(sock, HELLO_LEN);
  if (h.length < HELLO_LEN) throw new Error(`server closed during hello (${h.length} bytes)`);
  const serverHello = parseHello(h);
  if (!sock.destroyed && sock.writable) sock.write(encodeEthernetCommand(uuid));
  const r = await readExactly(sock, REPLY_LEN);
  if (r.length < REPLY_LEN) throw new Error(`server closed before its reply (${r.length} bytes)`);
  return { serverHello, reply: parseReply(r) };
}

export interface TapRelay {
  proc: ChildProcess;
  /** Bytes the relay has written to the tap so far (from its progress lines). */
  readonly toTapBytes: number;
  /** Resolve once the relay has put at least `bytes` on the tap. */
  waitToTap(bytes: number, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  output(): string;
}

/**
 * Run tools/tap-relay.ts: tap NAME in NETNS <-> unix socket PATH with QEMU
 * stream framing. Resolves when the relay says it is connected.
 */
export async function spawnTapRelay(opts: { tap: string; netns: string; socket: string; mtu?: number; cleanup?: Cleanup }): Promise<TapRelay> {
  const args = ['--import', 'tsx', '--no-warnings', join(TOOLS, 'tap-relay.ts'), opts.tap, opts.netns, opts.socket, String(opts.mtu ?? 1500)];
  const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const forget = onProcessExit(() => proc.kill('SIGKILL'));
  let out = '';
  let toTap = 0;
  const watchers = new Set<() => void>();
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const m of d.matchAll(/^to-tap (\d+)$/gm)) toTap = Math.max(toTap, Number(m[1]));
    for (const w of watchers) w();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((res) => proc.once('exit', () => (watchers.forEach((w) => w()), res())));
  const until = (pred: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((res, rej) => {
      const timer = setTimeout(() => done(new Error(`tap relay: ${what} within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
      const check = () => {
        if (pred()) done();
        else if (proc.exitCode !== null || proc.signalCode !== null) done(new Error(`tap relay exited before ${what}; output:\n${out}`));
      };
      const done = (e?: Error) => {
        clearTimeout(timer);
        watchers.delete(check);
        if (e) rej(e);
        else res();
      };
      watchers.add(check);
      check();
    });
  const relay: TapRelay = {
    proc,
    get toTapBytes() {
      return toTap;
    },
    waitToTap: (bytes, timeoutMs = 60_000) => until(() => toTap >= bytes, `${bytes} bytes to the tap`, timeoutMs),
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
      forget();
    },
    output: () => out,
  };
  opts.cleanup?.add(`tap relay ${opts.tap}`, () => relay.kill());
  try {
    await until(() => /^connected$/m.test(out), 'connected', 30_000);
  } catch (e) {
    await relay.kill();
    throw e;
  }
  return relay;
}
