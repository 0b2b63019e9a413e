/**
 * Which host proxy settings apply, and why. Every source is read (so `hnet
 * proxy show` can show them all); the first one that configures a proxy wins:
 *
 *   macOS:  scutil --proxy (System Settings > Network), else the environment.
 *   Linux:  GNOME (gsettings) when the desktop is GNOME and mode != 'none';
 *           else KDE (kioslaverc) when ProxyType != 0;
 *           else the process environment (http_proxy, ...);
 *           else /etc/environment.
 *   other:  the environment, else nothing.
 *
 * The desktop is taken from XDG_CURRENT_DESKTOP (a colon-separated list, e.g.
 * "ubuntu:GNOME", per the XDG Desktop Entry spec), else DESKTOP_SESSION.
 * gsettings is only run on a GNOME desktop: elsewhere its values are not what
 * applications use.
 *
 * The effective result keeps credentials for the upstream connection; display
 * it through redactProxy() (types.ts). detectProxy never throws for missing
 * tools or files: those sources report found=false with a note.
 */
import { readFile as fsReadFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { run, type Runner } from '../exec.js';
import { proxyFromEnv, readEtcEnvironment, type Env } from './env.js';
import { readGnomeProxy } from './gnome.js';
import { readKdeProxy } from './kde.js';
import { readMacosProxy } from './macos.js';
import { notFound, redactProxy, redactSource, type EffectiveProxy, type ProxySourceResult, type RedactedEffective, type RedactedSource } from './types.js';
import type { ProxyBody } from '../../daemon/control-types.js';

export interface DetectOptions {
  platform: NodeJS.Platform;
  env: Env;
  /** The user's home folder (for ~/.config/kioslaverc). */
  home: string;
  runner: Runner;
  /** Reads a UTF-8 text file; rejects when it does not exist. */
  readFile: (path: string) => Promise<string>;
  /** Defaults to /etc/environment. */
  etcEnvironmentPath?: string;
}

export interface ProxyDetection {
  sources: ProxySourceResult[];
  effective: EffectiveProxy;
  why: string;
}

/** The options for the real host: this process's platform, env, home and tools. */
export function hostDetectOptions(): DetectOptions {
  return {
    platform: process.platform,
    env: process.env,
    home: homedir(),
    runner: run,
    readFile: (p) => fsReadFile(p, 'utf8'),
  };
}

export function isGnomeDesktop(env: Env): boolean {
  const desktop = env.XDG_CURRENT_DESKTOP ?? env.DESKTOP_SESSION ?? '';
  return desktop.split(':').some((d) => /^(gnome|gnome-classic|gnome-flashback|unity|ubuntu)$/i.test(d.trim()));
}

function effectiveFrom(r: ProxySourceResult): EffectiveProxy {
  const e: EffectiveProxy = { source: r.source, noProxy: [...r.noProxy] };
  if (r.http) e.http = { ...r.http };
  if (r.https) e.https = { ...r.https };
  if (r.socks) e.socks = { ...r.socks };
  if (r.pac !== undefined) e.pac = r.pac;
  return e;
}

const REASON: Record<ProxySourceResult['source'], string> = {
  macos: 'macOS system settings (scutil --proxy) configure a proxy',
  gnome: "the desktop is GNOME and its proxy mode is not 'none'",
  kde: 'KDE kioslaverc sets ProxyType != 0',
  env: 'the environment sets proxy variables',
  'etc-environment': '/etc/environment sets proxy variables',
};

export async function detectProxy(opts: DetectOptions): Promise<ProxyDetection> {
  const sources: ProxySourceResult[] = [];
  if (opts.platform === 'darwin') {
    sources.push(await readMacosProxy(opts.runner));
    sources.push(proxyFromEnv(opts.env));
  } else if (opts.platform === 'linux') {
    const gnome = isGnomeDesktop(opts.env)
      ? await readGnomeProxy(opts.runner)
      : notFound('gnome', `the desktop is not GNOME (XDG_CURRENT_DESKTOP=${opts.env.XDG_CURRENT_DESKTOP ?? 'unset'})`);
    sources.push(gnome);
    sources.push(await readKdeProxy(opts.home, opts.env, opts.readFile));
    sources.push(proxyFromEnv(opts.env));
    sources.push(await readEtcEnvironment(opts.readFile, opts.etcEnvironmentPath));
  } else {
    sources.push(proxyFromEnv(opts.env));
  }
  const winner = sources.find((s) => s.found);
  if (!winner) {
    return { sources, effective: { source: 'none', noProxy: [] }, why: 'no source configures a proxy: connections go direct' };
  }
  const skipped = sources.slice(0, sources.indexOf(winner)).map((s) => s.source);
  const why = `${REASON[winner.source]}${skipped.length > 0 ? ` (checked first, nothing set: ${skipped.join(', ')})` : ''}`;
  return { sources, effective: effectiveFrom(winner), why };
}

/** What `hnet proxy show` displays: every source and the winner, credentials redacted. */
export interface ProxyReport {
  sources: RedactedSource[];
  effective: RedactedEffective;
  why: string;
  /** hnet does not evaluate PAC scripts; set when the winner is a PAC URL. */
  pacNotEvaluated: boolean;
  /** What the running daemon applies (GET /v1/proxy, credentials redacted); null when no daemon answers. */
  applied: ProxyBody | null;
}

/** `applied` comes from `readApplied` (the control client's getProxy); it may fail: then null. */
export async function proxyReport(opts: DetectOptions, readApplied?: () => Promise<ProxyBody>): Promise<ProxyReport> {
  const d = await detectProxy(opts);
  let applied: ProxyBody | null = null;
  if (readApplied) {
    try {
      applied = await readApplied();
    } catch {
      applied = null; // no daemon on this HOME
    }
  }
  return {
    sources: d.sources.map(redactSource),
    effective: redactProxy(d.effective),
    why: d.why,
    pacNotEvaluated: d.effective.pac !== undefined,
    applied,
  };
}
