/**
 * `hnet alias add IP[/PREFIX] [--name NAME] [--dry-run]`: give the loopback an
 * extra IPv4 address (default /32) so guests and host tools reach host services
 * on it. Persists to HOME/config.json, then applies; `hnet start` restores it.
 * Refused inside the guest subnet (HNET_ALIAS_IN_SUBNET) or when another
 * interface has it (HNET_ALIAS_IN_USE); without root the error names the exact
 * sudo command. --dry-run prints the commands and changes nothing.
 */
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { addAlias, type AliasAddResult } from '../../lib/host/alias-ops.js';
import { run } from '../../lib/host/exec.js';
import { theme } from '../../lib/ui/theme.js';

export default class AliasAdd extends BaseCommand {
  static override summary = 'add a loopback alias';
  static override description = 'Adds IP (default prefix /32) to the loopback (lo on Linux, lo0 on macOS) and records it in HOME/config.json.';
  static override examples = ['<%= config.bin %> alias add 10.200.10.1 --name db', '<%= config.bin %> alias add 10.200.10.1/32 --dry-run'];

  static override args = {
    ip: Args.string({ required: true, description: 'IPv4 address, optionally with /PREFIX' }),
  };

  static override flags = {
    name: Flags.string({ description: 'a label for people' }),
    'dry-run': Flags.boolean({ description: 'print the commands, change nothing' }),
  };

  async run(): Promise<AliasAddResult> {
    const { args, flags } = await this.parse(AliasAdd);
    const res = await addAlias(this.paths(flags.home).config, args.ip, { runner: run, name: flags.name, dryRun: flags['dry-run'] });
    for (const w of res.warnings) process.stderr.write(`${theme.symbols.warn} ${theme.warn(w)}\n`);
    if (this.jsonEnabled()) return res;
    const label = res.name ? ` (${res.name})` : '';
    if (res.status === 'planned') {
      this.log(res.commands.length > 0 ? `would run:` : `${res.ip} is already on the loopback; would only record it`);
      for (const c of res.commands) this.log(`  ${theme.code(c)}`);
    } else if (res.status === 'present') {
      this.log(`${theme.symbols.pass} ${res.ip}/${res.prefix}${label} already present on the loopback; recorded in config`);
    } else {
      this.log(`${theme.symbols.pass} added ${res.ip}/${res.prefix}${label} to the loopback`);
    }
    return res;
  }
}
