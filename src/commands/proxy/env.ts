/**
 * `hnet proxy env [--format sh|json]`: the proxy variables for guests, in
 * upper and lower case, pointing at the gateway's proxy
 * http://http.hnet.internal:3128, with NO_PROXY from the detected host list
 * (normalised). Never any credentials (DESIGN §6).
 * sh: `export KEY='value'` lines; json (or --json): the GuestProxyEnv object.
 */
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { hostDetectOptions } from '../../lib/host/proxy/detect.js';
import { formatShellExports, guestProxyEnv, type GuestProxyEnv } from '../../lib/host/proxy/guest-env.js';

export default class ProxyEnv extends BaseCommand {
  static override description = 'print proxy environment variables for guests (upper and lower case)';
  static override examples = [
    '<%= config.bin %> proxy env',
    'eval "$(<%= config.bin %> proxy env)"',
    '<%= config.bin %> proxy env --format json',
  ];

  static override flags = {
    format: Flags.string({ description: 'output format', options: ['sh', 'json'], default: 'sh' }),
  };

  async run(): Promise<GuestProxyEnv> {
    const { flags } = await this.parse(ProxyEnv);
    const result = await guestProxyEnv({ configPath: this.paths(flags.home).config, detect: hostDetectOptions() });
    if (this.jsonEnabled()) return result;
    if (flags.format === 'json') process.stdout.write(JSON.stringify(result.vars, null, 2) + '\n');
    else process.stdout.write(formatShellExports(result.vars));
    return result;
  }
}
