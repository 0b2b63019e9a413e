/**
 * Errors meant for people. Every HnetError carries a stable `code` that scripts
 * can match on (also sent as the control API's `error.code`), a message naming
 * the problem, and suggestions naming the next step. The CLI maps them to exit
 * code 1 (failure) or 2 (usage), see base-command.ts.
 */
export class HnetError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly suggestions: string[] = [],
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'HnetError';
  }

  toJSON(): { code: string; message: string; suggestions: string[] } {
    return { code: this.code, message: this.message, suggestions: this.suggestions };
  }
}

/** The user gave input we cannot use (a flag, a spec, an address). Exit 2. */
export class UsageError extends HnetError {
  constructor(code: string, message: string, suggestions: string[] = []) {
    super(code, message, suggestions, 2);
    this.name = 'UsageError';
  }
}

/** A file on disk (config, leases) is unreadable; it is never overwritten. */
export class BrokenFileError extends HnetError {
  constructor(readonly file: string, detail: string) {
    super('HNET_BROKEN_FILE', `${file} cannot be read: ${detail}`, [
      `fix or move ${file} away; hnet will not overwrite it`,
    ]);
    this.name = 'BrokenFileError';
  }
}

/** The operation needs root (or CAP_NET_ADMIN). */
export class PermissionError extends HnetError {
  constructor(what: string, command?: string) {
    super('HNET_PERMISSION', `${what} needs root privileges`, command ? [`run: sudo ${command}`] : ['run it again with sudo']);
    this.name = 'PermissionError';
  }
}
