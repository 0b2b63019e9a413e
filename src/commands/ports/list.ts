/**
 * `hnet ports list`: the forwards saved in HOME/config.json (restored at every
 * start) and whether the running daemon serves each now; forwards the daemon
 * has that are not saved show too. Works with the daemon stopped.
 */
import { BaseCommand } from '../../base-command.js';
import { listPorts, type PortsListResult } from '../../lib/daemon/ports.js';
import { renderTable } from '../../lib/ui/table.js';
import { theme } from '../../lib/ui/theme.js';

export default class PortsList extends BaseCommand {
  static override summary = 'list forwarded ports';
  static override examples = ['<%= config.bin %> ports list', '<%= config.bin %> ports list --json'];

  async run(): Promise<PortsListResult> {
    const { flags } = await this.parse(PortsList);
    const res = await listPorts(this.paths(flags.home));
    if (this.jsonEnabled()) return res;
    const state = (p: PortsListResult['ports'][number]) =>
      p.active ? `${theme.symbols.pass} active${p.saved ? '' : theme.dim(' (not saved)')}` : res.daemon === 'running' ? `${theme.symbols.fail} not applied` : theme.dim('saved; applied at next start');
    this.log(
      renderTable(
        ['PROTO', 'HOST', 'GUEST', 'STATE'],
        res.ports.map((p) => [p.proto, `${p.hostIp}:${p.hostPort}`, `${p.guestIp ?? 'auto'}:${p.guestPort}`, state(p)]),
        { empty: 'no forwards; add one with: hnet ports add 8080:80' },
      ),
    );
    if (res.daemon === 'stopped') process.stderr.write(`${theme.symbols.warn} ${theme.warn('the daemon is not running')}\n`);
    return res;
  }
}
