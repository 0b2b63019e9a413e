/** daemon.transports: the daemon listens on at least one transport. */
import type { Check } from '../types.js';
import { needDaemon } from './common.js';

export const daemonTransports: Check = {
  id: 'daemon.transports',
  title: 'transports listening',
  group: 'daemon',
  async run(f) {
    const d = await needDaemon(f);
    if ('skip' in d) return d.skip;
    const t = d.status.transports;
    if (t.length === 0) return { status: 'fail', detail: 'the daemon listens on no transport, so no guest can attach', next: [`restart it with --listen, e.g. hnet start --home ${f.paths.home} --listen qemu://${f.paths.runDir}/qemu.sock`] };
    const clients = t.reduce((n, x) => n + x.clients, 0);
    return { status: 'pass', detail: `${t.map((x) => x.uri).join(', ')} (${clients} attached)`, data: { transports: t } };
  },
};
