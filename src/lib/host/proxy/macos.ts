/**
 * macOS: the system proxy settings as `scutil --proxy` prints them (the
 * SCDynamicStore "State:/Network/Global/Proxies" dictionary, see scutil(8)
 * and SCSchemaDefinitions.h for the kSCPropNetProxies* key names).
 *
 * The text is a nested property list:
 *   <dictionary> {
 *     HTTPEnable : 1
 *     ExceptionsList : <array> {
 *       0 : *.local
 *     }
 *     __SCOPED__ : <dictionary> {
 *       en0 : <dictionary> { ... }
 *     }
 *   }
 * Values may be `<NULL>` (never set). A host with its Enable flag 0 is a stale
 * leftover from the Network settings pane and is ignored (with a note).
 * `__SCOPED__` holds per-interface dictionaries; the top level is what the
 * primary service uses, so scoped entries are only reported in notes.
 * `ExcludeSimpleHostnames : 1` becomes the `<local>` bypass entry, which
 * no-proxy.ts normalises to `<simple>`.
 *
 * `parseScutil` never throws; text it cannot read yields an empty dictionary.
 */
import type { Runner } from '../exec.js';
import { notFound, proxyFromHostPort, type ProxyScheme, type ProxySourceResult, type ProxyUrl } from './types.js';

export type ScValue = string | ScValue[] | ScDict;
export interface ScDict {
  [key: string]: ScValue;
}

const OPEN = /^(.*?)\s*:\s*<(dictionary|array)>\s*\{$/;
const ENTRY = /^(.*?)\s:\s?(.*)$/;

/** Parse `scutil --proxy` (or any scutil dictionary dump) into a tree. */
export function parseScutil(text: string): ScDict {
  const root: ScDict = {};
  // Stack of open containers; the root's own "<dictionary> {" line is skipped.
  const stack: (ScDict | ScValue[])[] = [root];
  const put = (container: ScDict | ScValue[], key: string, value: ScValue) => {
    if (Array.isArray(container)) container.push(value);
    else container[key] = value;
  };
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line === '<dictionary> {') continue;
    const top = stack[stack.length - 1];
    if (line === '}') {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const open = OPEN.exec(line);
    if (open) {
      const child: ScDict | ScValue[] = open[2] === 'array' ? [] : {};
      put(top, open[1], child);
      stack.push(child);
      continue;
    }
    const entry = ENTRY.exec(line) ?? /^(.*?)\s*:$/.exec(line);
    if (entry) put(top, entry[1].trim(), (entry[2] ?? '').trim());
  }
  return root;
}

function scalar(d: ScDict, key: string): string | undefined {
  const v = d[key];
  if (typeof v !== 'string' || v === '' || v === '<NULL>') return undefined;
  return v;
}

function flag(d: ScDict, key: string): boolean {
  return scalar(d, key) === '1';
}

function port(d: ScDict, key: string): number | undefined {
  const v = scalar(d, key);
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

const KINDS: { prefix: string; field: 'http' | 'https' | 'socks'; scheme: ProxyScheme }[] = [
  { prefix: 'HTTP', field: 'http', scheme: 'http' },
  // An "HTTPS proxy" on macOS is an HTTP proxy used (with CONNECT) for https URLs.
  { prefix: 'HTTPS', field: 'https', scheme: 'http' },
  { prefix: 'SOCKS', field: 'socks', scheme: 'socks5' },
];

/** What one (global or scoped) dictionary configures. */
function readDict(d: ScDict, where: string, notes: string[]): Pick<ProxySourceResult, 'http' | 'https' | 'socks' | 'pac'> {
  const out: Pick<ProxySourceResult, 'http' | 'https' | 'socks' | 'pac'> = {};
  for (const k of KINDS) {
    const host = scalar(d, `${k.prefix}Proxy`);
    if (host === undefined) continue;
    const p = port(d, `${k.prefix}Port`);
    if (!flag(d, `${k.prefix}Enable`)) {
      notes.push(`${where}${k.prefix}Proxy ${host}${p ? `:${p}` : ''} is set but ${k.prefix}Enable is 0: ignored (stale)`);
      continue;
    }
    const url: ProxyUrl | undefined = proxyFromHostPort(k.scheme, host, p);
    if (!url) {
      notes.push(`${where}${k.prefix}Proxy ${host} port ${p ?? '?'} is not a usable proxy: ignored`);
      continue;
    }
    const user = scalar(d, `${k.prefix}User`);
    if (user !== undefined) {
      url.username = user;
      notes.push(`${where}${k.prefix} proxy needs authentication; its password is in the keychain, which hnet does not read`);
    }
    out[k.field] = url;
  }
  const pacUrl = scalar(d, 'ProxyAutoConfigURLString');
  if (flag(d, 'ProxyAutoConfigEnable')) {
    if (pacUrl !== undefined) out.pac = pacUrl;
    else notes.push(`${where}ProxyAutoConfigEnable is 1 but no ProxyAutoConfigURLString is set`);
  } else if (pacUrl !== undefined) {
    notes.push(`${where}PAC URL ${pacUrl} is set but ProxyAutoConfigEnable is 0: ignored (stale)`);
  }
  if (flag(d, 'ProxyAutoDiscoveryEnable')) {
    notes.push(`${where}automatic proxy discovery (WPAD) is on; hnet does not perform WPAD discovery`);
  }
  return out;
}

function flatten(d: ScDict): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(d)) {
    if (k === '__SCOPED__') continue;
    raw[k] = typeof v === 'string' ? v : Array.isArray(v) ? v.filter((x) => typeof x === 'string').join(', ') : '<dictionary>';
  }
  return raw;
}

/** Interpret `scutil --proxy` output. */
export function macosProxyFromScutil(text: string): ProxySourceResult {
  const d = parseScutil(text);
  const notes: string[] = [];
  const found = readDict(d, '', notes);
  const noProxy: string[] = [];
  const exceptions = d.ExceptionsList;
  if (Array.isArray(exceptions)) {
    for (const e of exceptions) if (typeof e === 'string' && e !== '' && e !== '<NULL>') noProxy.push(e);
  }
  if (flag(d, 'ExcludeSimpleHostnames')) noProxy.push('<local>');
  const scoped = d.__SCOPED__;
  if (scoped && typeof scoped === 'object' && !Array.isArray(scoped)) {
    for (const [iface, sub] of Object.entries(scoped)) {
      if (typeof sub !== 'object' || Array.isArray(sub)) continue;
      const subNotes: string[] = [];
      const s = readDict(sub, `${iface}: `, subNotes);
      const same = ['http', 'https', 'socks', 'pac'].every((k) => JSON.stringify(s[k as keyof typeof s]) === JSON.stringify(found[k as keyof typeof found]));
      if (!same) notes.push(`interface ${iface} has its own proxy settings (scoped); hnet uses the global ones`);
    }
  }
  const result: ProxySourceResult = { source: 'macos', found: false, noProxy, raw: flatten(d), notes, ...found };
  result.found = result.http !== undefined || result.https !== undefined || result.socks !== undefined || result.pac !== undefined;
  return result;
}

/** Run `scutil --proxy` and interpret it; never throws. */
export async function readMacosProxy(runner: Runner): Promise<ProxySourceResult> {
  try {
    const r = await runner('scutil', ['--proxy']);
    if (r.exitCode !== 0) return notFound('macos', `scutil --proxy failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
    return macosProxyFromScutil(r.stdout);
  } catch (err) {
    return notFound('macos', `scutil is not available: ${(err as Error).message}`);
  }
}
