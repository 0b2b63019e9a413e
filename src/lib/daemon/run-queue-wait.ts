/**
 * How long the calling thread has waited, runnable, for a CPU: the second
 * field of /proc/thread-self/schedstat (Documentation/scheduler/sched-stats.rst:
 * time spent on the CPU, time spent waiting on a runqueue, timeslices run; ns).
 * The busy poll's contention check reads it (busy-poll.ts): a thread that is
 * preempted by another task which then runs for a while waits here, whereas a
 * count of preemptions cannot tell a long wait from a short one.
 *
 * runQueueWaitMs() must be called on the thread to be measured (the daemon's
 * main thread): /proc/thread-self resolves when the file is opened. It returns
 * null where the kernel does not keep the figure (not Linux, or no
 * CONFIG_SCHED_INFO), and the reader then falls back to counting preemptions.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** A reader of the thread's runqueue wait so far (ms), or null where there is none. */
export function runQueueWaitMs(path = '/proc/thread-self/schedstat'): (() => number) | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  const buf = Buffer.alloc(96);
  // Re-read from offset 0 each time (pread): procfs renders the figures anew on every read.
  const fields = (): string[] => buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0)).split(' ');
  let first: string[];
  try {
    first = fields();
  } catch {
    closeSync(fd);
    return null;
  }
  // A kernel that keeps no scheduler statistics shows zeros: the thread asking has run, so its run time is over 0.
  if (!(Number(first[0]) > 0) || !Number.isFinite(Number(first[1]))) {
    closeSync(fd);
    return null;
  }
  return () => Number(fields()[1]) / 1e6;
}
