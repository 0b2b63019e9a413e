/**
 * e2e environment gates and the cleanup registry (DESIGN §7).
 *
 * requireRoot(ctx, tools): an e2e suite that cannot run (not root, a tool
 * missing) is skipped with its reason printed, except under HNET_E2E=1 (CI),
 * where the same condition FAILS the suite. Call it from a `before` hook.
 *
 * useCleanup(): a LIFO registry of teardown steps bound to the surrounding
 * describe's `after` hook, so namespaces, devices and processes are removed
 * even when tests fail. Every step runs even if an earlier one throws; the
 * errors are reported together at the end.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** True when e2e prerequisites must be present (CI). */
export function e2eRequired(): boolean {
  return process.env.HNET_E2E === '1';
}

/** Absolute path of `tool` on PATH, or undefined. */
export function which(tool: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    try {
      execFileSync('test', ['-x', `${dir}/${tool}`]);
      return `${dir}/${tool}`;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/**
 * Skip the current suite (or fail it under HNET_E2E=1) unless we are root on
 * Linux and every tool in `tools` is on PATH. `ctx` is mocha's `this`.
 */
export function requireRoot(ctx: Mocha.Context, tools: string[] = ['ip']): void {
  const reasons: string[] = [];
  if (process.platform !== 'linux') reasons.push(`needs Linux (this is ${process.platform})`);
  else if (process.getuid?.() !== 0) reasons.push('needs root (network namespaces, tap devices)');
  for (const t of tools) if (!which(t)) reasons.push(`needs ${t} on PATH`);
  skipUnless(ctx, reasons);
}

/** Skip (or fail under HNET_E2E=1) when `reasons` is non-empty. */
export function skipUnless(ctx: Mocha.Context, reasons: string[]): void {
  if (reasons.length === 0) return;
  const why = reasons.join('; ');
  if (e2eRequired()) throw new Error(`e2e prerequisite missing under HNET_E2E=1: ${why}`);
  process.stderr.write(`      skipped: ${why}\n`);
  ctx.skip();
}

/** A short random suffix for names that must not collide with parallel runs. */
export function uniqueSuffix(bytes = 3): string {
  return randomBytes(bytes).toString('hex');
}

export type CleanupStep = () => unknown | Promise<unknown>;

export class Cleanup {
  private steps: { label: string; fn: CleanupStep }[] = [];

  /** Register a teardown step; steps run last-in first-out. */
  add(label: string, fn: CleanupStep): void {
    this.steps.push({ label, fn });
  }

  get size(): number {
    return this.steps.length;
  }

  /** Run every step (LIFO), even after failures; throw them together at the end. */
  async run(): Promise<void> {
    const errors: Error[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.fn();
      } catch (err) {
        errors.push(new Error(`cleanup "${step.label}" failed: ${(err as Error).message}`));
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
  }
}

/**
 * A cleanup registry whose steps run in the surrounding describe's `after`
 * hook. Call it at describe level (not inside a test).
 */
export function useCleanup(): Cleanup {
  const c = new Cleanup();
  after(async function () {
    this.timeout(60_000);
    await c.run();
  });
  return c;
}

/** Best-effort cleanup on process exit for things a crashed run would leak. */
const exitSteps = new Set<() => void>();
let exitHooked = false;
export function onProcessExit(fn: () => void): () => void {
  exitSteps.add(fn);
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const f of exitSteps) {
        try {
          f();
        } catch {
          // best effort
        }
      }
    });
  }
  return () => exitSteps.delete(fn);
}
