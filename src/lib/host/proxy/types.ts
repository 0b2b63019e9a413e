/**
 * The shapes every host proxy source returns, the proxy URL type, and the one
 * place credentials are turned into a display form.
 *
 * Contract:
 * - A source reader never throws for missing tools or files: it returns
 *   `found: false` with a note saying why.
 * - `ProxyUrl` keeps credentials (username/password) because the gateway's
 *   guest-facing proxy must add them upstream (DESIGN §6). Anything shown to
 *   people or guests goes through `redactProxyUrl` / `redactSource` /
 *   `redactEffective`, which replace credentials with `***`.
 * - `parseProxyUrl` accepts what users and OSes write: `host:port`,
 *   `http://user:pass@host:port/`, `socks5://host`, `[::1]:3128`. Without a
 *   port it uses the scheme's usual one (RFC 7230 §2.7.1 for http: 80; 443
 *   for https; 1080 for SOCKS, RFC 1928 §3).
 */
import { redact } from '../../daemon/log.js';

export type ProxySource = 'macos' | 'gnome' | 'kde' | 'env' | 'etc-environment';

export type ProxyScheme = 'http' | 'https' | 'socks4' | 'socks4a' | 'socks5' | 'socks5h';

export interface ProxyUrl {
  scheme: ProxyScheme;
  host: string;
  port: number;
  username?: string;
  password?: string;
}

export interface ProxySourceResult {
  source: ProxySource;
  /** True when this source configures a proxy (manual or PAC). */
  found: boolean;
  http?: ProxyUrl;
  https?: ProxyUrl;
  socks?: ProxyUrl;
  /** A PAC URL (Proxy Auto-Config); hnet does not evaluate PAC scripts. */
  pac?: string;
  /** Bypass entries as the source wrote them (normalise with no-proxy.ts). */
  noProxy: string[];
  /** The key/value pairs read, for `proxy show`; may hold secrets, redact before display. */
  raw?: Record<string, string>;
  /** Human-readable remarks: ignored stale values, unsupported modes, errors. */
  notes: string[];
}

export interface EffectiveProxy {
  source: ProxySource | 'none';
  http?: ProxyUrl;
  https?: ProxyUrl;
  socks?: ProxyUrl;
  pac?: string;
  noProxy: string[];
}

/** The display form: URLs as strings with credentials replaced by `***`. */
export interface RedactedSource {
  source: ProxySource;
  found: boolean;
  http?: string;
  https?: string;
  socks?: string;
  pac?: string;
  noProxy: string[];
  raw?: Record<string, string>;
  notes: string[];
}

export interface RedactedEffective {
  source: ProxySource | 'none';
  http?: string;
  https?: string;
  socks?: string;
  pac?: string;
  noProxy: string[];
  /** True when the upstream proxy carries credentials (never shown). */
  authenticated: boolean;
}

const DEFAULT_PORT: Record<ProxyScheme, number> = {
  http: 80,
  https: 443,
  socks4: 1080,
  socks4a: 1080,
  socks5: 1080,
  socks5h: 1080,
};

function schemeOf(text: string): ProxyScheme | undefined {
  const s = text.toLowerCase();
  if (s === 'socks') return 'socks5';
  return s in DEFAULT_PORT ? (s as ProxyScheme) : undefined;
}

/**
 * Parse a proxy URL or `host:port`. Returns undefined for anything that names
 * no host, has an unknown scheme, or a port outside 1..65535.
 */
export function parseProxyUrl(text: string, defaultScheme: ProxyScheme = 'http'): ProxyUrl | undefined {
  let rest = text.trim();
  if (rest === '') return undefined;
  let scheme = defaultScheme;
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (m) {
    const s = schemeOf(m[1]);
    if (!s) return undefined;
    scheme = s;
    rest = rest.slice(m[0].length);
  }
  rest = rest.replace(/[/?#].*$/, '');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const cred = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = cred.indexOf(':');
    username = safeDecode(colon >= 0 ? cred.slice(0, colon) : cred);
    if (colon >= 0) password = safeDecode(cred.slice(colon + 1));
  }
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d*))?$/i.exec(rest);
  if (v6) {
    host = v6[1].toLowerCase();
    portText = v6[2];
  } else {
    const parts = rest.split(':');
    if (parts.length > 2) return undefined;
    host = parts[0].toLowerCase();
    portText = parts[1];
  }
  if (host === '' || /\s/.test(host)) return undefined;
  let port = DEFAULT_PORT[scheme];
  if (portText !== undefined && portText !== '') {
    if (!/^\d{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
  }
  if (port < 1 || port > 65535) return undefined;
  const url: ProxyUrl = { scheme, host, port };
  if (username !== undefined && username !== '') url.username = username;
  if (password !== undefined && password !== '') url.password = password;
  return url;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Build a ProxyUrl from separate host and port fields (scutil, gsettings). */
export function proxyFromHostPort(scheme: ProxyScheme, host: string, port: number | undefined): ProxyUrl | undefined {
  const h = host.trim().toLowerCase();
  if (h === '' || /[\s/@]/.test(h)) return undefined;
  const p = port === undefined || port === 0 ? DEFAULT_PORT[scheme] : port;
  if (!Number.isInteger(p) || p < 1 || p > 65535) return undefined;
  return { scheme, host: h.replace(/^\[(.*)\]$/, '$1'), port: p };
}

function hostPart(u: ProxyUrl): string {
  return u.host.includes(':') ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}

/** The full URL with credentials, for the upstream connection only. */
export function proxyUrlToString(u: ProxyUrl): string {
  const cred = u.username !== undefined ? `${encodeURIComponent(u.username)}${u.password !== undefined ? `:${encodeURIComponent(u.password)}` : ''}@` : '';
  return `${u.scheme}://${cred}${hostPart(u)}`;
}

/** The display form: `http://***@proxy:8080` when credentials are present. */
export function redactProxyUrl(u: ProxyUrl): string {
  const cred = u.username !== undefined || u.password !== undefined ? '***@' : '';
  return `${u.scheme}://${cred}${hostPart(u)}`;
}

/** redact() plus scheme-less `user:pass@host` forms, which people also write. */
function redactText(text: string): string {
  return redact(text).replace(/(^|[\s'",=])[^\s'",=/@]+@/g, '$1***@');
}

const SECRET_KEY = /pass|secret|token|auth.*user|user$/i;

function redactRaw(raw: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    out[k] = SECRET_KEY.test(k) && v !== '' && v !== "''" ? '***' : redactText(v);
  }
  return out;
}

export function redactSource(r: ProxySourceResult): RedactedSource {
  const out: RedactedSource = { source: r.source, found: r.found, noProxy: r.noProxy.map(redactText), notes: r.notes.map(redactText) };
  if (r.http) out.http = redactProxyUrl(r.http);
  if (r.https) out.https = redactProxyUrl(r.https);
  if (r.socks) out.socks = redactProxyUrl(r.socks);
  if (r.pac !== undefined) out.pac = redactText(r.pac);
  if (r.raw) out.raw = redactRaw(r.raw);
  return out;
}

/** The display form of the effective settings: credentials become `***`. */
export function redactProxy(e: EffectiveProxy): RedactedEffective {
  const urls = [e.http, e.https, e.socks].filter((u): u is ProxyUrl => u !== undefined);
  const out: RedactedEffective = {
    source: e.source,
    noProxy: e.noProxy.map(redactText),
    authenticated: urls.some((u) => u.username !== undefined || u.password !== undefined),
  };
  if (e.http) out.http = redactProxyUrl(e.http);
  if (e.https) out.https = redactProxyUrl(e.https);
  if (e.socks) out.socks = redactProxyUrl(e.socks);
  if (e.pac !== undefined) out.pac = redactText(e.pac);
  return out;
}

/** A source result that found nothing, with the reason. */
export function notFound(source: ProxySource, note: string): ProxySourceResult {
  return { source, found: false, noProxy: [], notes: [note] };
}
