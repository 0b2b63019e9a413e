/**
 * The diagnose report: the stable JSON schema of `hnet diagnose --json`, and
 * its rendering for people.
 *
 * JSON schema "hnet.diagnose/v1" (stable; add fields, never rename or remove):
 *   {
 *     "schema": "hnet.diagnose/v1",
 *     "ok": boolean,                 // false iff some check failed (exit 1)
 *     "home": string,                // the HOME that was diagnosed
 *     "options": { "vpn": boolean, "name": string|null, "target": "HOST:PORT"|null },
 *     "summary": { "pass": n, "warn": n, "fail": n, "skip": n },
 *     "checks": [ {
 *        "id": string,               // stable dotted id, e.g. "vpn.overlap"
 *        "title": string,
 *        "group": "daemon"|"dns"|"network"|"proxy"|"ports"|"aliases"|"vpn",
 *        "status": "pass"|"warn"|"fail"|"skip",
 *        "detail": string,
 *        "next": string[],           // next steps; empty on pass
 *        "data"?: object,            // check-specific specifics
 *        "durationMs": number
 *     } ]
 *   }
 * Checks appear in a fixed order (checks/index.ts), whatever order they finish in.
 */
import { renderTable } from '../ui/table.js';
import { theme } from '../ui/theme.js';
import type { CheckResult, CheckStatus, DiagnoseOptions } from './types.js';

export const REPORT_SCHEMA = 'hnet.diagnose/v1';

export interface DiagnoseReport {
  schema: typeof REPORT_SCHEMA;
  ok: boolean;
  home: string;
  options: { vpn: boolean; name: string | null; target: string | null };
  summary: Record<CheckStatus, number>;
  checks: CheckResult[];
}

export function buildReport(home: string, options: DiagnoseOptions, checks: CheckResult[]): DiagnoseReport {
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) summary[c.status]++;
  return {
    schema: REPORT_SCHEMA,
    ok: summary.fail === 0,
    home,
    options: { vpn: options.vpn, name: options.name ?? null, target: options.target ? `${options.target.host}:${options.target.port}` : null },
    summary,
    checks,
  };
}

/** The exit code the report asks for: 1 when any check failed, else 0. */
export function exitCodeOf(report: DiagnoseReport): 0 | 1 {
  return report.ok ? 0 : 1;
}

const SYMBOL: Record<CheckStatus, () => string> = {
  pass: () => theme.symbols.pass,
  warn: () => theme.symbols.warn,
  fail: () => theme.symbols.fail,
  skip: () => theme.symbols.skip,
};

/** A table of checks (✓ ! ✗ -), then the next steps of every non-pass check. */
export function renderReport(report: DiagnoseReport): string {
  const rows = report.checks.map((c) => [SYMBOL[c.status](), c.title, c.detail]);
  const out = [renderTable(['', 'CHECK', 'DETAIL'], rows)];
  const steps = report.checks.filter((c) => c.status !== 'pass' && c.status !== 'skip' && c.next.length > 0);
  if (steps.length > 0) {
    out.push('', theme.bold('Next steps'));
    for (const c of steps) {
      out.push(`${SYMBOL[c.status]()} ${c.title}`);
      for (const n of c.next) out.push(`    ${theme.dim('→')} ${n}`);
    }
  }
  const s = report.summary;
  out.push('', `${s.pass} passed, ${s.warn} warnings, ${s.fail} failed, ${s.skip} skipped`);
  return out.join('\n');
}
