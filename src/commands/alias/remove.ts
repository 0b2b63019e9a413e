/**
 * `hnet alias remove IP [--dry-run]`: take an alias hnet manages off the
 * loopback and out of HOME/config.json. Addresses hnet did not add are left
 * alone (HNET_ALIAS_NOT_OURS); unknown ones fail with HNET_ALIAS_NOT_FOUND.
 */
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { removeAlias, type AliasRemoveResult } from '../../lib/host/alias-ops.js';
import { run } from '../../lib/host/exec.js';
import { theme } from '../../lib/ui/theme.js';

export default class AliasRemove extends BaseCommand {
  static override summary = 'remove a loopback alias';
  static override description = 'Removes IP from the loopback and from HOME/config.json.';
  static override examples = ['<%= config.bin %> alias remove 10.200.10.1', '<%= config.bin %> alias remove 10.200.10.1 --dry-run'];

  static override args = {
    ip: Args.string({ required: true, description: 'the alias IPv4 address' }),
  };

  static override flags = {
    'dry-run': Flags.boolean({ description: 'print the commands, change nothing' }),
  };

  async run(): Promise<AliasRemoveResult> {
    const { args, flags } = await this.parse(AliasRemove);
    const res = await removeAlias(this.paths(flags.home).config, args.ip, { runner: run, dryRun: flags['dry-run'] });
    if (this.jsonEnabled()) return res;
    if (res.status === 'planned') {
      this.log(`would remove ${res.ip} from config.json${res.commands.length > 0 ? ' and run:' : ' (it is not on the loopback)'}`);
      for (const c of res.commands) this.log(`  ${theme.code(c)}`);
    } else {
      const where = res.removedFromLoopback ? 'the loopback and config' : 'config (it was not on the loopback)';
      this.log(`${theme.symbols.pass} removed ${res.ip} from ${where}`);
    }
    return res;
  }
}
