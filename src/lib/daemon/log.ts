/**
 * The daemon's logger: one line per event on stderr, as text for people or
 * JSON for machines (--log-format). Fields pass through redact() so proxy
 * credentials (user:pass@ in URLs, Proxy-Authorization values) never reach a log.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Remove credentials from URLs and auth headers in free text. */
export function redact(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s:]+(?::[^/@\s]*)?@/gi, '$1***@')
    .replace(/((?:proxy-)?authorization:\s*\w+\s+)\S+/gi, '$1***');
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: LogLevel = 'info', format: LogFormat = 'text', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = RANK[level];
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return;
    if (format === 'json') {
      write(redact(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields })) + '\n');
    } else {
      const extra = fields && Object.keys(fields).length > 0 ? ' ' + Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') : '';
      write(redact(`${new Date().toISOString()} ${lvl.padEnd(5)} ${msg}${extra}`) + '\n');
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** A logger that drops everything; for unit tests. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
