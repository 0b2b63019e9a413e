/**
 * Paired A/B of two hnet builds (or one build with two sets of flags), for a
 * change too small for `npm run bench` to resolve on this noisy machine:
 * both daemons serve their own namespace guest at once, and every round
 * measures short connections and a sockperf round trip on each, back to
 * back, A first in odd rounds and B first in even ones. Prints each round
 * and the summary of lib/paired.ts (the median of B/A per metric, and in how
 * many rounds B won).
 *
 *   --a REV         A: a git revision, unpacked and built apart (default HEAD)
 *   --b REV         B: likewise, or "." for the working tree, built in place (default .)
 *   --a-args="..."  extra `hnet start` flags for A (e.g. --busy-poll 0); likewise --b-args
 *   --a-node="..."  extra node flags for A's daemon (e.g. --max-semi-space-size=4); likewise --b-node
 *                   (with "=": a value that starts with a dash is otherwise taken for an option)
 *   --rounds N      paired rounds (default 12)
 *   --seconds S     seconds per measurement (default 2)
 *
 * e.g. `npm run bench:ab -- --a HEAD~1 --b HEAD`, or
 * `npm run bench:ab -- --a HEAD --b HEAD --b-args="--busy-poll 0"`.
 * Each daemon's RSS is printed too, after start (as the bench's idle row
 * takes it) and after the last round.
 * Traffic stays on this machine: see the SAFETY note in lib/peers.ts.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPeer, type Peer } from './lib/peers.js';
import { connRate, latency, startHostServers, type HostServers } from './lib/measure.js';
import { freePorts, killAll, requireBenchHost, rssMiB, sleep } from './lib/proc.js';
import { pairedSummary, pairedTable, type RoundValues } from './lib/paired.js';
import { revisionTree, workingTree, type Tree } from './lib/tree.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GUEST_PORT = 5301;
const log = (s: string) => process.stderr.write(`${s}\n`);

const { values: opt } = parseArgs({
  options: {
    a: { type: 'string', default: 'HEAD' },
    b: { type: 'string', default: '.' },
    'a-args': { type: 'string', default: '' },
    'b-args': { type: 'string', default: '' },
    'a-node': { type: 'string', default: '' },
    'b-node': { type: 'string', default: '' },
    rounds: { type: 'string', default: '12' },
    seconds: { type: 'string', default: '2' },
  },
});

function tree(rev: string): Tree {
  return rev === '.' ? workingTree(REPO, log) : revisionTree(REPO, rev, log);
}

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes a whole number of at least 1, not "${v}"`);
  return n;
}

async function measure(side: { peer: Peer; srv: HostServers }, secs: number): Promise<RoundValues> {
  const { peer, srv } = side;
  const c = await connRate(peer.ns, peer.hostTarget, srv.connPort, secs, 16, peer.daemonPid);
  const l = await latency(peer.ns, peer.hostTarget, srv.sockperfPort, secs, peer.daemonPid);
  return { rate: c.rate, cpuConn: c.cpuUsPerConnection, p50: l.p50, p99: l.p99, p999: l.p999, cpuRt: l.cpuUsPerRoundTrip };
}

function show(v: RoundValues): string {
  return `${v.rate!.toFixed(0)} conn/s ${v.cpuConn!.toFixed(0)} µs/conn p50 ${v.p50!.toFixed(1)} p99 ${v.p99!.toFixed(1)} p99.9 ${v.p999!.toFixed(1)} µs ${v.cpuRt!.toFixed(1)} µs/rt`;
}

async function main(): Promise<void> {
  await requireBenchHost('npm run bench:ab', 'network namespaces, tap', ['sockperf']);
  const rounds = positive('rounds', opt.rounds!);
  const secs = positive('seconds', opt.seconds!);
  const trees: Tree[] = [];
  const sides: Array<{ peer: Peer; srv: HostServers }> = [];
  const words = (s: string) => s.split(/\s+/).filter(Boolean);
  const specs = (['a', 'b'] as const).map((k) => {
    const args = opt[`${k}-args`]!;
    const node = opt[`${k}-node`]!;
    return { rev: opt[k]!, args, node, label: `${node ? ` node ${node}` : ''}${args ? ` ${args}` : ''}` };
  });
  try {
    for (const { rev, args, node, label } of specs) {
      const t = tree(rev);
      trees.push(t);
      const [hostPort] = await freePorts(1);
      const peer = await startPeer('hnet', { mtu: 1500, hnetRoot: t.root, forward: { hostPort: hostPort!, guestPort: GUEST_PORT }, hnetArgs: words(args), nodeFlags: words(node) });
      const srv = await startHostServers(peer.serverBind).catch(async (err: Error) => {
        await peer.stop();
        throw err;
      });
      sides.push({ peer, srv });
      log(`${sides.length === 1 ? 'A' : 'B'}: ${t.commit}${label}`);
    }
    const [a, b] = sides as [(typeof sides)[0], (typeof sides)[0]];
    await sleep(500);
    const rssStart = sides.map((s) => rssMiB(s.peer.daemonPid!));
    log('warm-up (not recorded)');
    await measure(a, secs);
    await measure(b, secs);
    const results: Array<{ a: RoundValues; b: RoundValues }> = [];
    for (let r = 1; r <= rounds; r++) {
      let va: RoundValues;
      let vb: RoundValues;
      if (r % 2) {
        va = await measure(a, secs);
        vb = await measure(b, secs);
      } else {
        vb = await measure(b, secs);
        va = await measure(a, secs);
      }
      results.push({ a: va, b: vb });
      log(`round ${r}/${rounds}  A ${show(va)}  |  B ${show(vb)}`);
    }
    const rssEnd = sides.map((s) => rssMiB(s.peer.daemonPid!));
    process.stdout.write(`\nA ${trees[0]!.commit}${specs[0]!.label}, B ${trees[1]!.commit}${specs[1]!.label}: ${rounds} paired rounds of ${secs} s each\n\n`);
    process.stdout.write(pairedTable(pairedSummary(results)));
    const mib = (v: number[]) => v.map((x) => x.toFixed(1)).join(' / ');
    process.stdout.write(`\nRSS MiB, A / B: ${mib(rssStart)} after start, ${mib(rssEnd)} after the last round\n`);
  } finally {
    for (const { peer, srv } of sides) {
      await srv.stop();
      await peer.stop();
    }
    for (const t of trees) t.cleanup();
  }
}

main().catch((err: Error) => {
  killAll();
  log(`bench:ab failed: ${err.message}`);
  process.exitCode = 1;
});
