/**
 * vpn.tunnel (--vpn): full or split tunnel, from the routing table. Both work
 * for guests (their flows are host sockets); the detail says which traffic
 * the VPN carries. Informational: pass.
 */
import { tunnelMode } from '../../host/vpn.js';
import type { Check } from '../types.js';
import { vpnInterfaces } from './common.js';

export const vpnTunnel: Check = {
  id: 'vpn.tunnel',
  title: 'VPN full or split tunnel',
  group: 'vpn',
  vpnOnly: true,
  async run(f) {
    const [vpns, routes] = await Promise.all([vpnInterfaces(f), f.routes()]);
    const t = tunnelMode(routes, vpns);
    const data = { mode: t.mode, via: t.via ?? null, evidence: t.evidence };
    if (t.mode === 'none') return { status: 'pass', detail: vpns.length ? 'VPN interfaces carry no routes' : 'no VPN', data };
    if (t.mode === 'full') return { status: 'pass', detail: `full tunnel through ${t.via} (${t.evidence.join(' + ')}): all guest traffic leaves through the VPN`, data };
    const shown = t.evidence.slice(0, 5).join(', ') + (t.evidence.length > 5 ? ` and ${t.evidence.length - 5} more` : '');
    return { status: 'pass', detail: `split tunnel through ${t.via}: ${shown}; other traffic uses the default route`, data };
  },
};
