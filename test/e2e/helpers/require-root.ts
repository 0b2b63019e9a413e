/**
 * The e2e gate (DESIGN §7): `requireRootOrSkip(ctx, reasons?)` from a mocha
 * `before` hook skips the suite, printing why, when we are not root on Linux
 * (plus any extra reasons the caller found, such as a missing tool). Under
 * HNET_E2E=1 (CI) the same condition FAILS the suite instead of skipping it.
 */
export function requireRootOrSkip(ctx: Mocha.Context, extraReasons: string[] = []): void {
  const reasons: string[] = [];
  if (process.platform !== 'linux') reasons.push(`needs Linux (this is ${process.platform})`);
  else if (process.getuid?.() !== 0) reasons.push('needs root');
  reasons.push(...extraReasons);
  if (reasons.length === 0) return;
  const why = reasons.join('; ');
  if (process.env.HNET_E2E === '1') throw new Error(`e2e prerequisite missing under HNET_E2E=1: ${why}`);
  process.stderr.write(`      skipped: ${why}\n`);
  ctx.skip();
}
