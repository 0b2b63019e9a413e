/**
 * The daemon's current upstream proxy settings (DESIGN §5 GET/PUT /v1/proxy,
 * §6): what the guest-facing proxy on gateway:3128 and --transparent-proxy
 * consult for every NEW request or tunnel. Connections already open keep the
 * upstream they started with: nothing here touches them.
 *
 * Contract:
 * - Built from config.json's `proxy` at start (ProxyState.fromConfig); PUT
 *   /v1/proxy calls apply(), which changes only the fields given (null clears
 *   one) and bumps `generation`. A URL that does not parse is refused with a
 *   UsageError (HNET_BAD_SPEC) and nothing changes.
 * - The bypass list is kept normalised (no-proxy.ts) with the guest-local
 *   entries added, so the gateway, the guest subnet and *.hnet.internal never
 *   go through an upstream.
 * - Credentials stay inside: body() is the display form (credentials become
 *   `***`); only route() hands a ProxyUrl with credentials out, to the proxy
 *   service that adds them upstream (Basic, RFC 7617).
 * - route() is THE decision: `http` (absolute-form requests, transparent port
 *   80) uses the http upstream; `connect` (CONNECT, transparent 443) uses the
 *   https upstream, as curl does with https_proxy. no_proxy wins over both.
 */
import { UsageError } from '../errors.js';
import { matchesNoProxy, normaliseNoProxy, type NoProxyContext } from '../proxy/no-proxy.js';
import { parseProxyUrl, proxyUrlToString, redactProxyUrl, type ProxyUrl } from '../host/proxy/types.js';
import type { ProxyConfig } from './config.js';
import type { ProxyBody, ProxyUpdate } from './control-types.js';

export interface ProxySettings {
  http?: ProxyUrl;
  https?: ProxyUrl;
  /** Normalised, with the guest-local entries. */
  noProxy: string[];
  source: string;
  pac?: string;
}

export type ProxyKind = 'http' | 'connect';

export type ProxyRoute = { via: 'upstream'; upstream: ProxyUrl } | { via: 'direct'; why: 'no_proxy' | 'no_upstream' };

function parseUpstream(text: string, field: string): ProxyUrl {
  const url = parseProxyUrl(text);
  if (!url) throw new UsageError('HNET_BAD_SPEC', `proxy ${field} ${redactText(text)} is not a proxy URL`, ['use a form like http://user:pass@proxy.corp:3128']);
  if (url.scheme !== 'http') {
    throw new UsageError('HNET_BAD_SPEC', `proxy ${field} uses ${url.scheme}://, the gateway proxy chains only to http:// upstreams`, ['give the upstream as http://HOST:PORT']);
  }
  return url;
}

function redactText(text: string): string {
  return text.replace(/\/\/[^/@\s]*@/, '//***@');
}

export class ProxyState {
  private current: ProxySettings;
  /** Bumped on every apply(): tests and logs can tell settings apart. */
  generation = 0;
  /** Called after every successful apply() with the display form. */
  onChange: ((body: ProxyBody) => void) | null = null;

  constructor(
    private readonly ctx: NoProxyContext,
    initial: Omit<ProxySettings, 'noProxy'> & { noProxy?: string[] } = { source: 'none' },
  ) {
    this.current = { ...initial, noProxy: normaliseNoProxy(initial.noProxy ?? [], ctx) };
  }

  /** From config.json's `proxy` (written by `hnet proxy sync`); unparsable URLs throw. */
  static fromConfig(ctx: NoProxyContext, config: ProxyConfig | undefined): ProxyState {
    if (!config) return new ProxyState(ctx);
    const s: Omit<ProxySettings, 'noProxy'> & { noProxy?: string[] } = { source: config.source ?? 'config', noProxy: config.noProxy ?? [] };
    if (config.http) s.http = parseUpstream(config.http, 'http');
    if (config.https) s.https = parseUpstream(config.https, 'https');
    if (config.pac) s.pac = config.pac;
    return new ProxyState(ctx, s);
  }

  get settings(): Readonly<ProxySettings> {
    return this.current;
  }

  /** True when some upstream is set for this kind of traffic. */
  hasUpstream(kind: ProxyKind): boolean {
    return (kind === 'http' ? this.current.http : this.current.https) !== undefined;
  }

  /** Where a new request to host:port goes. */
  route(kind: ProxyKind, host: string, port: number): ProxyRoute {
    if (matchesNoProxy(host, port, this.current.noProxy)) return { via: 'direct', why: 'no_proxy' };
    const upstream = kind === 'http' ? this.current.http : this.current.https;
    return upstream ? { via: 'upstream', upstream } : { via: 'direct', why: 'no_upstream' };
  }

  /** PUT /v1/proxy: change the fields given; validate everything before changing anything. */
  apply(update: ProxyUpdate, source = 'api'): ProxyBody {
    const next: ProxySettings = { ...this.current, source };
    if (update.http !== undefined) next.http = update.http === null || update.http === '' ? undefined : parseUpstream(update.http, 'http');
    if (update.https !== undefined) next.https = update.https === null || update.https === '' ? undefined : parseUpstream(update.https, 'https');
    if (update.pac !== undefined) next.pac = update.pac === null ? undefined : update.pac;
    if (update.noProxy !== undefined) next.noProxy = normaliseNoProxy(update.noProxy, this.ctx);
    if (!next.http) delete next.http;
    if (!next.https) delete next.https;
    if (next.pac === undefined) delete next.pac;
    if (!next.http && !next.https && !next.pac) next.source = 'none';
    this.current = next;
    this.generation++;
    const body = this.body();
    this.onChange?.(body);
    return body;
  }

  /** The display form for GET /v1/proxy: never any credentials. */
  body(): ProxyBody {
    const c = this.current;
    const out: ProxyBody = {
      http: c.http ? redactProxyUrl(c.http) : null,
      https: c.https ? redactProxyUrl(c.https) : null,
      noProxy: [...c.noProxy],
      source: c.source,
    };
    if (c.pac !== undefined) out.pac = c.pac;
    return out;
  }

  /** The config.json form (with credentials: that file is mode 0600). */
  toConfig(): ProxyConfig {
    const c = this.current;
    const out: ProxyConfig = { noProxy: [...c.noProxy], source: c.source };
    if (c.http) out.http = proxyUrlToString(c.http);
    if (c.https) out.https = proxyUrlToString(c.https);
    if (c.pac !== undefined) out.pac = c.pac;
    return out;
  }
}
