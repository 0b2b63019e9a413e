/**
 * The proxy environment variables a guest should use (`hnet proxy env`).
 *
 * Guests always point at the gateway's guest-facing proxy,
 * http://http.hnet.internal:3128 (DESIGN §1), which chains to the host's
 * upstream proxy and adds its credentials there: the variables NEVER carry
 * host credentials or the host proxy's address (DESIGN §6). NO_PROXY is the
 * detected host bypass list, normalised (no-proxy.ts), plus the guest-local
 * entries. Each variable is given in upper and lower case, because tools
 * disagree on which they read (curl: lower case; Go, Python: both).
 *
 * The guest network comes from HOME/config.json's subnet when the user fixed
 * one, else the default 192.168.65.0/24; the gateway is its .1.
 */
import { loadConfig } from '../../daemon/config.js';
import { DEFAULT_SUBNET, buildStackConfig } from '../../iface/config.js';
import { ipv4ToString, cidrToString } from '../../wire/addr.js';
import { normaliseNoProxy } from '../../proxy/no-proxy.js';
import { detectProxy, type DetectOptions } from './detect.js';
import type { EffectiveProxy, ProxySource } from './types.js';

export const GUEST_PROXY_URL = 'http://http.hnet.internal:3128';

export interface GuestProxyEnv {
  /** HTTP_PROXY, HTTPS_PROXY, NO_PROXY and their lower-case twins, in that order. */
  vars: Record<string, string>;
  noProxy: string[];
  /** Where the bypass list came from. */
  source: ProxySource | 'none';
  subnet: string;
  gateway: string;
}

/** Build the guest variables from detected host settings and the guest network. */
export function buildGuestProxyEnv(effective: EffectiveProxy, subnet: string = DEFAULT_SUBNET): GuestProxyEnv {
  const net = buildStackConfig({ subnet });
  const ctx = { subnet: cidrToString(net.subnet), gateway: ipv4ToString(net.gateway) };
  const noProxy = normaliseNoProxy(effective.noProxy, ctx);
  const np = noProxy.join(',');
  const vars: Record<string, string> = {
    HTTP_PROXY: GUEST_PROXY_URL,
    HTTPS_PROXY: GUEST_PROXY_URL,
    NO_PROXY: np,
    http_proxy: GUEST_PROXY_URL,
    https_proxy: GUEST_PROXY_URL,
    no_proxy: np,
  };
  return { vars, noProxy, source: effective.source, ...ctx };
}

/** Detect the host settings and build the guest variables for HOME's network. */
export async function guestProxyEnv(opts: { configPath: string; detect: DetectOptions }): Promise<GuestProxyEnv> {
  const config = loadConfig(opts.configPath);
  const { effective } = await detectProxy(opts.detect);
  return buildGuestProxyEnv(effective, config.subnet ?? DEFAULT_SUBNET);
}

/** Quote for POSIX sh: single quotes, with ' written as '\''. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `export KEY='value'` lines, one per variable. */
export function formatShellExports(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => `export ${k}=${shellQuote(v)}\n`)
    .join('');
}
