/**
 * OS readers for VPN detection beyond addresses.ts and routes.ts.
 *
 * - Linux `ip -j -d link`: each link's kind (linkinfo.info_kind: "tun",
 *   "wireguard", "veth"...), so a tun device with any name is recognised.
 * - macOS `scutil --nc list`: the VPN services the system knows and their
 *   state ("* (Connected)   UUID PPP --> L2TP  "Work VPN"  [PPP/L2TP]").
 *
 * Parsers are pure, never throw, and skip what they cannot read. Readers take
 * a Runner (exec.ts); a missing tool or a failed command reads as empty, since
 * these facts only refine what diagnose says.
 */
import type { Runner } from './exec.js';
import type { Platform } from './addresses.js';
import { parseIpJson } from './ip-json.js';

export interface LinkInfo {
  name: string;
  /** linkinfo.info_kind, or link_type "none" for L3 devices (tun, wireguard). */
  kind?: string;
  mtu?: number;
}

/** Parse `ip -j -d link` (iproute2 JSON). */
export function parseIpLinkJson(text: string): LinkInfo[] {
  const out: LinkInfo[] = [];
  for (const l of parseIpJson(text)) {
    if (typeof l.ifname !== 'string') continue;
    const info: LinkInfo = { name: l.ifname };
    const kind = typeof l.linkinfo?.info_kind === 'string' ? l.linkinfo.info_kind : undefined;
    if (kind !== undefined) info.kind = kind;
    if (Number.isInteger(l.mtu)) info.mtu = l.mtu;
    out.push(info);
  }
  return out;
}

export interface NcService {
  name: string;
  /** "Connected", "Disconnected", "Connecting"... */
  state: string;
  enabled: boolean;
  id: string;
  /** The bracketed type: "PPP/L2TP", "IPSec", "VPN/com.cisco.anyconnect"... */
  type: string;
}

const NC_LINE = /^(\*)?\s*\(([^)]+)\)\s+([0-9A-Fa-f-]{8,})\s+(.*?)\s+"([^"]*)"\s+\[([^\]]*)\]/;

/** Parse macOS `scutil --nc list`. */
export function parseScutilNcList(text: string): NcService[] {
  const out: NcService[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = NC_LINE.exec(line.trim());
    if (!m) continue;
    out.push({ enabled: m[1] === '*', state: m[2]!.trim(), id: m[3]!, name: m[5]!, type: m[6]! });
  }
  return out;
}

/** Link kinds by name (Linux); empty elsewhere or when `ip` fails. */
export async function readLinkKinds(runner: Runner, platform: Platform = process.platform): Promise<Map<string, string>> {
  const kinds = new Map<string, string>();
  if (platform !== 'linux') return kinds;
  try {
    const r = await runner('ip', ['-j', '-d', 'link']);
    if (r.exitCode !== 0) return kinds;
    for (const l of parseIpLinkJson(r.stdout)) if (l.kind) kinds.set(l.name, l.kind);
  } catch {
    /* ip missing: no kinds */
  }
  return kinds;
}

/** VPN services (macOS); empty elsewhere or when scutil fails. */
export async function readNcServices(runner: Runner, platform: Platform = process.platform): Promise<NcService[]> {
  if (platform !== 'darwin') return [];
  try {
    const r = await runner('scutil', ['--nc', 'list']);
    return r.exitCode === 0 ? parseScutilNcList(r.stdout) : [];
  } catch {
    return [];
  }
}
