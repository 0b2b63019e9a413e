/**
 * The stdio transport end to end (issue 5): `hnet start --listen stdio:` runs
 * as a child of this test, which plays the VM monitor: it relays the child's
 * stdin/stdout (2-byte little-endian length + frame) to a tap inside a test
 * namespace. The namespace's kernel pings the gateway and gets a UDP echo
 * from a server on the host's 127.0.0.1 through .254. With a stdio: listener
 * nothing but frames may reach stdout: every byte the child writes there
 * must parse as a sequence of well-formed length-prefixed Ethernet frames
 * (the summary and `hnet ready` go to stderr).
 *
 * Safety: --allow-egress 127.0.0.0/8 only; the namespace routes everything
 * to the tap (checked with ip route get).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireRoot, useCleanup, createNetns, udpEchoServer, assertRoutedVia, uniqueSuffix, onProcessExit, REPO_ROOT, type Netns, type UdpEchoServer } from './harness/index.js';
import { bridgeLinks, openNetnsTap, type BridgeCounts } from './helpers/tap-bridge.js';
import { StdioLink } from '../../src/lib/phy/stdio.js';
import type { Link } from '../../src/lib/phy/link.js';

const TOOLS = join(dirname(fileURLToPath(import.meta.url)), 'tools');
const GATEWAY = '192.168.65.1';
const HOST = '192.168.65.254';
const GUEST = '192.168.65.2';
const MTU = 1500;

/**
 * Walk a 2-byte LE length-prefixed stream; returns the first problem or null.
 * Every frame must be an Ethernet frame (14..MTU+14 bytes) carrying ARP or IPv4/IPv6.
 */
function framingProblem(stream: Buffer): string | null {
  let off = 0;
  let n = 0;
  while (off + 2 <= stream.length) {
    const len = stream.readUInt16LE(off);
    if (len < 14 || len > MTU + 14) return `frame ${n} at byte ${off}: length ${len} (${JSON.stringify(stream.toString('latin1', off, off + 24))})`;
    if (off + 2 + len > stream.length) return null; // the tail is still in flight
    const type = stream.readUInt16BE(off + 2 + 12);
    if (type !== 0x0800 && type !== 0x0806 && type !== 0x86dd) return `frame ${n} at byte ${off}: EtherType 0x${type.toString(16)}`;
    off += 2 + len;
    n++;
  }
  return n === 0 ? 'no frame at all' : null;
}

describe('e2e: hnet as a child on stdio: carries a namespace', function () {
  this.timeout(90_000);
  const cleanup = useCleanup();
  let home: string;
  let ns: Netns;
  let echo: UdpEchoServer;
  let child: ChildProcess;
  let stderr = '';
  let raw: Buffer[] = [];
  let rawBytes = 0;
  let link: StdioLink;
  let counts: BridgeCounts;
  const tap = `hnts${uniqueSuffix()}`;

  before(async function () {
    requireRoot(this, ['ip', 'ping']);
    home = mkdtempSync(join(tmpdir(), 'hnt-stdio-'));
    cleanup.add('stdio home', () => rmSync(home, { recursive: true, force: true }));
    echo = await udpEchoServer({ cleanup });
    ns = await createNetns('hntst', cleanup);
    const tapLink: Link = await openNetnsTap(tap, ns.name, MTU);
    cleanup.add('stdio tap', () => tapLink.close());

    const args = ['--import', 'tsx', '--no-warnings', join(REPO_ROOT, 'bin/dev.js'), 'start', '--listen', 'stdio:', '--home', home, '--subnet', '192.168.65.0/24', '--allow-egress', '127.0.0.0/8', '--dns-upstream', '127.0.0.1:9'];
    child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const forget = onProcessExit(() => child.kill('SIGKILL'));
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    cleanup.add(`stdio daemon ${child.pid}`, async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
      forget();
    });
    // A copy of the first 256 KiB of stdout, to check it is frames only.
    child.stdout!.on('data', (d: Buffer) => {
      if (rawBytes < 256 * 1024) raw.push(Buffer.from(d));
      rawBytes += d.length;
    });
    link = new StdioLink(MTU, child.stdout!, child.stdin!);
    counts = bridgeLinks(link, tapLink);
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no "hnet ready" within 60 s; stderr:\n${stderr}`)), 60_000);
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (stderr.includes('hnet ready')) {
          clearTimeout(timer);
          res();
        }
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        rej(new Error(`daemon exited (${code ?? sig}) before ready; stderr:\n${stderr}`));
      });
    });
    await ns.exec('ip', ['addr', 'add', `${GUEST}/24`, 'dev', tap]);
    await ns.exec('ip', ['route', 'add', 'default', 'via', GATEWAY]);
    await assertRoutedVia(HOST, tap, ns);
  });

  it('the namespace pings the gateway over the child stdio', async () => {
    const { stdout } = await ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', GATEWAY]);
    expect(stdout).to.match(/3 received/);
    expect(counts.aToB.frames, 'frames read from the child stdout').to.be.greaterThan(0);
  });

  it('gets a UDP echo from a host server on 127.0.0.1 through .254', async () => {
    const { stdout } = await ns.exec(process.execPath, [join(TOOLS, 'udp-probe.mjs'), HOST, String(echo.port), '1200', '5000']);
    expect(JSON.parse(stdout.trim())).to.deep.equal({ ok: true, bytes: 1200, echoed: true });
    expect(echo.received).to.be.greaterThan(0);
  });

  it('writes nothing but frames to stdout; the summary and "hnet ready" go to stderr', () => {
    const stream = Buffer.concat(raw);
    expect(framingProblem(stream), 'stdout is not a clean frame stream').to.equal(null);
    expect(link.stats.drops).to.deep.equal({});
    expect(stderr).to.match(/hnet ready/);
    expect(stderr).to.match(/serving 192\.168\.65\.0\/24/);
    raw = [];
  });

  it('exits 0 when its stdin closes, as the child of a VM monitor that went away', async () => {
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    child.stdin!.end();
    expect(await exited).to.equal(0);
    expect(stderr).to.match(/stdio guest closed its stdin/);
  });
});
