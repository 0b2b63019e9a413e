/**
 * proxy.upstream: the host's proxy (http and https, deduplicated) accepts a
 * TCP connection. Host-only: runs without a daemon. Skips when the host has
 * no proxy; a PAC-only setup is a warning (hnet does not evaluate PAC).
 */
import type { Check } from '../types.js';

export const proxyUpstream: Check = {
  id: 'proxy.upstream',
  title: 'proxy: upstream answers',
  group: 'proxy',
  async run(f) {
    const p = await f.hostProxy();
    const urls = [p.http, p.https].filter((u) => u !== undefined);
    const unique = [...new Map(urls.map((u) => [`${u.host}:${u.port}`, u])).values()];
    if (unique.length === 0) {
      if (p.pac) return { status: 'warn', detail: `the host uses a PAC script (${p.pac}); hnet does not evaluate PAC`, next: ['set an explicit proxy in config.json, or export http_proxy/https_proxy before hnet start'] };
      return { status: 'skip', detail: 'the host has no proxy configured', next: ['nothing to do unless your network needs a proxy'] };
    }
    const results = await Promise.all(unique.map(async (u) => ({ at: `${u.host}:${u.port}`, r: await f.tcpConnect(u.host, u.port) })));
    const bad = results.filter((x) => !x.r.ok);
    const data = { proxies: results.map((x) => ({ at: x.at, result: x.r.result })), source: p.source };
    if (bad.length > 0) {
      return { status: 'fail', detail: `proxy ${bad.map((x) => `${x.at} (${x.r.result})`).join(', ')} does not answer`, next: ['check the VPN (the proxy may be reachable only through it)', `check the host's proxy settings (source: ${p.source}); then hnet proxy sync`], data };
    }
    return { status: 'pass', detail: `${results.map((x) => x.at).join(', ')} answer (source: ${p.source})`, data };
  },
};
