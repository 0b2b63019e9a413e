/** daemon.running: the daemon answers on HOME's control socket (GET /v1/status). */
import type { Check } from '../types.js';

export const daemonRunning: Check = {
  id: 'daemon.running',
  title: 'daemon answers',
  group: 'daemon',
  async run(f) {
    const d = await f.daemon();
    if (d.running) return { status: 'pass', detail: `pid ${d.status.pid}, hnet ${d.status.version}, serving ${d.status.subnet}`, data: { pid: d.status.pid, subnet: d.status.subnet } };
    return {
      status: 'fail',
      detail: d.error.message,
      next: [`start it: hnet start --home ${f.paths.home}`, ...d.error.suggestions.filter((s) => !s.startsWith('hnet start'))],
      data: { code: d.error.code },
    };
  },
};
