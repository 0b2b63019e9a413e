/**
 * The host's DNS configuration as a list of resolvers, for diagnose.
 *
 * - Linux: /etc/resolv.conf (resolv.conf(5), parsed by services/dns/resolv-conf.ts):
 *   one resolver, no interface; the caller finds which interface a nameserver
 *   is routed through (a VPN's DNS is usually reached through the VPN).
 * - Linux with systemd-resolved: also `resolvectl dns`, one resolver per link
 *   line ("Link 5 (tun0): 10.8.0.1 10.8.0.2"), so a VPN's per-link DNS is seen
 *   even though resolv.conf only names the 127.0.0.53 stub.
 * - macOS: `scutil --dns`, the "DNS configuration" section (the scoped section
 *   after "DNS configuration (for scoped queries)" is skipped): one resolver
 *   per "resolver #N" block with nameserver[i], domain, search domain[i] and
 *   "if_index : 17 (utun3)", which names the interface a VPN's resolver is bound to.
 *
 * Parsers are pure and never throw; readers turn a missing file or tool into
 * an empty list.
 */
import { readFile } from 'node:fs/promises';
import { parseResolvConf } from '../services/dns/resolv-conf.js';
import type { Runner } from './exec.js';
import type { Platform } from './addresses.js';

export interface HostResolver {
  nameservers: string[];
  /** The domain this resolver answers for (macOS supplemental resolvers); absent = default. */
  domain?: string;
  search: string[];
  /** The interface the resolver is bound to (macOS if_index name). */
  interface?: string;
}

export function resolversFromResolvConf(text: string): HostResolver[] {
  const rc = parseResolvConf(text);
  if (rc.nameservers.length === 0 && rc.search.length === 0) return [];
  return [{ nameservers: rc.nameservers.map((n) => n.host), search: rc.search }];
}

/** Parse macOS `scutil --dns`. */
export function parseScutilDns(text: string): HostResolver[] {
  const out: HostResolver[] = [];
  let cur: HostResolver | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (/^DNS configuration \(for scoped queries\)/.test(line)) break;
    if (/^resolver #\d+/.test(line.trim())) {
      cur = { nameservers: [], search: [] };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const m = /^\s*([a-z_ ]+?)(?:\[\d+\])?\s*:\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'nameserver') cur.nameservers.push(value.trim());
    else if (key === 'domain') cur.domain = value.trim();
    else if (key === 'search domain') cur.search.push(value.trim());
    else if (key === 'if_index') {
      const name = /\(([^)]+)\)/.exec(value);
      if (name) cur.interface = name[1];
    }
  }
  return out.filter((r) => r.nameservers.length > 0 || r.domain !== undefined);
}

/** Parse `resolvectl dns` (systemd-resolved): per-link servers; the Global line has no interface. */
export function parseResolvectlDns(text: string): HostResolver[] {
  const out: HostResolver[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^(?:Global|Link \d+ \(([^)]+)\)):\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    const nameservers = (m[2] ?? '').split(/\s+/).filter((w) => w.length > 0).map((w) => w.replace(/#.*$/, ''));
    if (nameservers.length === 0) continue;
    const r: HostResolver = { nameservers, search: [] };
    if (m[1] !== undefined) r.interface = m[1];
    out.push(r);
  }
  return out;
}

export async function readHostResolvers(runner: Runner, platform: Platform = process.platform, resolvConfPath = '/etc/resolv.conf'): Promise<HostResolver[]> {
  if (platform === 'darwin') {
    try {
      const r = await runner('scutil', ['--dns']);
      return r.exitCode === 0 ? parseScutilDns(r.stdout) : [];
    } catch {
      return [];
    }
  }
  let out: HostResolver[] = [];
  try {
    out = resolversFromResolvConf(await readFile(resolvConfPath, 'utf8'));
  } catch {
    /* no resolv.conf */
  }
  try {
    const r = await runner('resolvectl', ['dns']);
    if (r.exitCode === 0) out = out.concat(parseResolvectlDns(r.stdout));
  } catch {
    /* no systemd-resolved */
  }
  return out;
}
