/**
 * vpn.mtu (--vpn): no VPN interface has an MTU below the guest MTU. Guest TCP
 * is re-segmented by host sockets, but UDP datagrams (and path-MTU discovery
 * for them) meet the VPN's smaller MTU: warn and advise --mtu.
 */
import { vpnMtuProblems } from '../../host/vpn.js';
import type { Check } from '../types.js';
import { vpnInterfaces } from './common.js';

export const vpnMtu: Check = {
  id: 'vpn.mtu',
  title: 'VPN MTU fits the guest MTU',
  group: 'vpn',
  vpnOnly: true,
  async run(f) {
    const [vpns, net] = await Promise.all([vpnInterfaces(f), f.guestNetwork()]);
    if (vpns.length === 0) return { status: 'skip', detail: 'no VPN interface', next: ['connect the VPN, then run hnet diagnose --vpn again'] };
    const small = vpnMtuProblems(vpns, net.mtu);
    const data = { guestMtu: net.mtu, vpn: vpns.map((v) => ({ name: v.name, mtu: v.mtu ?? null })) };
    if (small.length === 0) return { status: 'pass', detail: `guest MTU ${net.mtu} fits ${vpns.map((v) => `${v.name} (${v.mtu ?? '?'})`).join(', ')}`, data };
    const min = Math.min(...small.map((s) => s.mtu));
    return {
      status: 'warn',
      detail: `guest MTU ${net.mtu} is larger than ${small.map((s) => `${s.name} MTU ${s.mtu}`).join(', ')}: large UDP datagrams will be fragmented or dropped`,
      next: [`restart with a matching MTU: hnet start --home ${f.paths.home} --mtu ${Math.max(576, min)}`],
      data,
    };
  },
};
