/**
 * KDE: the `[Proxy Settings]` group of `$XDG_CONFIG_HOME/kioslaverc`
 * (default ~/.config/kioslaverc), a KConfig INI file
 * (https://api.kde.org/frameworks/kconfig/html/options.html).
 *
 * ProxyType: 0 none, 1 manual, 2 PAC ("Proxy Config Script"), 3 WPAD
 * (automatic discovery, not performed by hnet), 4 "use system proxy
 * environment variables": httpProxy/httpsProxy/socksProxy/NoProxyFor then
 * hold the NAMES of environment variables (e.g. `httpProxy=http_proxy`),
 * possibly several separated by commas, the first set one wins.
 * Proxy values come as "http://host:port" or, in newer KDE, "http://host port"
 * (host and port separated by a space). NoProxyFor is comma separated.
 * ReversedException=true turns NoProxyFor into "only these use the proxy",
 * which a no_proxy list cannot express: hnet notes it and does not bypass.
 *
 * KConfig key flags: `key[$e]` expands $VAR / ${VAR} from the environment
 * (and `$(cmd)`, which hnet does not run), `key[$i]` marks it immutable, and
 * `key[en_US]` is a localised value (ignored here). Nothing here throws.
 */
import { join } from 'node:path';
import { notFound, parseProxyUrl, type ProxyScheme, type ProxySourceResult, type ProxyUrl } from './types.js';

/** Parse a KConfig file into group -> key -> value, honouring [$e] expansion. */
export function parseKConfig(text: string, env: Record<string, string | undefined>): Map<string, Map<string, string>> {
  const groups = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const g = /^\[([^\]]*)\](\[\$i\])?$/.exec(line);
    if (g) {
      current = groups.get(g[1]) ?? new Map<string, string>();
      groups.set(g[1], current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !current) continue;
    let key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    const flags = /^(.*?)((?:\[[^\]]*\])+)$/.exec(key);
    if (flags) {
      key = flags[1];
      const marks = flags[2];
      if (/\[[a-z]{2}(_[A-Z]{2})?\]/.test(marks)) continue; // localised variant
      if (/\[\$[^\]]*e[^\]]*\]/.test(marks)) value = expand(value, env);
    }
    current.set(key, value);
  }
  return groups;
}

function expand(value: string, env: Record<string, string | undefined>): string {
  return value
    .replace(/\$\(([^)]*)\)/g, '')
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a: string | undefined, b: string | undefined) => env[(a ?? b) as string] ?? '')
    .replace(/\$\$/g, '$');
}

/** "http://host port", "http://host:port" or "host port" -> ProxyUrl. */
export function parseKdeProxyValue(value: string, scheme: ProxyScheme): ProxyUrl | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  const spaced = /^(\S+)\s+(\d{1,5})$/.exec(v);
  if (spaced) {
    const base = parseProxyUrl(spaced[1], scheme);
    if (!base) return undefined;
    const port = Number(spaced[2]);
    if (port < 1 || port > 65535) return undefined;
    return { ...base, port };
  }
  return parseProxyUrl(v, scheme);
}

function fromEnvNames(names: string, env: Record<string, string | undefined>): string | undefined {
  for (const n of names.split(',').map((x) => x.trim()).filter(Boolean)) {
    const v = env[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** Interpret a kioslaverc file. */
export function kdeProxyFromKioslaverc(text: string, env: Record<string, string | undefined>): ProxySourceResult {
  const group = parseKConfig(text, env).get('Proxy Settings') ?? new Map<string, string>();
  const raw = Object.fromEntries(group);
  const notes: string[] = [];
  const type = Number(group.get('ProxyType') ?? '0');
  const result: ProxySourceResult = { source: 'kde', found: false, noProxy: [], raw, notes };
  const split = (v: string | undefined) => (v ?? '').split(/[,\s]+/).map((x) => x.trim()).filter(Boolean);
  const reversed = /^(true|1|yes|on)$/i.test(group.get('ReversedException') ?? '');

  const setProxies = (lookup: (key: string) => string | undefined) => {
    const kinds = [
      ['httpProxy', 'http', 'http'],
      ['httpsProxy', 'https', 'http'],
      ['socksProxy', 'socks', 'socks5'],
    ] as const;
    for (const [key, field, scheme] of kinds) {
      const v = lookup(key);
      if (v === undefined || v.trim() === '') continue;
      const url = parseKdeProxyValue(v, scheme);
      if (url) result[field] = url;
      else notes.push(`${key} '${v}' is not a usable proxy: ignored`);
    }
  };

  switch (type) {
    case 0:
      notes.push('ProxyType is 0: no proxy');
      return result;
    case 1:
      setProxies((k) => group.get(k));
      result.noProxy = split(group.get('NoProxyFor'));
      break;
    case 2: {
      const pac = group.get('Proxy Config Script') ?? '';
      if (pac !== '') result.pac = pac;
      else notes.push('ProxyType is 2 (PAC) but "Proxy Config Script" is empty');
      break;
    }
    case 3:
      notes.push('ProxyType is 3 (WPAD automatic discovery); hnet does not perform WPAD discovery');
      return result;
    case 4:
      notes.push('ProxyType is 4: the proxy comes from the environment variables named in kioslaverc');
      setProxies((k) => fromEnvNames(group.get(k) ?? '', env));
      result.noProxy = split(fromEnvNames(group.get('NoProxyFor') ?? '', env));
      break;
    default:
      notes.push(`unknown ProxyType ${group.get('ProxyType')}: ignored`);
      return result;
  }
  if (reversed && result.noProxy.length > 0) {
    notes.push('ReversedException is true (only the listed hosts use the proxy); a no_proxy list cannot express that, so the list is not used as bypass');
    result.noProxy = [];
  }
  result.found = result.http !== undefined || result.https !== undefined || result.socks !== undefined || result.pac !== undefined;
  if (!result.found && type !== 2) notes.push(`ProxyType is ${type} but no proxy is set`);
  return result;
}

/** Where kioslaverc lives for this user. */
export function kioslavercPath(home: string, env: Record<string, string | undefined>): string {
  return join(env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(home, '.config'), 'kioslaverc');
}

/** Read and interpret kioslaverc; never throws. */
export async function readKdeProxy(home: string, env: Record<string, string | undefined>, readFile: (path: string) => Promise<string>): Promise<ProxySourceResult> {
  const path = kioslavercPath(home, env);
  let text: string;
  try {
    text = await readFile(path);
  } catch {
    return notFound('kde', `${path} not found`);
  }
  return kdeProxyFromKioslaverc(text, env);
}
