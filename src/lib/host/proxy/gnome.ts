/**
 * GNOME: the `org.gnome.system.proxy` GSettings schema, read in one call with
 * `gsettings list-recursively org.gnome.system.proxy`, which prints one
 * `SCHEMA KEY VALUE` line per key with VALUE in GVariant text format
 * (https://docs.gtk.org/glib/gvariant-text-format.html): strings in single
 * quotes (double quotes when they contain a single quote, backslash escapes),
 * integers and booleans bare, string arrays as `['a', 'b']`, the empty array
 * as `@as []`.
 *
 * Keys used (schema org.gnome.system.proxy[.http|.https|.socks]):
 *   mode 'none'|'manual'|'auto', autoconfig-url, ignore-hosts, use-same-proxy;
 *   http: host, port, use-authentication, authentication-user, authentication-password;
 *   https/socks: host, port.
 * GNOME's authentication settings belong to the HTTP proxy only. With
 * use-same-proxy true the HTTP proxy serves https too (GLib's GProxyResolver
 * GNOME backend does the same). Mode 'auto' with an empty autoconfig-url
 * means WPAD, which hnet does not perform.
 *
 * Nothing here throws: unreadable values are skipped.
 */
import type { Runner } from '../exec.js';
import { notFound, proxyFromHostPort, type ProxySourceResult } from './types.js';

export type GValue = string | number | boolean | string[];

/** Read one quoted GVariant string starting at text[i]; returns value and the index after it. */
function readString(text: string, i: number): [string, number] | undefined {
  const q = text[i];
  if (q !== "'" && q !== '"') return undefined;
  let out = '';
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (c === '\\' && j + 1 < text.length) {
      const n = text[++j];
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
    } else if (c === q) {
      return [out, j + 1];
    } else {
      out += c;
    }
  }
  return undefined;
}

/** Parse the GVariant text of a string, int, boolean or string array. */
export function parseGVariant(text: string): GValue | undefined {
  let t = text.trim();
  if (t.startsWith('@as ')) t = t.slice(4).trim();
  if (t.startsWith('uint32 ') || t.startsWith('int32 ')) t = t.slice(t.indexOf(' ') + 1);
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (/^-?\d+$/.test(t)) return Number(t);
  if (t.startsWith("'") || t.startsWith('"')) {
    const s = readString(t, 0);
    return s && s[1] === t.length ? s[0] : undefined;
  }
  if (t.startsWith('[') && t.endsWith(']')) {
    const items: string[] = [];
    let i = 1;
    for (;;) {
      while (i < t.length && /[\s,]/.test(t[i])) i++;
      if (t[i] === ']') return items;
      const s = readString(t, i);
      if (!s) return undefined;
      items.push(s[0]);
      i = s[1];
    }
  }
  return undefined;
}

/** Parse `gsettings list-recursively` output into "schema key" -> value. */
export function parseGsettingsList(text: string): Map<string, GValue> {
  const out = new Map<string, GValue>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^(\S+)\s+(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const v = parseGVariant(m[3]);
    if (v !== undefined) out.set(`${m[1]} ${m[2]}`, v);
  }
  return out;
}

const BASE = 'org.gnome.system.proxy';

/** Interpret `gsettings list-recursively org.gnome.system.proxy` output. */
export function gnomeProxyFromGsettings(text: string): ProxySourceResult {
  const s = parseGsettingsList(text);
  const str = (schema: string, key: string): string => {
    const v = s.get(`${schema} ${key}`);
    return typeof v === 'string' ? v : '';
  };
  const num = (schema: string, key: string): number | undefined => {
    const v = s.get(`${schema} ${key}`);
    return typeof v === 'number' ? v : undefined;
  };
  const bool = (schema: string, key: string): boolean => s.get(`${schema} ${key}`) === true;
  const raw: Record<string, string> = {};
  for (const [k, v] of s) raw[k.replace(`${BASE}.`, '').replace(`${BASE} `, '').replace(' ', '.')] = Array.isArray(v) ? v.join(', ') : String(v);

  const notes: string[] = [];
  const mode = str(BASE, 'mode') || 'none';
  const ignore = s.get(`${BASE} ignore-hosts`);
  const result: ProxySourceResult = { source: 'gnome', found: false, noProxy: Array.isArray(ignore) ? ignore : [], raw, notes };
  if (mode === 'none') {
    notes.push("mode is 'none': no proxy");
    return result;
  }
  if (mode === 'auto') {
    const pac = str(BASE, 'autoconfig-url');
    if (pac !== '') result.pac = pac;
    else notes.push("mode is 'auto' with no autoconfig-url (WPAD); hnet does not perform WPAD discovery");
    result.found = result.pac !== undefined;
    return result;
  }
  if (mode !== 'manual') {
    notes.push(`unknown mode '${mode}': ignored`);
    return result;
  }
  const read = (kind: 'http' | 'https' | 'socks') => {
    const schema = `${BASE}.${kind}`;
    const host = str(schema, 'host');
    if (host === '') return undefined;
    const url = proxyFromHostPort(kind === 'socks' ? 'socks5' : 'http', host, num(schema, 'port'));
    if (!url) notes.push(`${kind} host '${host}' port ${num(schema, 'port') ?? '?'} is not usable: ignored`);
    return url;
  };
  result.http = read('http');
  if (result.http && bool(`${BASE}.http`, 'use-authentication')) {
    const user = str(`${BASE}.http`, 'authentication-user');
    const pass = str(`${BASE}.http`, 'authentication-password');
    if (user !== '') result.http.username = user;
    if (pass !== '') result.http.password = pass;
  }
  if (bool(BASE, 'use-same-proxy') && result.http) {
    result.https = { ...result.http };
    notes.push('use-same-proxy is true: the HTTP proxy serves https too');
  } else {
    result.https = read('https');
  }
  result.socks = read('socks');
  for (const k of ['http', 'https', 'socks'] as const) if (result[k] === undefined) delete result[k];
  result.found = result.http !== undefined || result.https !== undefined || result.socks !== undefined;
  if (!result.found) notes.push("mode is 'manual' but no proxy host is set");
  return result;
}

/** Run gsettings and interpret it; never throws. */
export async function readGnomeProxy(runner: Runner): Promise<ProxySourceResult> {
  try {
    const r = await runner('gsettings', ['list-recursively', BASE]);
    if (r.exitCode !== 0) return notFound('gnome', `gsettings failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
    return gnomeProxyFromGsettings(r.stdout);
  } catch (err) {
    return notFound('gnome', `gsettings is not available: ${(err as Error).message}`);
  }
}
