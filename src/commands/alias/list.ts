/**
 * `hnet alias list`: the aliases in HOME/config.json next to the IPv4
 * addresses the loopback carries now (127.0.0.1 left out), so drift shows:
 * configured but missing (restored by `hnet start`), or present but unmanaged.
 */
import { BaseCommand } from '../../base-command.js';
import { listAliases, type AliasListEntry } from '../../lib/host/alias-ops.js';
import { run } from '../../lib/host/exec.js';
import { theme } from '../../lib/ui/theme.js';

export default class AliasList extends BaseCommand {
  static override summary = 'list loopback aliases, configured and present';
  static override examples = ['<%= config.bin %> alias list', '<%= config.bin %> alias list --json'];

  async run(): Promise<AliasListEntry[]> {
    const { flags } = await this.parse(AliasList);
    const rows = await listAliases(this.paths(flags.home).config, { runner: run });
    if (this.jsonEnabled()) return rows;
    if (rows.length === 0) {
      this.log(theme.dim('no aliases; add one with: hnet alias add 10.200.10.1'));
      return rows;
    }
    const width = Math.max(...rows.map((r) => `${r.ip}/${r.prefix}`.length), 'ADDRESS'.length);
    this.log(theme.bold(`${'ADDRESS'.padEnd(width)}  CONFIGURED  PRESENT  NAME`));
    for (const r of rows) {
      const yes = (b: boolean) => (b ? `${theme.symbols.pass} yes` : `${theme.symbols.fail} no `);
      const note = r.configured && !r.present ? theme.dim('  (hnet start restores it)') : !r.configured ? theme.dim('  (not managed by hnet)') : '';
      this.log(`${`${r.ip}/${r.prefix}`.padEnd(width)}  ${yes(r.configured)}       ${yes(r.present)}    ${r.name ?? ''}${note}`);
    }
    return rows;
  }
}
