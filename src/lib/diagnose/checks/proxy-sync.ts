/**
 * proxy.sync: the daemon uses the proxy the host has now (GET /v1/proxy versus
 * host detection). Compares scheme, host and port of http and https (never
 * credentials: the daemon's copy is redacted). Skips when no daemon runs or
 * the daemon does not report its proxy yet (HNET_UNSUPPORTED / 404).
 */
import { HnetError } from '../../errors.js';
import { parseProxyUrl, type ProxyUrl } from '../../host/proxy/types.js';
import type { Check } from '../types.js';
import { needDaemon } from './common.js';

const key = (u: ProxyUrl | undefined) => (u ? `${u.scheme}://${u.host}:${u.port}` : 'none');
const keyOf = (s: string | null) => key(s ? parseProxyUrl(s) : undefined);

export const proxySync: Check = {
  id: 'proxy.sync',
  title: 'proxy: daemon in sync with host',
  group: 'proxy',
  async run(f) {
    const d = await needDaemon(f);
    if ('skip' in d) return d.skip;
    let daemon;
    try {
      daemon = await f.daemonProxy();
    } catch (err) {
      if (err instanceof HnetError && (err.code === 'HNET_UNSUPPORTED' || err.code === 'HNET_NOT_FOUND')) {
        return { status: 'skip', detail: 'this daemon does not report its proxy settings', next: ['upgrade hnet'] };
      }
      throw err;
    }
    const host = await f.hostProxy();
    const pairs = { http: [key(host.http), keyOf(daemon.http)], https: [key(host.https), keyOf(daemon.https)] } as const;
    const data = { host: { http: pairs.http[0], https: pairs.https[0], source: host.source }, daemon: { http: pairs.http[1], https: pairs.https[1], source: daemon.source } };
    const differ = (Object.entries(pairs) as Array<[string, readonly [string, string]]>).filter(([, [h, dd]]) => h !== dd);
    if (differ.length > 0) {
      return { status: 'warn', detail: differ.map(([k, [h, dd]]) => `${k}: host ${h}, daemon ${dd}`).join('; '), next: ['hnet proxy sync', 'or keep them in sync: hnet proxy sync --watch'], data };
    }
    return { status: 'pass', detail: `http ${pairs.http[0]}, https ${pairs.https[0]} (host source: ${host.source})`, data };
  },
};
