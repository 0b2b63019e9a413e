/**
 * One daemon per HOME: the pid file HOME/run/hnet.pid and the control socket
 * HOME/run/hnet.sock (DESIGN §4, §5).
 *
 * Contract:
 * - acquirePidLock() makes HOME/run a 0700 folder, then creates the pid file
 *   exclusively (O_EXCL, mode 0600) holding our pid.
 * - A pid file left by a crashed daemon is stale and replaced: its pid is dead,
 *   or (Linux) that pid now belongs to a process that started after the file
 *   was written and nothing answers on the socket.
 * - A live holder makes acquirePidLock throw HnetError HNET_ALREADY_RUNNING
 *   naming its pid. Within one process a second acquire on the same HOME is
 *   refused the same way (the holder is this process).
 * - A socket file nothing answers on is stale and removed; one that answers
 *   (a daemon that lost its pid file) is refused too.
 * - release() removes the pid file only if it still names us.
 */
import { closeSync, chmodSync, constants, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import type { HomePaths } from './home.js';
import { HnetError } from '../errors.js';

export interface PidLock {
  readonly pid: number;
  readonly pidFile: string;
  release(): void;
}

/** Pid files this process holds right now (same-process double start). */
const heldHere = new Set<string>();

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Linux: the wall-clock ms a process started, from /proc/PID/stat field 22
 * (starttime, clock ticks since boot, proc(5)) and /proc/stat btime.
 * Assumes USER_HZ = 100, which Linux fixes for userspace. undefined elsewhere.
 */
export function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(rest[22 - 3]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(startTicks) || !Number.isFinite(btime)) return undefined;
    return btime * 1000 + startTicks * 10;
  } catch {
    return undefined;
  }
}

/** Does something accept connections on this unix socket? */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Create HOME/run as a 0700 folder (tightening it if it exists). */
export function ensureRunDir(runDir: string): void {
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  chmodSync(runDir, 0o700);
}

function readPid(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return NaN;
  }
}

function alreadyRunning(pid: number | undefined, paths: HomePaths): HnetError {
  const who = pid === undefined ? 'a daemon whose pid is unknown' : `pid ${pid}`;
  return new HnetError(
    'HNET_ALREADY_RUNNING',
    `an hnet daemon is already running for ${paths.home} (${who})`,
    [`stop it first${pid === undefined ? '' : ` (kill ${pid})`}, or start another with a different --home`],
  );
}

/** Is the pid recorded in pidFile a daemon that still holds this HOME? */
async function holderIsLive(holder: number, paths: HomePaths): Promise<boolean> {
  if (holder === process.pid) return heldHere.has(paths.pidFile);
  if (!pidAlive(holder)) return false;
  if (await socketAnswers(paths.controlSocket)) return true;
  // Alive but silent: either still starting up, or the pid was reused after a crash.
  const started = processStartMs(holder);
  if (started === undefined) return true;
  let written: number;
  try {
    written = statSync(paths.pidFile).mtimeMs;
  } catch {
    return false;
  }
  // btime has 1 s resolution: only a start clearly after the write is a reuse.
  return started <= written + 2000;
}

export async function acquirePidLock(paths: HomePaths): Promise<PidLock> {
  ensureRunDir(paths.runDir);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(paths.pidFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
    }
    const holder = readPid(paths.pidFile);
    if (Number.isInteger(holder) && holder > 0 && (await holderIsLive(holder, paths))) throw alreadyRunning(holder, paths);
    // Stale: remove it unless someone replaced it meanwhile, then retry O_EXCL.
    const now = readPid(paths.pidFile);
    if (now === holder || Number.isNaN(now)) {
      try {
        unlinkSync(paths.pidFile);
      } catch {
        /* already gone */
      }
    }
  }
  heldHere.add(paths.pidFile);
  const lock: PidLock = {
    pid: process.pid,
    pidFile: paths.pidFile,
    release() {
      heldHere.delete(paths.pidFile);
      if (readPid(paths.pidFile) === process.pid) {
        try {
          unlinkSync(paths.pidFile);
        } catch {
          /* already gone */
        }
      }
    },
  };
  try {
    await clearStaleSocket(paths);
  } catch (err) {
    lock.release();
    throw err;
  }
  return lock;
}

/** Remove a socket file nobody answers on; refuse if a daemon answers there. */
export async function clearStaleSocket(paths: HomePaths): Promise<void> {
  if (!existsSync(paths.controlSocket)) return;
  if (await socketAnswers(paths.controlSocket)) throw alreadyRunning(undefined, paths);
  try {
    unlinkSync(paths.controlSocket);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
