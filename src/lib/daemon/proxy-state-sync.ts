/**
 * `hnet proxy sync`: detect the host's proxy settings, persist them to
 * HOME/config.json (mode 0600: it holds the upstream's credentials, which the
 * gateway proxy adds upstream) and apply them to the running daemon live
 * (PUT /v1/proxy), per DESIGN §4: persist first, then apply, so it works
 * whether or not the daemon runs.
 *
 * Contract:
 * - syncProxy() with dryRun writes and sends nothing; it reports what it would apply.
 * - A daemon that does not answer is no failure: `applied: false` and the note
 *   "saved; applied at next start". Any other daemon error is thrown.
 * - Results and change descriptions carry display forms only (credentials
 *   `***`); a change of credentials alone is reported as "credentials changed".
 * - watchProxy() re-detects every intervalMs and syncs (persists + applies)
 *   only when something changed, reporting each change, until `signal` aborts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HnetError } from '../errors.js';
import { detectProxy, type DetectOptions } from '../host/proxy/detect.js';
import { parseProxyUrl, proxyUrlToString, redactProxyUrl, type EffectiveProxy } from '../host/proxy/types.js';
import { loadConfig, updateConfig, type ProxyConfig } from './config.js';
import { ControlClient } from './control-client.js';
import { CODES } from './control-types.js';
import type { HomePaths } from './home.js';

export interface SyncOptions {
  paths: HomePaths;
  detect: DetectOptions;
  dryRun?: boolean;
  /** For tests; defaults to a ControlClient on HOME's socket. */
  client?: Pick<ControlClient, 'putProxy'>;
}

/** Proxy settings in display form. */
export interface ProxyView {
  source: string;
  http: string | null;
  https: string | null;
  noProxy: string[];
  pac?: string;
}

export interface SyncResult {
  settings: ProxyView;
  /** What differs from config.json before this sync, e.g. "http: none -> http://***@proxy:3128". */
  changes: string[];
  /** Why this source won (detect.ts). */
  why: string;
  saved: boolean;
  applied: boolean;
  dryRun: boolean;
  /** hnet does not evaluate PAC scripts: a PAC-only setup gives guests no upstream. */
  pacNotEvaluated: boolean;
  note: string;
}

/** The config.json form of detected settings (credentials kept: the file is 0600). */
export function configFromEffective(e: EffectiveProxy): ProxyConfig {
  const out: ProxyConfig = { source: e.source, noProxy: [...e.noProxy] };
  if (e.http) out.http = proxyUrlToString(e.http);
  if (e.https) out.https = proxyUrlToString(e.https);
  if (e.pac !== undefined) out.pac = e.pac;
  return out;
}

function show(url: string | undefined): string {
  if (url === undefined) return 'none';
  const u = parseProxyUrl(url);
  return u ? redactProxyUrl(u) : '(unparsable)';
}

export function viewOf(c: ProxyConfig): ProxyView {
  const v: ProxyView = { source: c.source ?? 'none', http: c.http ? show(c.http) : null, https: c.https ? show(c.https) : null, noProxy: [...(c.noProxy ?? [])] };
  if (c.pac !== undefined) v.pac = c.pac;
  return v;
}

/** Human-readable differences, never showing credentials. */
export function describeChanges(before: ProxyConfig | undefined, after: ProxyConfig): string[] {
  const b = before ?? {};
  const changes: string[] = [];
  for (const k of ['http', 'https'] as const) {
    if (b[k] === after[k]) continue;
    const from = show(b[k]);
    const to = show(after[k]);
    changes.push(from === to ? `${k}: credentials changed` : `${k}: ${from} -> ${to}`);
  }
  if ((b.pac ?? '') !== (after.pac ?? '')) changes.push(`pac: ${b.pac ?? 'none'} -> ${after.pac ?? 'none'}`);
  const was = new Set(b.noProxy ?? []);
  const now = new Set(after.noProxy ?? []);
  const added = [...now].filter((x) => !was.has(x));
  const removed = [...was].filter((x) => !now.has(x));
  if (added.length > 0) changes.push(`no_proxy added: ${added.join(', ')}`);
  if (removed.length > 0) changes.push(`no_proxy removed: ${removed.join(', ')}`);
  if ((b.source ?? 'none') !== (after.source ?? 'none')) changes.push(`source: ${b.source ?? 'none'} -> ${after.source ?? 'none'}`);
  return changes;
}

export async function syncProxy(opts: SyncOptions): Promise<SyncResult> {
  const detection = await detectProxy(opts.detect);
  const next = configFromEffective(detection.effective);
  const before = loadConfig(opts.paths.config).proxy;
  const result: SyncResult = {
    settings: viewOf(next),
    changes: describeChanges(before, next),
    why: detection.why,
    saved: false,
    applied: false,
    dryRun: opts.dryRun === true,
    pacNotEvaluated: next.pac !== undefined && next.http === undefined && next.https === undefined,
    note: '',
  };
  if (opts.dryRun) {
    result.note = 'dry run: nothing saved or applied';
    return result;
  }
  updateConfig(opts.paths.config, (c) => {
    c.proxy = next;
  });
  result.saved = true;
  const client = opts.client ?? new ControlClient(opts.paths, { timeoutMs: 5000 });
  try {
    await client.putProxy({ http: next.http ?? null, https: next.https ?? null, noProxy: next.noProxy ?? [], pac: next.pac ?? null });
    result.applied = true;
    result.note = 'saved and applied to the running daemon; open connections keep their settings';
  } catch (err) {
    if (!(err instanceof HnetError && err.code === CODES.unreachable)) throw err;
    result.note = 'saved; applied at next start (no daemon answers now)';
  }
  return result;
}

export interface WatchOptions extends SyncOptions {
  intervalMs: number;
  signal: AbortSignal;
  /** Called with the first sync and with every later one that changed something. */
  onSync: (r: SyncResult) => void;
  /** Called when a check fails (e.g. config.json became unreadable); watching goes on. */
  onError?: (err: Error) => void;
}

/** Sync now, then re-check every intervalMs; sync again only when the detected settings change. */
export async function watchProxy(opts: WatchOptions): Promise<void> {
  let first = true;
  while (!opts.signal.aborted) {
    try {
      if (first) {
        opts.onSync(await syncProxy(opts));
        first = false;
      } else {
        const detection = await detectProxy(opts.detect);
        const before = loadConfig(opts.paths.config).proxy;
        if (describeChanges(before, configFromEffective(detection.effective)).length > 0) opts.onSync(await syncProxy(opts));
      }
    } catch (err) {
      opts.onError?.(err as Error);
    }
    try {
      await sleep(opts.intervalMs, undefined, { signal: opts.signal });
    } catch {
      return; // aborted
    }
  }
}
