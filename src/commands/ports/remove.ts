/**
 * `hnet ports remove [HOST_IP:]HOST_PORT[-END][/tcp|/udp] | --all`: stop
 * forwarding and forget the forward in HOME/config.json. The host port is free
 * when the command returns. No such forward: HNET_NOT_FOUND, exit 1.
 */
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { UsageError } from '../../lib/errors.js';
import { removePorts, type PortsChangeResult } from '../../lib/daemon/ports.js';
import { theme } from '../../lib/ui/theme.js';

export default class PortsRemove extends BaseCommand {
  static override summary = 'stop forwarding a host port';
  static override examples = ['<%= config.bin %> ports remove 8080', '<%= config.bin %> ports remove 127.0.0.1:5353/udp', '<%= config.bin %> ports remove --all'];

  static override args = {
    spec: Args.string({ required: false, description: '[HOST_IP:]HOST_PORT[-END][/tcp|/udp]' }),
  };

  static override flags = {
    all: Flags.boolean({ description: 'remove every forward' }),
  };

  async run(): Promise<PortsChangeResult> {
    const { args, flags } = await this.parse(PortsRemove);
    if (!flags.all && args.spec === undefined) throw new UsageError('HNET_BAD_SPEC', 'name a forward to remove, or pass --all', ['hnet ports remove 8080', 'hnet ports list']);
    const res = await removePorts(this.paths(flags.home), { spec: args.spec, all: flags.all });
    if (this.jsonEnabled()) return res;
    this.log(`${theme.symbols.pass} ${res.message}`);
    return res;
  }
}
