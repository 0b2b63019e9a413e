/**
 * Runs diagnose checks in parallel, each under a timeout.
 *
 * Contract:
 * - At most `concurrency` checks run at once; results come back in the order
 *   of `checks`, whatever order they finish in.
 * - A check that throws becomes `fail` with the error's message (and an
 *   HnetError's suggestions as next steps); one that outlives `timeoutMs`
 *   becomes `fail` "did not finish within N s". A failing check never stops
 *   the others.
 * - A non-pass outcome without next steps gets a generic one, so every
 *   warn/fail/skip tells people what to do.
 * - onSettled is called as each check finishes (for a spinner's text).
 */
import { HnetError } from '../errors.js';
import type { Check, CheckResult, Facts, Outcome } from './types.js';

export interface RunOptions {
  timeoutMs: number;
  concurrency?: number;
  onSettled?: (r: CheckResult, done: number, total: number) => void;
  now?: () => number;
}

function withTimeout(p: Promise<Outcome>, ms: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(
      () => resolve({ status: 'fail', detail: `did not finish within ${(ms / 1000).toFixed(1)} s`, next: ['run hnet diagnose again with a longer --timeout', 'check that the host commands (ip, netstat, scutil) answer'] }),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function fromError(err: unknown): Outcome {
  if (err instanceof HnetError) return { status: 'fail', detail: `${err.message} (${err.code})`, next: err.suggestions.length > 0 ? err.suggestions : ['see the message above'] };
  return { status: 'fail', detail: err instanceof Error ? err.message : String(err), next: ['report this as a bug in hnet diagnose'] };
}

export async function runChecks(checks: Check[], facts: Facts, opts: RunOptions): Promise<CheckResult[]> {
  const now = opts.now ?? (() => performance.now());
  const results: CheckResult[] = new Array(checks.length);
  let nextIndex = 0;
  let done = 0;
  const worker = async () => {
    while (nextIndex < checks.length) {
      const i = nextIndex++;
      const c = checks[i]!;
      const start = now();
      let out: Outcome;
      try {
        out = await withTimeout(
          Promise.resolve().then(() => c.run(facts)),
          opts.timeoutMs,
        ).catch(fromError);
      } catch (err) {
        out = fromError(err);
      }
      const next = out.next && out.next.length > 0 ? out.next : out.status === 'pass' ? [] : ['see the detail'];
      const r: CheckResult = { id: c.id, title: c.title, group: c.group, status: out.status, detail: out.detail, next, durationMs: Math.round(now() - start) };
      if (out.data) r.data = out.data;
      results[i] = r;
      opts.onSettled?.(r, ++done, checks.length);
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 8, checks.length));
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}
