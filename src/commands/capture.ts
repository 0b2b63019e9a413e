/**
 * `hnet capture [-w FILE] [--duration SECONDS]`: a pcap of the running
 * daemon's live traffic (every guest frame, both directions), readable by
 * tcpdump, tshark and Wireshark. Without -w the pcap goes to stdout (refused
 * on a terminal and with --json, which keeps stdout for the JSON summary).
 */
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { UsageError } from '../lib/errors.js';
import { captureTraffic, type CaptureResult } from '../lib/daemon/capture.js';
import { theme } from '../lib/ui/theme.js';

export default class Capture extends BaseCommand {
  static override summary = 'capture live guest traffic as pcap';
  static override examples = [
    '<%= config.bin %> capture -w guest.pcap --duration 5',
    '<%= config.bin %> capture --duration 10 | tshark -r -',
  ];

  static override flags = {
    write: Flags.string({ char: 'w', description: 'write the pcap to FILE (default: stdout)' }),
    duration: Flags.integer({ description: 'seconds to capture', default: 10, min: 1 }),
  };

  async run(): Promise<CaptureResult> {
    const { flags } = await this.parse(Capture);
    if (flags.write === undefined && (this.jsonEnabled() || process.stdout.isTTY)) {
      throw new UsageError('HNET_BAD_SPEC', 'the pcap needs a file or a pipe', ['hnet capture -w guest.pcap', 'hnet capture | tshark -r -']);
    }
    if (flags.write !== undefined) process.stderr.write(`${theme.dim(`capturing ${flags.duration} s to ${flags.write} ...`)}\n`);
    const res = await captureTraffic(this.paths(flags.home), { seconds: flags.duration, file: flags.write, out: process.stdout });
    if (this.jsonEnabled()) return res;
    // stdout may be carrying the pcap: the summary goes to stderr.
    process.stderr.write(`${theme.symbols.pass} ${res.packets} packets, ${res.bytes} bytes in ${res.seconds} s${res.file === '-' ? '' : ` -> ${res.file}`}\n`);
    return res;
  }
}
