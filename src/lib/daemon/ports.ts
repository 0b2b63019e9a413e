/**
 * `hnet ports list|add|remove` as library calls (DESIGN §4, §6): the intent
 * lives in HOME/config.json, the running daemon (if any) is told through the
 * control API.
 *
 * Contract:
 * - addPorts: parse the spec (HNET_BAD_SPEC), refuse a host port the config
 *   already forwards elsewhere (HNET_PORT_IN_USE), then apply to the daemon if
 *   one runs (its bind errors come back unchanged; forwards this call applied
 *   are removed again so nothing is left half done), then persist under the
 *   config lock. status "applied" (live now) or "saved" (daemon down: applied
 *   at next start). Adding what already exists is not an error.
 * - removePorts: drop matching forwards from the daemon and the config; the
 *   daemon frees the host port before it answers. HNET_NOT_FOUND if neither
 *   had one. `all` removes every forward.
 * - listPorts: the saved forwards, each marked active when the daemon serves
 *   it, plus forwards the daemon has that the config lacks (saved: false).
 */
import { HnetError } from '../errors.js';
import { ControlClient } from './control-client.js';
import { loadConfig, updateConfig, type PortForwardConfig } from './config.js';
import { CODES, type PortForward } from './control-types.js';
import type { HomePaths } from './home.js';
import { formatHostSide, parseAddSpec, parseRemoveSpec, sameHostSide, type PortSpec } from './ports-spec.js';

export type ApplyStatus = 'applied' | 'saved';

export interface PortsChangeResult {
  /** applied: the daemon serves it now; saved: no daemon, applied at next start. */
  status: ApplyStatus;
  ports: PortSpec[];
  message: string;
}

export interface PortListEntry extends PortSpec {
  /** In config.json (restored at every start). */
  saved: boolean;
  /** Served by the running daemon now. */
  active: boolean;
}

export interface PortsListResult {
  daemon: 'running' | 'stopped';
  ports: PortListEntry[];
}

function isUnreachable(err: unknown): boolean {
  return err instanceof HnetError && err.code === CODES.unreachable;
}

/** The daemon's forwards, or null when no daemon answers. */
async function daemonPorts(client: ControlClient): Promise<PortForward[] | null> {
  try {
    return await client.listPorts();
  } catch (err) {
    if (isUnreachable(err)) return null;
    throw err;
  }
}

const sameTarget = (a: PortSpec, b: PortSpec) => (a.guestIp ?? null) === (b.guestIp ?? null) && a.guestPort === b.guestPort;

export async function addPorts(paths: HomePaths, spec: string, opts: { guest?: string; client?: ControlClient } = {}): Promise<PortsChangeResult> {
  const wanted = parseAddSpec(spec, opts.guest);
  const saved = loadConfig(paths.config).ports;
  for (const w of wanted) {
    const clash = saved.find((s) => sameHostSide(s, w) && !sameTarget(s, w));
    if (clash) {
      throw new HnetError('HNET_PORT_IN_USE', `${formatHostSide(w)} is already forwarded to ${clash.guestIp ?? 'the only guest'}:${clash.guestPort}`, [
        `remove it first: hnet ports remove ${formatHostSide(w)}`,
      ]);
    }
  }
  const client = opts.client ?? new ControlClient(paths);
  const live = await daemonPorts(client);
  const applied: PortSpec[] = [];
  if (live !== null) {
    try {
      for (const w of wanted) {
        const had = live.some((l) => sameHostSide(l, w));
        await client.addPort(w);
        if (!had) applied.push(w);
      }
    } catch (err) {
      for (const a of applied) await client.removePort(a.proto, a.hostIp, a.hostPort).catch(() => undefined);
      throw err;
    }
  }
  updateConfig(paths.config, (c) => {
    for (const w of wanted) if (!c.ports.some((s) => sameHostSide(s, w))) c.ports.push(toConfig(w));
  });
  const what = wanted.length === 1 ? describe(wanted[0]) : `${wanted.length} forwards (${describe(wanted[0])} ...)`;
  return live !== null
    ? { status: 'applied', ports: wanted, message: `forwarding ${what}` }
    : { status: 'saved', ports: wanted, message: `saved ${what}; applied at next start` };
}

export async function removePorts(paths: HomePaths, target: { spec?: string; all?: boolean }, opts: { client?: ControlClient } = {}): Promise<PortsChangeResult> {
  const t = target.all ? undefined : parseRemoveSpec(target.spec ?? '');
  const matches = (p: { proto: string; hostIp: string; hostPort: number }) =>
    t === undefined || (p.proto === t.proto && p.hostIp === t.hostIp && t.hostPorts.includes(p.hostPort));
  const client = opts.client ?? new ControlClient(paths);
  const live = await daemonPorts(client);
  const removed: PortSpec[] = [];
  for (const p of live ?? []) {
    if (!matches(p)) continue;
    try {
      await client.removePort(p.proto, p.hostIp, p.hostPort);
    } catch (err) {
      if (!(err instanceof HnetError && err.code === CODES.notFound)) throw err;
    }
    removed.push(p);
  }
  const fromConfig = updateConfig(paths.config, (c) => {
    const gone = c.ports.filter(matches);
    c.ports = c.ports.filter((p) => !matches(p));
    return gone;
  });
  for (const p of fromConfig) if (!removed.some((r) => sameHostSide(r, p))) removed.push(p);
  if (removed.length === 0 && !target.all) {
    throw new HnetError(CODES.notFound, `no forward matches ${target.spec}`, ['list them: hnet ports list']);
  }
  const status: ApplyStatus = live !== null ? 'applied' : 'saved';
  const message = removed.length === 0 ? 'no forwards to remove' : `removed ${removed.map(formatHostSide).join(', ')}${status === 'saved' ? ' (daemon not running)' : ''}`;
  return { status, ports: removed, message };
}

export async function listPorts(paths: HomePaths, opts: { client?: ControlClient } = {}): Promise<PortsListResult> {
  const saved = loadConfig(paths.config).ports;
  const live = await daemonPorts(opts.client ?? new ControlClient(paths));
  const ports: PortListEntry[] = saved.map((s) => {
    const l = live?.find((x) => sameHostSide(x, s));
    return { ...s, ...(l ? { guestIp: l.guestIp } : {}), saved: true, active: l !== undefined };
  });
  for (const l of live ?? []) if (!saved.some((s) => sameHostSide(s, l))) ports.push({ ...l, saved: false, active: true });
  return { daemon: live === null ? 'stopped' : 'running', ports };
}

function toConfig(p: PortSpec): PortForwardConfig {
  return { proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, ...(p.guestIp !== undefined ? { guestIp: p.guestIp } : {}), guestPort: p.guestPort };
}

function describe(p: PortSpec): string {
  return `${formatHostSide(p)} -> ${p.guestIp ?? 'guest'}:${p.guestPort}`;
}
