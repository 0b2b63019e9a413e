/**
 * The only chalk import: colours and symbols for people. chalk turns itself
 * off when stdout is not a TTY (and under NO_COLOR), so output stays plain in pipes.
 */
import chalk from 'chalk';

export const theme = {
  ok: (s: string) => chalk.green(s),
  warn: (s: string) => chalk.yellow(s),
  fail: (s: string) => chalk.red(s),
  dim: (s: string) => chalk.dim(s),
  bold: (s: string) => chalk.bold(s),
  code: (s: string) => chalk.cyan(s),
  symbols: { pass: chalk.green('✓'), warn: chalk.yellow('!'), fail: chalk.red('✗'), skip: chalk.dim('-') },
};
