/**
 * `hnet ports add [HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp] [--guest IP]`:
 * publish guest ports on the host (127.0.0.1 unless HOST_IP is given). Saved
 * to HOME/config.json, then applied to the running daemon; with the daemon
 * stopped the result says "saved; applied at next start". Errors: HNET_BAD_SPEC
 * (exit 2), HNET_PORT_IN_USE, HNET_PORT_PRIVILEGED, HNET_UNKNOWN_GUEST,
 * HNET_AMBIGUOUS_GUEST (exit 1).
 */
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { addPorts, type PortsChangeResult } from '../../lib/daemon/ports.js';
import { theme } from '../../lib/ui/theme.js';

export default class PortsAdd extends BaseCommand {
  static override summary = 'forward a host port to a guest port';
  static override examples = [
    '<%= config.bin %> ports add 8080:80',
    '<%= config.bin %> ports add 0.0.0.0:8443:443 --guest 192.168.65.3',
    '<%= config.bin %> ports add 8000-8010:8000-8010',
    '<%= config.bin %> ports add 5353:53/udp',
  ];

  static override args = {
    spec: Args.string({ required: true, description: '[HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp]' }),
  };

  static override flags = {
    guest: Flags.string({ description: 'guest IPv4 address (default: the only guest)' }),
  };

  async run(): Promise<PortsChangeResult> {
    const { args, flags } = await this.parse(PortsAdd);
    const res = await addPorts(this.paths(flags.home), args.spec, { guest: flags.guest });
    if (this.jsonEnabled()) return res;
    this.log(`${res.status === 'applied' ? theme.symbols.pass : theme.symbols.warn} ${res.message}`);
    return res;
  }
}
