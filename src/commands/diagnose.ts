/**
 * `hnet diagnose [--vpn] [--name NAME] [--target HOST:PORT]`: find what breaks
 * guest networking and say what to do. Checks run in parallel behind a spinner
 * on stderr; people get a table (✓ ! ✗ -) and next steps, scripts get the
 * stable "hnet.diagnose/v1" JSON (src/lib/diagnose/report.ts). Exit 1 when
 * any check fails, 0 otherwise (warnings and skips included).
 */
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { diagnose } from '../lib/diagnose/checks/index.js';
import { exitCodeOf, renderReport, type DiagnoseReport } from '../lib/diagnose/report.js';
import { startSpinner } from '../lib/ui/spinner.js';
import { UsageError } from '../lib/errors.js';

function parseTarget(text: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError('HNET_BAD_SPEC', `--target ${text} is not HOST:PORT`, ['use a form like example.com:443 or 10.1.2.3:22']);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

export default class Diagnose extends BaseCommand {
  static override summary = 'find what breaks guest networking, and say what to do';
  static override examples = ['<%= config.bin %> diagnose', '<%= config.bin %> diagnose --vpn --json', '<%= config.bin %> diagnose --name intranet.example.com --target intranet.example.com:443'];

  static override flags = {
    vpn: Flags.boolean({ description: 'also check VPN interfaces, full/split tunnel, subnet overlap, MTU and VPN DNS' }),
    name: Flags.string({ description: 'a host name: the host and the daemon must resolve it alike' }),
    target: Flags.string({ description: 'HOST:PORT to reach over TCP from the host and through the daemon' }),
    timeout: Flags.integer({ description: 'seconds each check may take', default: 10, min: 1 }),
  };

  async run(): Promise<DiagnoseReport> {
    const { flags } = await this.parse(Diagnose);
    const paths = this.paths(flags.home);
    const options = { vpn: flags.vpn, name: flags.name, target: flags.target ? parseTarget(flags.target) : undefined, timeoutMs: flags.timeout * 1000 };
    const spinner = await startSpinner('diagnosing');
    const report = await diagnose(paths, options, { onSettled: (r, done, total) => (spinner.text = `diagnosing (${done}/${total}: ${r.title})`) });
    spinner.stop();
    if (!this.jsonEnabled()) this.log(renderReport(report));
    process.exitCode = exitCodeOf(report);
    return report;
  }
}
