/**
 * Progress for people, always on stderr so stdout stays clean for --json.
 * ora animates only on a TTY; elsewhere it prints nothing but the final lines.
 */
import ora, { type Ora } from 'ora';

export function startSpinner(text: string, enabled = true): Ora {
  return ora({ text, stream: process.stderr, isEnabled: enabled && process.stderr.isTTY === true, isSilent: !enabled }).start();
}
