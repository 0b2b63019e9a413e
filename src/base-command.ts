/**
 * What every hnet command shares: the --home flag (env HNET_HOME), --json via
 * oclif's enableJsonFlag, and the mapping of errors to exit codes: HnetError
 * -> its exitCode (1 failure, 2 usage), oclif parse errors -> 2, anything else -> 1.
 * Errors print their code, message and next steps; with --json, as JSON on stdout.
 */
import { Command, Flags, Errors } from '@oclif/core';
import { HnetError } from './lib/errors.js';
import { homePaths, resolveHome, type HomePaths } from './lib/daemon/home.js';
import { theme } from './lib/ui/theme.js';

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    home: Flags.string({ description: 'folder for config, state and the control socket (default: $HNET_HOME or ~/.hnet)', helpGroup: 'GLOBAL' }),
  };

  protected paths(home?: string): HomePaths {
    return homePaths(resolveHome(home));
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof HnetError) {
      if (this.jsonEnabled()) {
        this.logJson({ error: err.toJSON() });
      } else {
        process.stderr.write(`${theme.fail('Error:')} ${err.message} ${theme.dim(`(${err.code})`)}\n`);
        for (const s of err.suggestions) process.stderr.write(`  ${theme.dim('→')} ${s}\n`);
      }
      this.exit(err.exitCode);
    }
    if (err instanceof Errors.CLIError && err.oclif?.exit === undefined) {
      // oclif flag/argument parse errors: usage errors exit 2.
      (err.oclif as { exit: number } | undefined) ??= { exit: 2 };
    }
    return super.catch(err);
  }
}
