/**
 * The no_proxy list: one normal form and the ONE matching function every
 * part of hnet uses (the gateway's proxy, `proxy env`, diagnose).
 *
 * Normal form (normaliseNoProxy), entry by entry:
 *   - trimmed, lower-cased, empty entries dropped, duplicates dropped (first kept);
 *   - a `scheme://` prefix and a trailing `/` are dropped (people paste URLs);
 *   - `*.corp` -> `.corp` (macOS, Windows and KDE write wildcards; curl wants a suffix);
 *   - IPv4 CIDR shorthand as macOS writes it: `169.254/16` -> `169.254.0.0/16`,
 *     `10/8` -> `10.0.0.0/8`; host bits are cleared; a bad prefix drops the entry;
 *   - `<local>` (Windows, Chrome) and macOS ExcludeSimpleHostnames -> `<simple>`;
 *   - always appended: localhost, 127.0.0.0/8, the guest subnet, the gateway and
 *     `.hnet.internal`, so guest-local traffic never goes through a proxy.
 *
 * Matching (matchesNoProxy) follows curl's lib/noproxy.c (curl >= 7.86):
 *   - `*` alone matches every host;
 *   - a name entry matches the host itself and any subdomain of it; a leading
 *     dot is ignored, so `.corp`, `corp` both match `corp` and `a.corp` but
 *     never `xcorp`; a trailing dot on the host is ignored; case-insensitive;
 *   - an IP host matches an equal IP entry or a CIDR entry containing it
 *     (IPv4 CIDR via the netmask library; IPv6 entries match exactly); a
 *     name entry never matches an IP host and a CIDR never matches a name;
 *   - `host:port` entries (an hnet extension, also honoured by Go's
 *     httpproxy) match only that port; with an unknown port they do not match;
 *   - `<simple>` matches names without a dot (not IP literals).
 */
import { Netmask } from 'netmask';
import { parseIpv4 } from '../wire/addr.js';

export const SIMPLE_MARKER = '<simple>';

export interface NoProxyContext {
  /** The guest subnet, e.g. 192.168.65.0/24. */
  subnet: string;
  /** The gateway address, e.g. 192.168.65.1. */
  gateway: string;
}

const ALWAYS = (ctx: NoProxyContext) => ['localhost', '127.0.0.0/8', ctx.subnet, ctx.gateway, '.hnet.internal'];

/** Expand macOS IPv4 CIDR shorthand; undefined when the entry is no valid IPv4 CIDR. */
function normaliseCidr(entry: string): string | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){0,3})\/(\d{1,2})$/.exec(entry);
  if (!m) return undefined;
  const octets = m[1].split('.');
  while (octets.length < 4) octets.push('0');
  const prefix = Number(m[2]);
  if (prefix > 32 || parseIpv4(octets.join('.')) === undefined) return undefined;
  try {
    const block = new Netmask(`${octets.join('.')}/${prefix}`);
    return `${block.base}/${prefix}`;
  } catch {
    return undefined;
  }
}

function normaliseOne(input: string): string | undefined {
  let e = input.toLowerCase();
  // Until nothing changes: stripping one layer can expose another (`! /` ->
  // `! `, `http:// http://x` -> `http://x`), and a second normalisation
  // must find nothing left to do.
  for (let prev = ''; prev !== e; ) {
    prev = e;
    e = e.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//, '').replace(/\/$/, '');
  }
  if (e === '') return undefined;
  if (e === '<local>' || e === SIMPLE_MARKER) return SIMPLE_MARKER;
  if (e === '*' || e === '*.') return '*';
  if (e.startsWith('*.')) e = e.slice(1);
  if (e.includes('/')) return /^[\d.]+\/\d+$/.test(e) ? normaliseCidr(e) : e.includes(':') ? e : undefined;
  return e;
}

/** Normalise a bypass list and add what guests must always reach directly. */
export function normaliseNoProxy(entries: string[], ctx: NoProxyContext): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of [...entries, ...ALWAYS(ctx)]) {
    for (const part of raw.split(',')) {
      const e = normaliseOne(part);
      if (e === undefined || seen.has(e)) continue;
      seen.add(e);
      out.push(e);
    }
  }
  return out;
}

function isIpv6(host: string): boolean {
  return host.includes(':');
}

function stripBrackets(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** Split `host:port`, `[v6]:port`; a bare IPv6 literal has no port. */
function splitEntry(entry: string): { host: string; port?: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (v6) return { host: v6[1], port: v6[2] !== undefined ? Number(v6[2]) : undefined };
  const colons = entry.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = entry.split(':');
    if (/^\d+$/.test(port)) return { host, port: Number(port) };
  }
  return { host: entry };
}

function matchesEntry(host: string, hostIsIp: boolean, entry: string): boolean {
  if (entry.includes('/')) {
    if (!hostIsIp || isIpv6(host)) return false;
    try {
      return new Netmask(entry).contains(host);
    } catch {
      return false;
    }
  }
  const e = stripBrackets(entry);
  if (hostIsIp) return e === host;
  const name = e.startsWith('.') ? e.slice(1) : e;
  if (name === '') return false;
  if (host === name) return true;
  return host.endsWith(`.${name}`);
}

/** True when a connection to host[:port] must bypass the proxy per `list`. */
export function matchesNoProxy(host: string, port: number | undefined, list: string[]): boolean {
  const h = stripBrackets(host.trim().toLowerCase()).replace(/\.$/, '');
  if (h === '') return false;
  const hostIsIp = isIpv6(h) || parseIpv4(h) !== undefined;
  for (const raw of list) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    if (entry === SIMPLE_MARKER || entry === '<local>') {
      if (!hostIsIp && !h.includes('.')) return true;
      continue;
    }
    const { host: eh, port: ep } = entry.includes('/') ? { host: entry, port: undefined } : splitEntry(entry);
    if (ep !== undefined && ep !== port) continue;
    if (matchesEntry(h, hostIsIp, eh)) return true;
  }
  return false;
}
