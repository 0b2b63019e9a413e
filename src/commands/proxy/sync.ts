/**
 * `hnet proxy sync [--watch] [--dry-run]`: detect the host's proxy settings,
 * save them to HOME/config.json (0600) and apply them to the running daemon
 * live; without a daemon: "saved; applied at next start". --watch re-checks
 * every --interval seconds and says what changed; --dry-run shows what it
 * would apply. Credentials are never printed.
 */
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { hostDetectOptions } from '../../lib/host/proxy/detect.js';
import { syncProxy, watchProxy, type SyncResult } from '../../lib/daemon/proxy-state-sync.js';
import { theme } from '../../lib/ui/theme.js';

export default class ProxySync extends BaseCommand {
  static override description = "detect the host's proxy settings, save them and apply them to the running daemon";
  static override examples = ['<%= config.bin %> proxy sync', '<%= config.bin %> proxy sync --dry-run', '<%= config.bin %> proxy sync --watch'];

  static override flags = {
    watch: Flags.boolean({ description: 'keep running; re-check and apply whenever the host settings change' }),
    'dry-run': Flags.boolean({ description: 'show what would be applied; save and apply nothing' }),
    interval: Flags.integer({ description: 'seconds between checks with --watch', default: 5, min: 1 }),
  };

  async run(): Promise<SyncResult> {
    const { flags } = await this.parse(ProxySync);
    const opts = { paths: this.paths(flags.home), detect: hostDetectOptions(), dryRun: flags['dry-run'] };
    if (!flags.watch) {
      const result = await syncProxy(opts);
      if (!this.jsonEnabled()) this.render(result);
      return result;
    }
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    let last: SyncResult | undefined;
    await watchProxy({
      ...opts,
      intervalMs: flags.interval * 1000,
      signal: abort.signal,
      onSync: (r) => {
        last = r;
        if (this.jsonEnabled()) process.stdout.write(JSON.stringify(r) + '\n');
        else this.render(r);
      },
      onError: (err) => process.stderr.write(`${theme.warn('check failed:')} ${err.message}\n`),
    });
    return last!;
  }

  private render(r: SyncResult): void {
    const time = theme.dim(new Date().toISOString());
    this.log(`${time} ${theme.bold('proxy')} from ${r.settings.source}: http ${r.settings.http ?? 'direct'}, https ${r.settings.https ?? 'direct'}`);
    if (r.settings.noProxy.length > 0) this.log(`    ${theme.dim('bypass')} ${r.settings.noProxy.join(', ')}`);
    for (const c of r.changes) this.log(`    ${theme.dim('changed')} ${c}`);
    if (r.changes.length === 0) this.log(`    ${theme.dim('no change')}`);
    if (r.pacNotEvaluated) this.log(theme.warn('    PAC is not evaluated by hnet: guests get no upstream proxy from it'));
    this.log(`    ${r.note}`);
  }
}
