/**
 * dns.name (--name NAME): the host resolves NAME, and the daemon's DNS gives
 * the same IPv4 answer (guests and host see the same DNS). Skips without --name.
 * When the daemon cannot be asked from the host, only the host side is checked
 * and the detail says so.
 */
import type { Check } from '../types.js';
import { probeUnsupported } from './common.js';

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

export const dnsName: Check = {
  id: 'dns.name',
  title: 'host and daemon resolve --name alike',
  group: 'dns',
  async run(f) {
    const name = f.options.name;
    if (!name) return { status: 'skip', detail: 'no --name given', next: ['hnet diagnose --name intranet.example.com'] };
    let host: string[];
    try {
      host = await f.hostLookup(name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      return { status: 'fail', detail: `the host cannot resolve ${name} (${code})`, next: ['check the host resolver: on Linux resolvectl query NAME, on macOS dscacheutil -q host -a name NAME', 'if the name is on a VPN, check that the VPN is connected'], data: { host: [], error: code } };
    }
    const d = await f.daemon();
    if (!d.running || !f.daemonResolve) {
      const why = d.running ? 'this daemon offers no DNS probe to the host' : 'no daemon running';
      return { status: 'pass', detail: `host: ${name} → ${host.join(', ')}; daemon side not compared (${why})`, data: { host } };
    }
    let daemon: string[];
    try {
      daemon = await f.daemonResolve(name);
    } catch (err) {
      if (probeUnsupported(err)) return { status: 'pass', detail: `host: ${name} → ${host.join(', ')}; daemon side not compared (this daemon offers no DNS probe)`, data: { host } };
      return { status: 'fail', detail: `the daemon cannot resolve ${name}: ${(err as Error).message}`, next: ['guests use the host resolver through hnet: restart the daemon after DNS changes (hnet start)'], data: { host } };
    }
    if (!sameSet(host, daemon)) {
      return { status: 'fail', detail: `${name}: host → ${host.join(', ')}, daemon → ${daemon.join(', ') || 'nothing'}`, next: ['restart the daemon so it re-reads the host resolver', 'check --dns-upstream: it bypasses the host (and VPN) resolver'], data: { host, daemon } };
    }
    return { status: 'pass', detail: `${name} → ${host.join(', ')} on host and daemon`, data: { host, daemon } };
  },
};
