/**
 * daemon.guests: guests are attached and hold a DHCP lease. No guest is a
 * warning (nothing is broken yet); a guest without a lease is a warning too
 * (a static address works, but DNS and proxy settings come with the lease).
 */
import type { Check } from '../types.js';
import { needDaemon } from './common.js';

export const daemonGuests: Check = {
  id: 'daemon.guests',
  title: 'guests attached with a lease',
  group: 'daemon',
  async run(f) {
    const d = await needDaemon(f);
    if ('skip' in d) return d.skip;
    const { guests, leases } = d.status;
    if (guests.length === 0) return { status: 'warn', detail: 'no guest has sent a frame yet', next: ['start the VM or namespace and check its network device is attached to one of the transports', 'inside the guest: run its DHCP client (dhclient, udhcpc, systemd-networkd)'] };
    const leased = new Set(leases.map((l) => l.mac.toLowerCase()));
    const without = guests.filter((g) => !leased.has(g.mac.toLowerCase()));
    const data = { guests: guests.length, withoutLease: without.map((g) => ({ mac: g.mac, ip: g.ip })) };
    if (without.length > 0) {
      return { status: 'warn', detail: `${without.length} of ${guests.length} guests have no lease: ${without.map((g) => `${g.mac}${g.ip ? ` (${g.ip})` : ''}`).join(', ')}`, next: ['run the DHCP client inside those guests to get DNS, gateway and MTU from hnet'], data };
    }
    return { status: 'pass', detail: `${guests.length} guest${guests.length === 1 ? '' : 's'}, all with a lease`, data };
  },
};
