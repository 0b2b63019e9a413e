/**
 * Loopback aliases, the part that changes things: `hnet alias add|remove|list`
 * and the restore step of `hnet start`. Each operation reads the host through
 * a Runner, validates with alias.ts, and keeps HOME/config.json and the
 * loopback in agreement.
 *
 * Contract:
 * - addAlias: validate; with dryRun return the planned commands and change
 *   nothing; without root throw PermissionError whose suggestion is the exact
 *   `sudo ...` command; otherwise persist to config.json, then apply. If the
 *   OS refuses, the config entry added by this call is rolled back.
 *   Already on the loopback: status 'present', nothing run (idempotent).
 * - removeAlias: only an alias hnet manages (in config.json) is taken off the
 *   loopback; an address hnet did not add (127.0.0.1!) is never removed.
 * - listAliases: configured and present side by side.
 * - reapplyAliases: never throws; reports each configured alias.
 */
import { HnetError, PermissionError } from '../errors.js';
import type { Logger } from '../daemon/log.js';
import { loadConfig, updateConfig, type AliasConfig, type HnetConfig } from '../daemon/config.js';
import type { Runner } from './exec.js';
import { readInterfaces, type Platform } from './addresses.js';
import { readRoutes } from './routes.js';
import {
  aliasAddCommand,
  aliasRemoveCommand,
  commandText,
  DEFAULT_GUEST_SUBNET,
  isPermissionFailure,
  loopbackReadCommand,
  parseAliasSpec,
  parseLoopbackAddresses,
  validateAlias,
  type AliasSpec,
  type HostCommand,
} from './alias.js';

export interface AliasOpOptions {
  runner: Runner;
  platform?: Platform;
  /** Guest subnet; default: config.json `subnet`, else 192.168.65.0/24. */
  subnet?: string;
  dryRun?: boolean;
  /** Default: effective uid is 0. */
  isRoot?: boolean;
}

export interface AliasAddResult {
  ip: string;
  prefix: number;
  name?: string;
  status: 'added' | 'present' | 'planned';
  commands: string[];
  warnings: string[];
  dryRun: boolean;
}

export interface AliasRemoveResult {
  ip: string;
  status: 'removed' | 'planned';
  removedFromConfig: boolean;
  removedFromLoopback: boolean;
  commands: string[];
  dryRun: boolean;
}

export interface AliasListEntry {
  ip: string;
  prefix: number;
  name?: string;
  configured: boolean;
  present: boolean;
}

export interface ReapplyEntry {
  ip: string;
  status: 'present' | 'added' | 'failed';
  command?: string;
  error?: string;
}

const platformOf = (o: { platform?: Platform }) => o.platform ?? process.platform;
const rootOf = (o: { isRoot?: boolean }) => o.isRoot ?? process.getuid?.() === 0;

/** The loopback's IPv4 addresses right now. */
export async function readLoopbackAliases(runner: Runner, platform: Platform = process.platform): Promise<AliasSpec[]> {
  const c = loopbackReadCommand(platform);
  const r = await runner(c.cmd, c.args);
  if (r.exitCode !== 0) throw new HnetError('HNET_HOST_READ', `${commandText(c)} failed: ${r.stderr.trim()}`);
  return parseLoopbackAddresses(r.stdout, platform);
}

async function runPrivileged(runner: Runner, c: HostCommand, what: string): Promise<void> {
  const r = await runner(c.cmd, c.args);
  if (r.exitCode === 0) return;
  if (isPermissionFailure(r.stderr)) throw new PermissionError(what, commandText(c));
  throw new HnetError('HNET_ALIAS_FAILED', `${commandText(c)} failed: ${r.stderr.trim() || `exit code ${r.exitCode}`}`, ['check the message above; run the command by hand to see more']);
}

export async function addAlias(configPath: string, text: string, opts: AliasOpOptions & { name?: string }): Promise<AliasAddResult> {
  const platform = platformOf(opts);
  const spec = parseAliasSpec(text);
  const config = loadConfig(configPath);
  const subnet = opts.subnet ?? config.subnet ?? DEFAULT_GUEST_SUBNET;
  const [interfaces, routes] = await Promise.all([readInterfaces(opts.runner, platform), readRoutes(opts.runner, platform)]);
  const check = validateAlias(spec, { interfaces, routes }, subnet, platform);
  const cmd = aliasAddCommand(spec, platform);
  const entry: AliasConfig = { ip: spec.ip, prefix: spec.prefix, ...(opts.name !== undefined ? { name: opts.name } : {}) };
  const base = { ip: spec.ip, prefix: spec.prefix, ...(opts.name !== undefined ? { name: opts.name } : {}), warnings: check.warnings, dryRun: opts.dryRun === true };
  const commands = check.status === 'present' ? [] : [commandText(cmd)];
  if (opts.dryRun) return { ...base, status: 'planned', commands };
  if (check.status === 'absent' && !rootOf(opts)) throw new PermissionError(`adding ${spec.ip} to the loopback`, commandText(cmd));

  const added = updateConfig(configPath, (c) => {
    const i = c.aliases.findIndex((a) => a.ip === spec.ip);
    if (i < 0) c.aliases.push(entry);
    else c.aliases[i] = { ...c.aliases[i], ...entry };
    return i < 0;
  });
  if (check.status === 'present') return { ...base, status: 'present', commands };
  try {
    await runPrivileged(opts.runner, cmd, `adding ${spec.ip} to the loopback`);
  } catch (err) {
    if (added) updateConfig(configPath, (c) => void (c.aliases = c.aliases.filter((a) => a.ip !== spec.ip)));
    throw err;
  }
  return { ...base, status: 'added', commands };
}

export async function removeAlias(configPath: string, text: string, opts: AliasOpOptions): Promise<AliasRemoveResult> {
  const platform = platformOf(opts);
  const { ip } = parseAliasSpec(text);
  const configured = loadConfig(configPath).aliases.find((a) => a.ip === ip);
  const onLo = (await readLoopbackAliases(opts.runner, platform)).find((a) => a.ip === ip);
  if (!configured) {
    if (onLo) {
      const c = commandText(aliasRemoveCommand(onLo, platform));
      throw new HnetError('HNET_ALIAS_NOT_OURS', `${ip} is on the loopback but hnet did not add it, so hnet leaves it alone`, [`remove it yourself if you are sure: sudo ${c}`]);
    }
    throw new HnetError('HNET_ALIAS_NOT_FOUND', `${ip} is not a configured alias`, ['see the configured aliases with: hnet alias list']);
  }
  const cmd = onLo ? aliasRemoveCommand(onLo, platform) : undefined;
  const commands = cmd ? [commandText(cmd)] : [];
  const base = { ip, commands, dryRun: opts.dryRun === true };
  if (opts.dryRun) return { ...base, status: 'planned', removedFromConfig: false, removedFromLoopback: false };
  if (cmd && !rootOf(opts)) throw new PermissionError(`removing ${ip} from the loopback`, commandText(cmd));
  if (cmd) await runPrivileged(opts.runner, cmd, `removing ${ip} from the loopback`);
  updateConfig(configPath, (c) => void (c.aliases = c.aliases.filter((a) => a.ip !== ip)));
  return { ...base, status: 'removed', removedFromConfig: true, removedFromLoopback: cmd !== undefined };
}

/** Configured aliases and the loopback's addresses, side by side (127.0.0.1/8 itself left out). */
export async function listAliases(configPath: string, opts: { runner: Runner; platform?: Platform }): Promise<AliasListEntry[]> {
  const config = loadConfig(configPath);
  const present = await readLoopbackAliases(opts.runner, platformOf(opts));
  const rows: AliasListEntry[] = config.aliases.map((a) => ({ ...a, configured: true, present: present.some((p) => p.ip === a.ip) }));
  for (const p of present) {
    if (p.ip === '127.0.0.1' || rows.some((r) => r.ip === p.ip)) continue;
    rows.push({ ip: p.ip, prefix: p.prefix, configured: false, present: true });
  }
  return rows;
}

/** Put back every configured alias the loopback lacks (called by `hnet start`). Never throws. */
export async function reapplyAliases(config: HnetConfig, runner: Runner, log: Logger, opts: { platform?: Platform } = {}): Promise<ReapplyEntry[]> {
  const platform = platformOf(opts);
  let present: AliasSpec[];
  try {
    present = await readLoopbackAliases(runner, platform);
  } catch (err) {
    log.warn('cannot read loopback addresses; aliases not restored', { error: (err as Error).message });
    return config.aliases.map((a) => ({ ip: a.ip, status: 'failed', error: (err as Error).message }));
  }
  const out: ReapplyEntry[] = [];
  for (const a of config.aliases) {
    if (present.some((p) => p.ip === a.ip)) {
      out.push({ ip: a.ip, status: 'present' });
      continue;
    }
    const c = aliasAddCommand(a, platform);
    const command = commandText(c);
    try {
      await runPrivileged(runner, c, `adding ${a.ip} to the loopback`);
      log.info('restored loopback alias', { ip: a.ip, command });
      out.push({ ip: a.ip, status: 'added', command });
    } catch (err) {
      const e = err as HnetError;
      log.warn('could not restore loopback alias', { ip: a.ip, error: e.message, suggestions: e.suggestions });
      out.push({ ip: a.ip, status: 'failed', command, error: e.message });
    }
  }
  return out;
}
