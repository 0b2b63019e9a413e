/**
 * Every diagnose check, in report order (report.ts: this order is part of the
 * stable output), and the one entry point `diagnose()` the command calls.
 */
import type { HomePaths } from '../../daemon/home.js';
import { buildReport, type DiagnoseReport } from '../report.js';
import { runChecks } from '../runner.js';
import { hostFacts } from '../facts.js';
import type { Check, CheckResult, DiagnoseOptions, Facts } from '../types.js';
import { daemonRunning } from './daemon.js';
import { daemonTransports } from './transports.js';
import { daemonGuests } from './guests.js';
import { dnsNames } from './dns-names.js';
import { dnsName } from './dns-name.js';
import { networkTarget } from './target.js';
import { proxySync } from './proxy-sync.js';
import { proxyUpstream } from './proxy-upstream.js';
import { portsForwards } from './ports.js';
import { aliasesPresent } from './aliases.js';
import { vpnInterfacesCheck } from './vpn-interfaces.js';
import { vpnTunnel } from './vpn-tunnel.js';
import { vpnOverlap } from './vpn-overlap.js';
import { vpnMtu } from './vpn-mtu.js';
import { vpnDns } from './vpn-dns.js';

export const ALL_CHECKS: readonly Check[] = [
  daemonRunning,
  daemonTransports,
  daemonGuests,
  dnsNames,
  dnsName,
  networkTarget,
  proxySync,
  proxyUpstream,
  portsForwards,
  aliasesPresent,
  vpnInterfacesCheck,
  vpnTunnel,
  vpnOverlap,
  vpnMtu,
  vpnDns,
];

export function selectChecks(options: Pick<DiagnoseOptions, 'vpn'>): Check[] {
  return ALL_CHECKS.filter((c) => options.vpn || !c.vpnOnly);
}

export interface DiagnoseRun {
  facts?: Facts;
  onSettled?: (r: CheckResult, done: number, total: number) => void;
}

export async function diagnose(paths: HomePaths, options: DiagnoseOptions, run: DiagnoseRun = {}): Promise<DiagnoseReport> {
  const facts = run.facts ?? hostFacts(paths, options);
  const results = await runChecks(selectChecks(options), facts, { timeoutMs: options.timeoutMs, onSettled: run.onSettled });
  return buildReport(paths.home, options, results);
}
