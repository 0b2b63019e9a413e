/**
 * Progress for people, always on stderr so stdout stays clean for --json.
 * On a TTY it is an ora spinner. Elsewhere (CI logs, a supervisor, the bench)
 * nothing animates, so ora is not even loaded: its module graph (string-width's
 * emoji regex, an Intl.Segmenter, cli-spinners) stayed resident for a daemon's
 * whole life, 2.5-4.5 MiB of `hnet start`'s idle RSS. Off a TTY only the
 * outcome lines are printed, as ora prints them there.
 *
 * A TTY that reports 0 columns (a pseudo-terminal nobody sized: `script`,
 * some CI runners and containers) is treated as no TTY: ora 8 divides by the
 * width to count the lines it must clear, and clearing Infinity lines wrote
 * cursor-up sequences without end (megabytes a second) and never returned.
 */
import { theme } from './theme.js';

export interface Spinner {
  text: string;
  stop(): void;
  /** Stop and leave `text` behind as a failure line. */
  fail(text: string): void;
}

export async function startSpinner(text: string): Promise<Spinner> {
  if (process.stderr.isTTY !== true || !(process.stderr.columns > 0)) return new OutcomeLines(text);
  const { default: ora } = await import('ora');
  return ora({ text, stream: process.stderr }).start();
}

/** Off a TTY: no animation, no intermediate text; a failure still says so. */
class OutcomeLines implements Spinner {
  constructor(public text: string) {}

  stop(): void {}

  fail(text: string): void {
    process.stderr.write(`${theme.symbols.fail} ${text}\n`);
  }
}
