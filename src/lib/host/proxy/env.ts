/**
 * Proxy settings from environment variables, and from /etc/environment
 * (pam_env(8) format: KEY=value lines, optional `export `, values optionally in
 * single or double quotes, `#` comments).
 *
 * Variables read, as curl does (curl(1) ENVIRONMENT, lib/url.c):
 *   http_proxy   lower case first. curl reads ONLY the lower-case http_proxy,
 *                because HTTP_PROXY can be set by a request header in CGI
 *                ("httpoxy", CVE-2016-5385). hnet is no CGI host, and most
 *                tools (Go, Python requests, wget) read HTTP_PROXY too, so it
 *                is accepted as a fallback, with a note.
 *   https_proxy, all_proxy, no_proxy: lower case wins over upper case.
 * all_proxy with a socks scheme becomes the SOCKS proxy; with an http scheme
 * it fills http and https where they are unset. no_proxy is comma separated.
 * Nothing here throws; unparsable URLs are noted and ignored.
 */
import { notFound, parseProxyUrl, type ProxySource, type ProxySourceResult } from './types.js';

export type Env = Record<string, string | undefined>;

function pick(env: Env, name: string, notes: string[], raw: Record<string, string>): string | undefined {
  const lower = env[name.toLowerCase()];
  const upper = env[name.toUpperCase()];
  if (lower !== undefined && lower !== '') {
    raw[name.toLowerCase()] = lower;
    if (upper !== undefined && upper !== '' && upper !== lower) {
      notes.push(`${name.toLowerCase()} and ${name.toUpperCase()} differ: lower case wins (as curl)`);
    }
    return lower;
  }
  if (upper !== undefined && upper !== '') {
    raw[name.toUpperCase()] = upper;
    if (name === 'http_proxy') notes.push('using HTTP_PROXY (upper case); curl itself reads only http_proxy');
    return upper;
  }
  return undefined;
}

/** Interpret proxy variables from an environment-like map. */
export function proxyFromEnv(env: Env, source: ProxySource = 'env'): ProxySourceResult {
  const notes: string[] = [];
  const raw: Record<string, string> = {};
  const result: ProxySourceResult = { source, found: false, noProxy: [], raw, notes };
  const parse = (name: string) => {
    const v = pick(env, name, notes, raw);
    if (v === undefined) return undefined;
    const url = parseProxyUrl(v);
    if (!url) notes.push(`${name} '${v}' is not a usable proxy URL: ignored`);
    return url;
  };
  const http = parse('http_proxy');
  const https = parse('https_proxy');
  const all = parse('all_proxy');
  if (http) result.http = http;
  if (https) result.https = https;
  if (all) {
    if (all.scheme.startsWith('socks')) {
      result.socks = all;
    } else {
      if (!result.http) result.http = all;
      if (!result.https) result.https = all;
    }
  }
  const np = pick(env, 'no_proxy', notes, raw);
  if (np !== undefined) result.noProxy = np.split(',').map((s) => s.trim()).filter(Boolean);
  result.found = result.http !== undefined || result.https !== undefined || result.socks !== undefined;
  return result;
}

/** Parse /etc/environment (pam_env format) into a map. Later lines win. */
export function parseEtcEnvironment(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    let line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('export ')) line = line.slice(7).trim();
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2].trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
      value = value.slice(1, -1);
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    out[m[1]] = value;
  }
  return out;
}

/** Read /etc/environment (or `path`) and interpret it; never throws. */
export async function readEtcEnvironment(readFile: (path: string) => Promise<string>, path = '/etc/environment'): Promise<ProxySourceResult> {
  let text: string;
  try {
    text = await readFile(path);
  } catch {
    return notFound('etc-environment', `${path} not found`);
  }
  return proxyFromEnv(parseEtcEnvironment(text), 'etc-environment');
}
