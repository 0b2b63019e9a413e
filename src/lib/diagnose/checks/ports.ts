/**
 * ports.forwards: every configured forward is active in the daemon, and every
 * TCP forward's host listener accepts a connection (which the daemon relays
 * to the guest port): a connection the daemon resets means the guest refused.
 * UDP forwards are only checked for being active. A forward in config.json the daemon lacks usually means
 * its host port is held by something else. Skips without a daemon or forwards.
 */
import type { PortForward } from '../../daemon/control-types.js';
import type { Check } from '../types.js';
import { needDaemon } from './common.js';

const label = (p: { proto: string; hostIp: string; hostPort: number }) => `${p.hostIp}:${p.hostPort}/${p.proto}`;

export const portsForwards: Check = {
  id: 'ports.forwards',
  title: 'ports: forwards listening',
  group: 'ports',
  async run(f) {
    const d = await needDaemon(f);
    if ('skip' in d) return d.skip;
    const active: PortForward[] = d.status.ports;
    const configured = (await f.config()).ports;
    const missing = configured.filter((c) => !active.some((a) => a.proto === c.proto && a.hostPort === c.hostPort && a.hostIp === c.hostIp));
    if (active.length === 0 && missing.length === 0) return { status: 'skip', detail: 'no port forwards', next: ['hnet ports add 8080:80'] };
    const probes = await Promise.all(
      active.filter((a) => a.proto === 'tcp').map(async (a) => ({ a, r: await f.forwardProbe(a.hostIp === '0.0.0.0' ? '127.0.0.1' : a.hostIp, a.hostPort) })),
    );
    const down = probes.filter((p) => !p.r.ok);
    const problems = [...missing.map((m) => `${label(m)} configured but not active`), ...down.map((p) => `${label(p.a)} → guest ${p.a.guestIp}:${p.a.guestPort} ${p.r.result === 'reset' ? 'refused by the guest (reset)' : `does not accept (${p.r.result})`}`)];
    const data = { active: active.length, missing: missing.map(label), down: down.map((p) => label(p.a)) };
    if (problems.length > 0) {
      const refused = down.filter((p) => p.r.result === 'reset').map((p) => `check that the guest listens on ${p.a.guestIp}:${p.a.guestPort} (inside the guest: ss -ltn)`);
      return { status: 'fail', detail: problems.join('; '), next: [...refused, 'find what holds the port: lsof -iTCP:PORT -sTCP:LISTEN (macOS) or ss -ltnp (Linux)', 'then: hnet ports remove PORT && hnet ports add HOST_PORT:GUEST_PORT'], data };
    }
    return { status: 'pass', detail: `${active.length} forward${active.length === 1 ? '' : 's'} listening`, data };
  },
};
