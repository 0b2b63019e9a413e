/**
 * Plain-text tables for people: a bold header row, columns padded to their
 * widest cell, two spaces between columns, numbers right-aligned by default.
 *
 * Contract:
 * - Widths are measured on the visible text: ANSI colour sequences (theme.ts)
 *   do not count, so coloured cells line up.
 * - Cells are strings, numbers, or null/undefined (rendered as "-").
 * - Newlines and tabs inside a cell become spaces: one row is one line.
 * - No trailing spaces on any line.
 * - An empty table renders the `empty` text (dimmed) instead of a lone header.
 */
import { theme } from './theme.js';

export type Cell = string | number | null | undefined;
export type Align = 'left' | 'right';

export interface TableOptions {
  /** Per column; default: right for columns whose cells are all numbers. */
  align?: Align[];
  /** Shown instead of the table when there are no rows. */
  empty?: string;
  /** Style for the header row (default theme.bold). */
  header?: (s: string) => string;
}

// ECMA-48 CSI sequences (colours) and OSC 8 hyperlinks.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g;

/** The visible width of a string: ANSI sequences stripped, one column per code point. */
export function visibleWidth(s: string): number {
  return [...s.replace(ANSI, '')].length;
}

function cellText(c: Cell): string {
  if (c === null || c === undefined) return '-';
  return String(c).replace(/[\r\n\t]+/g, ' ');
}

function pad(s: string, width: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, width - visibleWidth(s)));
  return align === 'right' ? fill + s : s + fill;
}

export function renderTable(headers: string[], rows: Cell[][], options: TableOptions = {}): string {
  if (rows.length === 0) return theme.dim(options.empty ?? '(none)');
  const cols = Math.max(headers.length, ...rows.map((r) => r.length));
  const text = rows.map((r) => Array.from({ length: cols }, (_, i) => cellText(r[i])));
  const head = Array.from({ length: cols }, (_, i) => headers[i] ?? '');
  const align: Align[] = Array.from(
    { length: cols },
    (_, i) => options.align?.[i] ?? (rows.every((r) => typeof r[i] === 'number' || r[i] === null || r[i] === undefined) && rows.some((r) => typeof r[i] === 'number') ? 'right' : 'left'),
  );
  const widths = head.map((h, i) => Math.max(visibleWidth(h), ...text.map((r) => visibleWidth(r[i]!))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => pad(c, widths[i]!, align[i]!))
      .join('  ')
      .replace(/\s+$/, '');
  const style = options.header ?? theme.bold;
  return [style(line(head)), ...text.map(line)].join('\n');
}

/** Key/value lines ("Version  0.1.0"), keys padded to the longest. */
export function renderPairs(pairs: [string, Cell][]): string {
  const width = Math.max(0, ...pairs.map(([k]) => visibleWidth(k)));
  return pairs.map(([k, v]) => `${theme.dim(pad(k, width, 'left'))}  ${cellText(v)}`.replace(/\s+$/, '')).join('\n');
}
