/**
 * `hnet start`: run the daemon in the foreground until SIGINT/SIGTERM.
 * Parses flags into a StackConfig, starts the Daemon behind a spinner on
 * stderr, prints where guests attach and the addresses they see, then logs.
 */
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { buildStackConfig, MAX_MTU } from '../lib/iface/config.js';
import { createLogger, type LogFormat, type LogLevel } from '../lib/daemon/log.js';
import { runDaemon, type StartResult } from '../lib/daemon/run.js';
import { startSpinner } from '../lib/ui/spinner.js';
import { theme } from '../lib/ui/theme.js';
import { loadConfig } from '../lib/daemon/config.js';
import { parseDnsUpstream } from '../lib/daemon/services.js';
import { UsageError } from '../lib/errors.js';
import type { FaultOptions } from '../lib/phy/faults.js';
import { defaultListenUris, parseListenUri } from '../lib/phy/uri.js';
import { attachHintLines } from '../lib/phy/attach-hints.js';
import { chooseStartSubnet } from '../lib/iface/subnet-choice.js';
import { readRoutes } from '../lib/host/routes.js';
import { run } from '../lib/host/exec.js';
import { DEFAULT_BUSY_POLL_US } from '../lib/daemon/busy-poll.js';

/** Test-only impairments from the hidden --fault-drop and --fault-rx flags. */
function parseFaults(drop?: string, rx?: string): FaultOptions | undefined {
  if (!drop && !rx) return undefined;
  const f: FaultOptions = { dropSendRate: drop ? Number(drop) : 0 };
  for (const part of (rx ?? '').split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    if (k === 'loss') f.dropRecvRate = Number(v);
    else if (k === 'reorder') f.reorderRecvRate = Number(v);
    else if (k === 'duplicate') f.duplicateRecvRate = Number(v);
    else throw new UsageError('HNET_BAD_SPEC', `--fault-rx: unknown impairment ${k}`, ['use loss=R,reorder=R,duplicate=R']);
  }
  return f;
}

export default class Start extends BaseCommand {
  static override summary = 'Run the hnet daemon in the foreground';
  static override description = 'Serves guests attached through the --listen transports until SIGINT or SIGTERM. Without --listen: qemu:// and vfkit:// sockets under HOME/run.';
  static override examples = ["<%= config.bin %> start --listen 'tap:hnet0?netns=guest1'", '<%= config.bin %> start --listen qemu:///tmp/hnet.sock --mtu 65520'];
  static override enableJsonFlag = false;

  static override flags = {
    listen: Flags.string({ char: 'l', multiple: true, description: 'where guests attach: qemu:///abs.sock, qemu+tcp://HOST:PORT, vfkit:///abs.sock, vpnkit:///abs.sock, stdio:, tap:NAME[?netns=NS]' }),
    subnet: Flags.string({ description: 'guest IPv4 subnet (default 192.168.65.0/24, or the next free /24 when a host route overlaps it)' }),
    mtu: Flags.integer({ description: `guest MTU (576..${MAX_MTU})`, default: 1500 }),
    pcap: Flags.string({ description: 'write every frame, both directions, to this pcap file' }),
    'host-loopback': Flags.boolean({ description: "NAT the host address (.254) to the host's 127.0.0.1", default: true, allowNo: true }),
    'allow-egress': Flags.string({ multiple: true, description: 'only let guest flows leave for these CIDRs (lockdown; repeatable)' }),
    'log-level': Flags.option({ options: ['debug', 'info', 'warn', 'error'] as const, default: 'info' })(),
    'log-format': Flags.option({ options: ['text', 'json'] as const, default: 'text' })(),
    'dns-upstream': Flags.string({ multiple: true, description: "DNS server (IP[:PORT]) for forwarded query types, instead of the host's nameservers" }),
    'transparent-proxy': Flags.boolean({ description: "guest TCP to ports 80 and 443 goes through the host's upstream proxy (Host header / TLS SNI), honouring no_proxy", default: false }),
    'busy-poll': Flags.integer({ description: 'poll the event loop up to this many microseconds after each answer before sleeping (adaptive; 0 disables)', default: DEFAULT_BUSY_POLL_US, min: 0, max: 10_000 }),
    'fault-drop': Flags.string({ hidden: true, description: 'drop this share (0..1) of frames sent to guests, for tests' }),
    'fault-rx': Flags.string({ hidden: true, description: 'impair frames from guests, for tests: loss=R,reorder=R,duplicate=R' }),
  };

  async run(): Promise<StartResult> {
    const { flags } = await this.parse(Start);
    const paths = this.paths(flags.home);
    const log = createLogger(flags['log-level'] as LogLevel, flags['log-format'] as LogFormat);
    const choice = await chooseStartSubnet(flags.subnet, () => readRoutes(run));
    if (choice.message) process.stderr.write(`${theme.warn('!')} ${choice.message}\n`);
    const cfg = buildStackConfig({ subnet: choice.subnet, mtu: flags.mtu, hostLoopback: flags['host-loopback'], allowEgress: flags['allow-egress'] });
    const listen = flags.listen ?? defaultListenUris(paths.home);
    const config = loadConfig(paths.config); // a broken file stops us here, untouched
    const dnsUpstreams = (flags['dns-upstream'] ?? []).map((u) => {
      const parsed = parseDnsUpstream(u);
      if (!parsed) throw new UsageError('HNET_BAD_SPEC', `--dns-upstream ${u} is not IP[:PORT]`, ['use a form like 10.0.0.53 or 127.0.0.1:5353']);
      return parsed;
    });
    const spinner = await startSpinner('starting hnet');
    let result: StartResult;
    try {
      result = await runDaemon({ cfg, config, dnsUpstreams: dnsUpstreams.length > 0 ? dnsUpstreams : undefined, listen, paths, log, pcap: flags.pcap, faults: parseFaults(flags['fault-drop'], flags['fault-rx']), transparentProxy: flags['transparent-proxy'], busyPollUs: flags['busy-poll'] });
    } catch (err) {
      spinner.fail('hnet could not start');
      throw err;
    }
    spinner.stop();
    const s = result.summary;
    // With a stdio: listener stdout carries frames and nothing else: the summary goes to stderr.
    const say = listen.some((u) => u.startsWith('stdio:')) ? (line: string) => void process.stderr.write(`${line}\n`) : (line: string) => this.log(line);
    say(`${theme.bold('hnet')} serving ${theme.code(s.subnet)} (gateway ${s.gateway}, host ${s.hostIp}, MTU ${s.mtu})`);
    for (const l of s.listen) say(`  ${theme.dim('listen')} ${l}`);
    for (const h of attachHintLines(listen, paths.home, parseListenUri)) say(theme.dim(h));
    process.stderr.write(`hnet ready (pid ${process.pid})\n`);
    await result.stopped;
    return result;
  }
}
