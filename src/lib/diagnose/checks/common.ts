/**
 * Helpers the checks share: the "needs a running daemon" skip, and the VPN
 * interface list every --vpn check starts from.
 */
import { findVpnInterfaces, type VpnInterface } from '../../host/vpn.js';
import type { StatusReport } from '../../daemon/control-client.js';
import type { Facts, Outcome } from '../types.js';

/** The daemon's status, or the skip outcome a daemon-side check returns without one. */
export async function needDaemon(f: Facts): Promise<{ status: StatusReport } | { skip: Outcome }> {
  const d = await f.daemon();
  if (d.running) return { status: d.status };
  return { skip: { status: 'skip', detail: 'no daemon running', next: [`hnet start --home ${f.paths.home}`] } };
}

export async function vpnInterfaces(f: Facts): Promise<VpnInterface[]> {
  const [ifaces, routes, kinds] = await Promise.all([f.interfaces(), f.routes(), f.linkKinds()]);
  return findVpnInterfaces(ifaces, routes, kinds);
}
