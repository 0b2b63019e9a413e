/**
 * aliases.present: every alias in config.json is on the loopback. Host-only:
 * runs without a daemon. Skips when none is configured.
 */
import type { Check } from '../types.js';

export const aliasesPresent: Check = {
  id: 'aliases.present',
  title: 'aliases present',
  group: 'aliases',
  async run(f) {
    const configured = (await f.config()).aliases;
    if (configured.length === 0) return { status: 'skip', detail: 'no aliases configured', next: ['hnet alias add 10.200.10.1 --name db.local'] };
    const present = await f.loopbackAliases();
    const missing = configured.filter((a) => !present.some((p) => p.ip === a.ip));
    const data = { configured: configured.map((a) => a.ip), missing: missing.map((a) => a.ip) };
    if (missing.length > 0) {
      return { status: 'fail', detail: `missing from the loopback: ${missing.map((a) => a.ip + (a.name ? ` (${a.name})` : '')).join(', ')}`, next: missing.map((a) => `sudo hnet alias add ${a.ip}/${a.prefix}${a.name ? ` --name ${a.name}` : ''}`), data };
    }
    return { status: 'pass', detail: `${configured.length} alias${configured.length === 1 ? '' : 'es'} present`, data };
  },
};
