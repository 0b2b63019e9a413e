/**
 * Helpers the checks share: the "needs a running daemon" skip, and the VPN
 * interface list every --vpn check starts from.
 */
import { findVpnInterfaces, type VpnInterface } from '../../host/vpn.js';
import { HnetError } from '../../errors.js';
import type { StatusReport } from '../../daemon/control-client.js';
import type { Facts, Outcome } from '../types.js';

/** The daemon's status, or the skip outcome a daemon-side check returns without one. */
export async function needDaemon(f: Facts): Promise<{ status: StatusReport } | { skip: Outcome }> {
  const d = await f.daemon();
  if (d.running) return { status: d.status };
  return { skip: { status: 'skip', detail: 'no daemon running', next: [`hnet start --home ${f.paths.home}`] } };
}

/** The daemon answered that it has no such probe (an older daemon): not a fault. */
export function probeUnsupported(err: unknown): boolean {
  return err instanceof HnetError && (err.code === 'HNET_NOT_FOUND' || err.code === 'HNET_UNSUPPORTED');
}

export async function vpnInterfaces(f: Facts): Promise<VpnInterface[]> {
  const [ifaces, routes, kinds] = await Promise.all([f.interfaces(), f.routes(), f.linkKinds()]);
  return findVpnInterfaces(ifaces, routes, kinds);
}
