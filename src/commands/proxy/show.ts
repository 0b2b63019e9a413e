/**
 * `hnet proxy show`: every host proxy source, what it says (credentials
 * redacted), which one wins and why (DESIGN §4). With --json, stdout holds
 * only the ProxyReport, including what the running daemon applies (GET
 * /v1/proxy). PAC scripts are named but not evaluated.
 */
import { BaseCommand } from '../../base-command.js';
import { hostDetectOptions, proxyReport, type ProxyReport } from '../../lib/host/proxy/detect.js';
import type { RedactedEffective, RedactedSource } from '../../lib/host/proxy/types.js';
import { theme } from '../../lib/ui/theme.js';
import { ControlClient } from '../../lib/daemon/control-client.js';

function describe(s: RedactedSource | RedactedEffective): string[] {
  const lines: string[] = [];
  if (s.http) lines.push(`http   ${s.http}`);
  if (s.https) lines.push(`https  ${s.https}`);
  if (s.socks) lines.push(`socks  ${s.socks}`);
  if (s.pac) lines.push(`pac    ${s.pac}`);
  if (s.noProxy.length > 0) lines.push(`bypass ${s.noProxy.join(', ')}`);
  return lines;
}

export default class ProxyShow extends BaseCommand {
  static override description = 'show the host proxy settings, their source, and which one hnet uses';
  static override examples = ['<%= config.bin %> proxy show', '<%= config.bin %> proxy show --json'];

  async run(): Promise<ProxyReport> {
    const { flags } = await this.parse(ProxyShow);
    const client = new ControlClient(this.paths(flags.home));
    const report = await proxyReport(hostDetectOptions(), () => client.getProxy());
    if (this.jsonEnabled()) return report;
    for (const s of report.sources) {
      this.log(`${s.found ? theme.symbols.pass : theme.symbols.skip} ${theme.bold(s.source)}${s.found ? '' : theme.dim(' (nothing set)')}`);
      for (const l of describe(s)) this.log(`    ${l}`);
      for (const n of s.notes) this.log(`    ${theme.dim(n)}`);
    }
    this.log('');
    this.log(`${theme.bold('Uses:')} ${report.effective.source}  ${theme.dim(report.why)}`);
    for (const l of describe(report.effective)) this.log(`    ${l}`);
    if (report.effective.authenticated) this.log(`    ${theme.dim('credentials: set (hidden); the gateway proxy adds them upstream')}`);
    if (report.pacNotEvaluated) {
      this.log(theme.warn('    PAC is not evaluated by hnet: guests get no upstream proxy from it; set a manual proxy to chain one'));
    }
    const a = report.applied;
    if (a === null) this.log(theme.dim('Daemon: not running on this HOME (hnet proxy sync saves for its next start)'));
    else this.log(`${theme.bold('Daemon applies:')} ${a.http ?? 'no upstream (direct)'}${a.https && a.https !== a.http ? `, https ${a.https}` : ''}  ${theme.dim(`from ${a.source}`)}`);
    return report;
  }
}
