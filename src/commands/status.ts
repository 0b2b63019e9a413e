/**
 * `hnet status`: the running daemon for HOME: version, uptime, transports,
 * guests, forwarded ports, leases and counters (frames, bytes, drops by
 * reason, flows), read from the control API (GET /v1/status, /v1/ports,
 * /v1/leases). With --json stdout holds only the StatusReport. No daemon:
 * exit 1, naming `hnet start --home HOME` (control-client.ts).
 */
import { BaseCommand } from '../base-command.js';
import { ControlClient, type StatusReport } from '../lib/daemon/control-client.js';
import { renderPairs, renderTable } from '../lib/ui/table.js';
import { theme } from '../lib/ui/theme.js';

export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = d > 0 ? [`${d}d`, `${h}h`, `${m}m`] : h > 0 ? [`${h}h`, `${m}m`, `${s % 60}s`] : m > 0 ? [`${m}m`, `${s % 60}s`] : [`${s % 60}s`];
  return parts.join(' ');
}

/** Counters split into the groups people look for; drops listed by reason. */
function counterRows(counters: Record<string, number>): { traffic: [string, number][]; drops: [string, number][] } {
  const entries = Object.entries(counters).sort(([a], [b]) => a.localeCompare(b));
  return {
    traffic: entries.filter(([k]) => !k.startsWith('drop.')),
    drops: entries.filter(([k]) => k.startsWith('drop.')).map(([k, v]) => [k.slice('drop.'.length), v] as [string, number]).sort((a, b) => b[1] - a[1]),
  };
}

export default class Status extends BaseCommand {
  static override summary = 'show the running daemon: transports, guests, ports, leases, counters';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --home /tmp/hnet-a --json'];

  async run(): Promise<StatusReport> {
    const { flags } = await this.parse(Status);
    const report = await new ControlClient(this.paths(flags.home)).statusReport();
    if (this.jsonEnabled()) return report;
    const section = (title: string, body: string) => this.log(`\n${theme.bold(title)}\n${body}`);
    this.log(
      renderPairs([
        ['Daemon', `${theme.symbols.pass} running (pid ${report.pid}, hnet ${report.version})`],
        ['Uptime', formatUptime(report.uptimeS)],
        ['Network', `${report.subnet}  gateway ${report.gateway}  host ${report.hostIp}  mtu ${report.mtu}`],
      ]),
    );
    section('Transports', renderTable(['URI', 'KIND', 'GUESTS'], report.transports.map((t) => [t.uri, t.kind, t.clients]), { empty: 'none' }));
    section('Guests', renderTable(['MAC', 'IP', 'HOSTNAME', 'TRANSPORT'], report.guests.map((g) => [g.mac, g.ip, g.hostname, g.transport]), { empty: 'no guest attached yet' }));
    section(
      'Forwarded ports',
      renderTable(['PROTO', 'HOST', 'GUEST'], report.ports.map((p) => [p.proto, `${p.hostIp}:${p.hostPort}`, `${p.guestIp}:${p.guestPort}`]), { empty: 'none; add one with: hnet ports add 8080:80' }),
    );
    section('Leases', renderTable(['MAC', 'IP', 'HOSTNAME', 'EXPIRES'], report.leases.map((l) => [l.mac, l.ip, l.hostname, l.expiresAt]), { empty: 'none' }));
    const { traffic, drops } = counterRows(report.counters);
    section('Counters', renderTable(['NAME', 'VALUE'], traffic, { empty: 'none yet' }));
    section('Drops by reason', renderTable(['REASON', 'COUNT'], drops, { empty: `${theme.symbols.pass} nothing dropped` }));
    return report;
  }
}
