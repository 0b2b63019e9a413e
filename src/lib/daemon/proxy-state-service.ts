/**
 * Wires the guest-facing proxy into a daemon: the ProxyState built from
 * config.json, the HttpProxy as TcpNat's gateway service on port 3128, and,
 * with --transparent-proxy, TcpNat's intercept hook for ports 80 and 443.
 * Changes applied through the control API are logged (credentials redacted
 * by ProxyState.body()).
 */
import type { Counters } from '../counters.js';
import type { StackConfig } from '../iface/config.js';
import type { TcpNat } from '../nat/tcp.js';
import { cidrToString, ipv4ToString } from '../wire/addr.js';
import { HttpProxy, HTTP_PROXY_PORT } from '../services/http-proxy/server.js';
import { transparentIntercept } from '../services/http-proxy/transparent.js';
import type { HnetConfig } from './config.js';
import type { Logger } from './log.js';
import { ProxyState } from './proxy-state.js';

export interface GatewayProxyOptions {
  cfg: StackConfig;
  config: HnetConfig;
  counters: Counters;
  log: Logger;
  /** start --transparent-proxy */
  transparent?: boolean;
}

export interface GatewayProxy {
  state: ProxyState;
  proxy: HttpProxy;
}

export function setupGatewayProxy(tcp: TcpNat, opts: GatewayProxyOptions): GatewayProxy {
  const ctx = { subnet: cidrToString(opts.cfg.subnet), gateway: ipv4ToString(opts.cfg.gateway) };
  const state = ProxyState.fromConfig(ctx, opts.config.proxy);
  const proxy = new HttpProxy({ cfg: opts.cfg, state, counters: opts.counters, log: opts.log });
  tcp.services.set(HTTP_PROXY_PORT, proxy.service());
  if (opts.transparent) tcp.intercept = transparentIntercept({ proxy, state, counters: opts.counters, log: opts.log });
  const describe = () => {
    const b = state.body();
    return { source: b.source, http: b.http ?? 'direct', https: b.https ?? 'direct', transparent: opts.transparent === true };
  };
  opts.log.info('gateway proxy on port 3128', describe());
  state.onChange = () => opts.log.info('proxy settings applied', describe());
  return { state, proxy };
}
