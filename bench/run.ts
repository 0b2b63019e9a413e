/**
 * `npm run bench` (Linux, root): the same namespace guest served in turn by
 * hnet, slirp4netns, pasta and a kernel veth pair, interleaved per round
 * (A B C D, A B C D, ...), medians over rounds; writes bench/results/latest.json,
 * latest.md, latest.svg, appends history.jsonl, and prints the table.
 * Throughput, CPU per GB and RSS are measured with one peer up at a time.
 * Request/response latency and connection rate swing most with this machine's
 * noise, so they get their own phase: every peer up at once (each in its own
 * namespace, idle when not measured), alternating peer by peer over more, shorter
 * rounds, so each comparison is made within seconds.
 *
 *   --rounds N       interleaved rounds (default 3)
 *   --rr-rounds N    rounds of the latency/connection phase (default 6)
 *   --seconds S      seconds per iperf3/sockperf/connection run (default 2)
 *   --peers a,b      subset of hnet,slirp4netns,pasta,veth
 *   --committed      run hnet from `git archive HEAD` (the code as committed)
 *   --no-build       use the existing dist/ as is
 *   --profile        hnet only, under `node --cpu-prof`, through the TCP rows; prints its top self-time functions
 *   --budget S       stop starting rounds that would end after S seconds (default 540: `npm run bench` < 10 min)
 *   --label TEXT     what changed, recorded in history.jsonl
 *   --out DIR        results folder (default bench/results)
 *
 * Traffic stays on this machine: see the SAFETY note in lib/peers.ts.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PEERS, startPeer, type Peer, type PeerName } from './lib/peers.js';
import { connRate, holdConnections, iperfForward, iperfGuest, latency, startHostServers, type HostServers } from './lib/measure.js';
import { freePorts, killAll, requireBenchHost, rssMiB, sh, sleep } from './lib/proc.js';
import { addSample, historyLine, markdownTable, summarize, svgChart, type Results, type RoundSamples, type Samples } from './lib/report.js';
import { renderTop, summarizeFile } from './lib/profile.js';
import { revisionTree, workingTree, type Tree } from './lib/tree.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'rr-rounds': { type: 'string', default: '6' },
    seconds: { type: 'string', default: '2' },
    peers: { type: 'string', default: PEERS.join(',') },
    committed: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    label: { type: 'string', default: '' },
    budget: { type: 'string', default: '540' },
    out: { type: 'string', default: join(REPO, 'bench/results') },
  },
});

const GUEST_PORT = 5301; // inside the guest namespace, always free
const log = (s: string) => process.stderr.write(`${s}\n`);

function prepareHnet(): Tree {
  return opt.committed ? revisionTree(REPO, 'HEAD', log) : workingTree(REPO, log, opt['no-build']);
}

async function environment(commit: string): Promise<Results['env']> {
  const ver = async (cmd: string, args: string[], re: RegExp) => re.exec(await sh(cmd, args).catch((e: Error) => e.message))?.[1] ?? '?';
  return {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    commit,
    cpu: cpus()[0]?.model.trim() ?? '?',
    cores: cpus().length,
    kernel: release(),
    node: process.versions.node,
    versions: {
      slirp4netns: await ver('slirp4netns', ['--version'], /slirp4netns version (\S+)/),
      iperf3: await ver('iperf3', ['--version'], /iperf (\S+)/),
      passt: await ver('dpkg-query', ['-W', '-f', '${Version}', 'passt'], /(\S+)/),
      sockperf: await ver('dpkg-query', ['-W', '-f', '${Version}', 'sockperf'], /(\S+)/),
    },
  };
}

/** The connection rows: guest closes first, then the host (an HTTP/1.0 server). */
const CONN_ROWS = [
  { rate: 'conn-rate', cpu: 'cpu-conn', port: 'connPort', hostCloses: false },
  { rate: 'conn-rate-close', cpu: 'cpu-conn-close', port: 'closingPort', hostCloses: true },
] as const;

/**
 * Latency and connection rate (MTU 1500): every peer up at once with its own
 * host servers, then `rounds` rounds of sockperf and the connection tool,
 * row by row with every peer back to back, each round starting with the next
 * peer; every value goes into `s` and into its round in `rrRounds`, for the
 * per-round comparison.
 * Stops early (with a note) when the next round would end after `deadline`
 * (ms since the epoch).
 */
async function measureRequestResponse(names: PeerName[], hnetRoot: string, s: Samples, rrRounds: RoundSamples[], secs: number, rounds: number, deadline: number, notes: string[]): Promise<void> {
  const up: Array<{ peer: Peer; srv: HostServers }> = [];
  try {
    for (const name of names) {
      const [hostPort] = await freePorts(1);
      const peer = await startPeer(name, { mtu: 1500, hnetRoot, forward: { hostPort: hostPort!, guestPort: GUEST_PORT } });
      up.push({ peer, srv: await startHostServers(peer.serverBind).catch(async (err: Error) => {
        await peer.stop();
        throw err;
      }) });
    }
    // One warm-up pass per peer, not recorded: a forwarder that has been up for
    // a while is what users meet. hnet's JIT needs a few seconds of this traffic
    // (its p99 measured 80, 63, then 52 µs in its first three 2 s rounds); the
    // C forwarders are the same from the first round. sockperf's own 400 ms
    // warm-up is too short for that.
    log('request/response warm-up (not recorded)');
    for (const { peer, srv } of up) {
      await latency(peer.ns, peer.hostTarget, srv.sockperfPort, secs);
      await connRate(peer.ns, peer.hostTarget, srv.connPort, secs, 16);
      await connRate(peer.ns, peer.hostTarget, srv.closingPort, secs, 16, undefined, true);
    }
    const t0 = Date.now();
    let done = 0;
    for (let round = 1; round <= rounds; round++) {
      const roundMs = done > 0 ? (Date.now() - t0) / done : 0;
      if (done > 0 && Date.now() + roundMs > deadline) break;
      log(`request/response round ${round}/${rounds}`);
      // Each round starts with the next peer, so none is always measured first (right after the fastest one).
      const order = up.map((_, i) => up[(i + round - 1) % up.length]!);
      const thisRound: RoundSamples = {};
      rrRounds.push(thisRound);
      const put = (p: PeerName, row: string, v: number) => {
        addSample(s, row, p, v);
        if (Number.isFinite(v)) (thisRound[row] ??= {})[p] = v;
      };
      // Row by row, every peer back to back: two peers' runs of one row are
      // 2-8 s apart, not 7-20 s as when each peer ran all its rows in turn.
      // This machine's slow phases last seconds and reach every forwarder
      // (steps-2026-12-07.md), so the closer a pair, the more of a phase it shares.
      const line = new Map<PeerName, string[]>();
      for (const { peer, srv } of order) {
        const lat = await latency(peer.ns, peer.hostTarget, srv.sockperfPort, secs, peer.daemonPid);
        put(peer.name, 'lat-p50', lat.p50);
        put(peer.name, 'lat-p99', lat.p99);
        if (peer.daemonPid) put(peer.name, 'cpu-rr', lat.cpuUsPerRoundTrip);
        line.set(peer.name, [`latency p50 ${lat.p50.toFixed(1)} µs p99 ${lat.p99.toFixed(1)} µs`]);
      }
      for (const c of CONN_ROWS) {
        for (const { peer, srv } of order) {
          const { rate, cpuUsPerConnection } = await connRate(peer.ns, peer.hostTarget, srv[c.port], secs, 16, peer.daemonPid, c.hostCloses);
          put(peer.name, c.rate, rate);
          if (peer.daemonPid) put(peer.name, c.cpu, cpuUsPerConnection);
          line.get(peer.name)!.push(`${rate.toFixed(0)} conn/s${c.hostCloses ? ' with the host closing first' : ''}`);
        }
      }
      for (const [p, parts] of line) log(`  ${p} ${parts.join('; ')}`);
      done++;
    }
    const cut = done < rounds ? ` (of ${rounds}, to stay within the time budget)` : '';
    notes.push(`Latency, connections and their CPU rows: ${done} rounds${cut} × ${secs} s with every peer up at once in its own namespace, after one unrecorded warm-up round each, each row measured for every peer back to back, each round starting with the next peer; medians, and round by round above.`);
  } finally {
    for (const { peer, srv } of up) {
      await srv.stop();
      await peer.stop();
    }
  }
}

/** Every row for one peer at one MTU; samples go into `s`. */
async function measurePeer(peer: Peer, mtu: number, s: Samples, secs: number, tcpOnly: boolean): Promise<void> {
  const p = peer.name;
  const srv = await startHostServers(peer.serverBind);
  try {
    if (mtu === 1500 && peer.daemonPid && !tcpOnly) {
      await sleep(500);
      addSample(s, 'rss-idle', p, rssMiB(peer.daemonPid));
    }
    for (const reverse of [false, true]) {
      for (const streams of [1, 4]) {
        const dir = reverse ? 'h2g' : 'g2h';
        const t = await iperfGuest(peer.ns, peer.hostTarget, srv.iperfPort, { reverse, streams, seconds: secs, pid: peer.daemonPid });
        addSample(s, `tcp-${dir}-${streams}-${mtu}`, p, t.gbps);
        if (streams === 1) addSample(s, `cpu-${dir}-${mtu}`, p, t.cpuS / (t.bytes / 1e9));
        log(`  ${p} mtu ${mtu} ${dir} x${streams}: ${t.gbps.toFixed(2)} Gbit/s`);
      }
    }
    if (tcpOnly) return;
    if ('skip' in peer.forward) log(`  ${p} port forward: skipped (${peer.forward.skip})`);
    else {
      const t = await iperfForward(peer.ns, peer.forward, GUEST_PORT, { seconds: secs, pid: peer.daemonPid });
      addSample(s, `pf-h2g-${mtu}`, p, t.gbps);
      log(`  ${p} mtu ${mtu} port forward: ${t.gbps.toFixed(2)} Gbit/s`);
    }
    if (mtu !== 1500) return;
    if (peer.daemonPid) {
      const held = await holdConnections(peer.ns, peer.hostTarget, srv.connPort, 1000);
      await sleep(300);
      addSample(s, 'rss-1000', p, rssMiB(peer.daemonPid));
      await held.release();
    }
  } finally {
    await srv.stop();
  }
}

async function main(): Promise<void> {
  await requireBenchHost('npm run bench', 'network namespaces, tap, veth', ['iperf3', 'sockperf', 'slirp4netns', 'pasta']);
  const t0 = Date.now();
  const rounds = Number(opt.rounds);
  const secs = Number(opt.seconds);
  const peers = (opt.profile ? ['hnet'] : opt.peers!.split(',')) as PeerName[];
  for (const p of peers) if (!PEERS.includes(p)) throw new Error(`unknown peer ${p}; known: ${PEERS.join(', ')}`);
  const hnet = prepareHnet();
  const profDir = opt.profile ? mkdtempSync(join(tmpdir(), 'hnb-prof-')) : undefined;
  const samples: Samples = {};
  const perRound: RoundSamples[] = [];
  const notes: string[] = [];
  const tRounds = Date.now();
  let done = 0;
  try {
    for (let round = 1; round <= rounds; round++) {
      const elapsed = (Date.now() - t0) / 1000;
      const perRound = done ? (Date.now() - tRounds) / 1000 / done : 0;
      if (done >= 1 && elapsed + perRound > Number(opt.budget)) {
        notes.push(`stopped after ${done} of ${rounds} rounds to stay within the ${opt.budget} s budget (a round took ${perRound.toFixed(0)} s).`);
        break;
      }
      for (const mtu of [1500, 65520]) {
        for (const name of peers) {
          log(`round ${round}/${rounds}: ${name}, MTU ${mtu}`);
          const nodeFlags = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
          const [hostPort] = await freePorts(1);
          const peer = await startPeer(name, { mtu, hnetRoot: hnet.root, forward: { hostPort: hostPort!, guestPort: GUEST_PORT }, nodeFlags });
          try {
            if ('skip' in peer.forward && !notes.some((n) => n.startsWith(`${name}:`))) notes.push(`${name}: port-forward row skipped — ${peer.forward.skip}.`);
            await measurePeer(peer, mtu, samples, secs, opt.profile!);
          } finally {
            await peer.stop();
          }
        }
      }
      done++;
    }
    if (!opt.profile) await measureRequestResponse(peers, hnet.root, samples, perRound, secs, Number(opt['rr-rounds']), t0 + (Number(opt.budget) + 50) * 1000, notes);
  } finally {
    hnet.cleanup();
  }
  if (profDir) {
    for (const f of readdirSync(profDir).filter((x) => x.endsWith('.cpuprofile'))) {
      process.stdout.write(`\n## ${f}\n\n${renderTop(summarizeFile(join(profDir, f), hnet.root))}`);
    }
    log(`profiles kept in ${profDir}`);
    return;
  }
  notes.push('veth is the kernel path (no forwarder), so it has no CPU or RSS rows; its "port forward" row is a direct host→guest connection.');
  notes.push('pasta and slirp4netns reach the host at their gateway addresses (pasta --map-gw, slirp4netns 10.0.2.2); hnet at 192.168.65.254; all map to the host\'s 127.0.0.1.');
  const results: Results = { env: await environment(hnet.commit), rounds: done, seconds: secs, peers, notes, medians: summarize(samples, peers), samples, perRound };
  mkdirSync(opt.out!, { recursive: true });
  const md = markdownTable(results);
  writeFileSync(join(opt.out!, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(opt.out!, 'latest.md'), md);
  writeFileSync(join(opt.out!, 'latest.svg'), svgChart(results));
  appendFileSync(join(opt.out!, 'history.jsonl'), historyLine(results, opt.label || 'bench run'));
  process.stdout.write(md);
  log(`bench finished in ${((Date.now() - t0) / 1000).toFixed(0)} s; results in ${opt.out}`);
}

main().catch((err: Error) => {
  killAll();
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
