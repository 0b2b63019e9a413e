/**
 * Crash-safe file writes and a cross-process lock (DESIGN §6).
 *
 * writeFileAtomic: write to a temp file in the same folder, fsync it, rename
 * over the target, fsync the folder: readers see the old or the new content,
 * never a torn one. withFileLock: an exclusive lock file (O_EXCL) holding the
 * owner's pid; a lock whose pid is dead is stale and taken over.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, constants } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { HnetError } from '../errors.js';

export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  try {
    const dfd = openSync(dir, constants.O_RDONLY);
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    /* some filesystems refuse fsync on folders; the rename is still atomic */
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleepBuf = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepBuf, 0, 0, ms);
}

/**
 * Run fn while holding `${path}.lock`. Waits up to timeoutMs for another
 * process to release it; steals a lock left by a dead process.
 */
export function withFileLock<T>(path: string, fn: () => T, timeoutMs = 5000): T {
  const lock = `${path}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder = NaN;
      try {
        holder = Number(readFileSync(lock, 'utf8'));
      } catch {
        /* released meanwhile */
      }
      if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) {
        try {
          unlinkSync(lock);
        } catch {
          /* someone else took it over */
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new HnetError('HNET_LOCKED', `${path} is locked by pid ${holder}`, [`wait for pid ${holder} to finish, or remove ${lock} if it is not running`]);
      }
      sleepSync(20);
    }
  }
  try {
    return fn();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      /* already removed */
    }
  }
}
