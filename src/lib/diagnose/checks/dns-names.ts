/**
 * dns.names: the daemon's DNS answers hnet's own names (DESIGN §1):
 * host.hnet.internal → the host address, gateway.hnet.internal → the gateway.
 * Skips when no daemon runs, or when this daemon offers no way to ask its DNS
 * from the host (Facts.daemonResolve absent).
 */
import type { Check } from '../types.js';
import { needDaemon, probeUnsupported } from './common.js';

export const dnsNames: Check = {
  id: 'dns.names',
  title: "daemon DNS answers hnet's names",
  group: 'dns',
  async run(f) {
    const d = await needDaemon(f);
    if ('skip' in d) return d.skip;
    if (!f.daemonResolve) return { status: 'skip', detail: "this daemon offers no DNS probe to the host; ask from a guest: nslookup host.hnet.internal", next: [`inside a guest: nslookup host.hnet.internal ${d.status.gateway}`] };
    const want: Array<[string, string]> = [
      ['host.hnet.internal', d.status.hostIp],
      ['gateway.hnet.internal', d.status.gateway],
    ];
    const wrong: string[] = [];
    for (const [name, ip] of want) {
      let got: string[];
      try {
        got = await f.daemonResolve(name);
      } catch (err) {
        if (probeUnsupported(err)) return { status: 'skip', detail: 'this daemon offers no DNS probe to the host', next: [`inside a guest: nslookup host.hnet.internal ${d.status.gateway}`] };
        got = [`error: ${(err as Error).message}`];
      }
      if (!got.includes(ip)) wrong.push(`${name} → ${got.join(', ') || 'nothing'} (expected ${ip})`);
    }
    if (wrong.length > 0) return { status: 'fail', detail: wrong.join('; '), next: [`restart the daemon: hnet start --home ${f.paths.home}`, 'report this as a bug with the output of hnet status'] };
    return { status: 'pass', detail: want.map(([n, ip]) => `${n} → ${ip}`).join(', ') };
  },
};
