/**
 * vpn.dns (--vpn): the VPN's DNS servers. macOS: resolvers bound to a VPN
 * interface (scutil --dns if_index); Linux: resolvectl per-link servers on a
 * VPN link, and resolv.conf nameservers whose route leaves through a VPN interface. Guests ask hnet, which asks the host
 * resolver, so VPN DNS applies to them; a VPN resolver for a domain only
 * (split DNS) is named so people know which names it serves. Informational.
 */
import { parseIpv4 } from '../../wire/addr.js';
import { routesCovering } from '../../host/routes.js';
import type { Check } from '../types.js';
import { vpnInterfaces } from './common.js';

export const vpnDns: Check = {
  id: 'vpn.dns',
  title: 'VPN DNS servers',
  group: 'vpn',
  vpnOnly: true,
  async run(f) {
    const [vpns, resolvers, routes] = await Promise.all([vpnInterfaces(f), f.resolvers(), f.routes()]);
    if (vpns.length === 0) return { status: 'skip', detail: 'no VPN interface', next: ['connect the VPN, then run hnet diagnose --vpn again'] };
    const names = new Set(vpns.map((v) => v.name));
    const found: Array<{ server: string; via: string; domain: string | null }> = [];
    for (const r of resolvers) {
      for (const ns of r.nameservers) {
        let via = r.interface;
        const ip = parseIpv4(ns);
        if (via === undefined && ip !== undefined) via = routesCovering(routes, ip)[0]?.dev;
        if (via !== undefined && names.has(via) && !found.some((x) => x.server === ns && x.via === via)) found.push({ server: ns, via, domain: r.domain ?? null });
      }
    }
    const data = { servers: found };
    if (found.length === 0) return { status: 'pass', detail: 'the VPN brings no DNS servers of its own; guests use the host resolver', data };
    return { status: 'pass', detail: found.map((s) => `${s.server} via ${s.via}${s.domain ? ` for ${s.domain}` : ''}`).join(', '), data };
  },
};
