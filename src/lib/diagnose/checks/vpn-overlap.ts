/**
 * vpn.overlap (--vpn): no host route overlaps the guest subnet (the running
 * daemon's, else config.json's, else the default). An overlap hides those
 * host-side addresses from guests: fail, naming a free subnet for --subnet.
 */
import { parseCidr } from '../../wire/addr.js';
import { subnetOverlaps } from '../../host/vpn.js';
import { firstFreeSubnet } from '../../iface/subnet-choice.js';
import type { Check } from '../types.js';
import { vpnInterfaces } from './common.js';

export const vpnOverlap: Check = {
  id: 'vpn.overlap',
  title: 'no host route overlaps the guest subnet',
  group: 'vpn',
  vpnOnly: true,
  async run(f) {
    const [vpns, routes, net] = await Promise.all([vpnInterfaces(f), f.routes(), f.guestNetwork()]);
    const subnet = parseCidr(net.subnet);
    if (!subnet) return { status: 'fail', detail: `the guest subnet ${net.subnet} is not a CIDR`, next: ['fix "subnet" in config.json'] };
    const o = subnetOverlaps(routes, subnet, vpns);
    const data = { subnet: o.subnet, subnetSource: net.source, routes: o.routes };
    if (o.routes.length === 0) return { status: 'pass', detail: `${o.subnet} (${net.source}) overlaps no host route`, data };
    const free = firstFreeSubnet(routes) ?? '172.30.65.0/24';
    return {
      status: 'fail',
      detail: `${o.subnet} (${net.source}) overlaps ${o.routes.map((r) => `${r.dst} dev ${r.dev}${r.vpn ? ' (VPN)' : ''}`).join(', ')}: guests cannot reach those host-side addresses`,
      next: [`restart with a free subnet: hnet start --home ${f.paths.home} --subnet ${free}`],
      data: { ...data, suggestedSubnet: free },
    };
  },
};
