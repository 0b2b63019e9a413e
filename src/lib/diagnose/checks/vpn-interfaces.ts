/**
 * vpn.interfaces (--vpn): interfaces that look like VPNs and carry IPv4
 * (host/vpn.ts), and on macOS the connected VPN services (scutil --nc list).
 * Informational: pass whether or not a VPN is up.
 */
import type { Check } from '../types.js';
import { vpnInterfaces } from './common.js';

export const vpnInterfacesCheck: Check = {
  id: 'vpn.interfaces',
  title: 'VPN interfaces',
  group: 'vpn',
  vpnOnly: true,
  async run(f) {
    const [vpns, services] = await Promise.all([vpnInterfaces(f), f.ncServices()]);
    const connected = services.filter((s) => s.state === 'Connected').map((s) => `${s.name} [${s.type}]`);
    const data = { interfaces: vpns.map((v) => ({ name: v.name, ipv4: v.ipv4, mtu: v.mtu ?? null, up: v.up, reason: v.reason })), services: connected };
    if (vpns.length === 0) return { status: 'pass', detail: `no VPN interface carries IPv4${connected.length ? `; services connected: ${connected.join(', ')}` : ''}`, data };
    const list = vpns.map((v) => `${v.name} ${v.ipv4.join(' ')}${v.mtu ? ` mtu ${v.mtu}` : ''}`).join('; ');
    return { status: 'pass', detail: `${list}${connected.length ? `; services connected: ${connected.join(', ')}` : ''}`, data };
  },
};
