/**
 * `hnet run [--mtu N] [--] CMD [ARGS]` (Linux): run CMD in a fresh network
 * namespace networked by hnet and exit with CMD's status; the namespace, tap
 * and resolv.conf are removed afterwards (lib/daemon/netns-run.ts).
 */
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { MAX_MTU } from '../lib/iface/config.js';
import { createLogger, type LogLevel } from '../lib/daemon/log.js';
import { runInNetns, type NetnsRunResult } from '../lib/daemon/netns-run.js';
import { parseDnsUpstream } from '../lib/daemon/services.js';
import { UsageError } from '../lib/errors.js';

export default class Run extends BaseCommand {
  static override summary = 'Run a command in a new network namespace networked by hnet (Linux, root)';
  static override description = 'The namespace gets 192.168.65.2, a default route via the gateway and the gateway as DNS server; hnet serves it until the command exits, then removes everything. Exits with the command\'s status.';
  static override examples = ['<%= config.bin %> run -- curl -s http://host.hnet.internal:8080/', '<%= config.bin %> run --mtu 65520 -- iperf3 -c 192.168.65.254'];
  static override enableJsonFlag = false;
  static override strict = false;

  static override args = { cmd: Args.string({ description: 'command to run, then its arguments', required: true }) };

  static override flags = {
    mtu: Flags.integer({ description: `guest MTU (576..${MAX_MTU})`, default: 1500 }),
    subnet: Flags.string({ description: 'guest IPv4 subnet', default: '192.168.65.0/24' }),
    'allow-egress': Flags.string({ multiple: true, description: 'only let guest flows leave for these CIDRs (repeatable)' }),
    'dns-upstream': Flags.string({ multiple: true, description: "DNS server (IP[:PORT]) instead of the host's nameservers" }),
    'log-level': Flags.option({ options: ['debug', 'info', 'warn', 'error'] as const, default: 'warn' })(),
  };

  async run(): Promise<NetnsRunResult> {
    const { flags, argv } = await this.parse(Run);
    const [cmd, ...args] = argv as string[];
    const dnsUpstreams = (flags['dns-upstream'] ?? []).map((u) => {
      const parsed = parseDnsUpstream(u);
      if (!parsed) throw new UsageError('HNET_BAD_SPEC', `--dns-upstream ${u} is not IP[:PORT]`, ['use a form like 10.0.0.53 or 127.0.0.1:5353']);
      return parsed;
    });
    const log = createLogger(flags['log-level'] as LogLevel);
    const result = await runInNetns({ cmd, args, mtu: flags.mtu, subnet: flags.subnet, allowEgress: flags['allow-egress'], dnsUpstreams: dnsUpstreams.length > 0 ? dnsUpstreams : undefined, log });
    if (result.exitCode !== 0) this.exit(result.exitCode);
    return result;
  }
}
