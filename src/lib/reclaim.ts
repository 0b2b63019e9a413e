/**
 * Give memory back to the system once bulk traffic has stopped.
 *
 * A bulk transfer grows what the daemon holds: the slab pools (slab-pool.ts)
 * keep up to 64 MiB of slabs each while data moves, and V8 grows its young
 * generation to 16 MiB. The pools drop their unused slabs a few seconds after
 * traffic stops, but that memory comes back only when V8 next runs a full
 * GC, which an idle daemon may never do, and glibc keeps freed chunks inside
 * its heap. Measured after 2 s of each MTU 1500 throughput row of the bench
 * and 20 s idle: RSS stayed at 106.3-116.7 MiB (75.8-79.6 at start); with
 * the reclaim it fell within 5-10 s, to 70.7-97.6 MiB in six runs (four of
 * them 71-73).
 *
 * So a pool that drops slabs asks for a reclaim: RECLAIM_DELAY_MS later (one
 * for every request in that time), two full GCs, then glibc's malloc_trim(0)
 * (reclaimMemory). An idle daemon asks for one too (idle-reclaim.ts).
 * At most one per RECLAIM_MIN_INTERVAL_MS, so bulk traffic that comes and
 * goes does not make the daemon collect over and over. The timer is unref'd:
 * it never keeps a process alive.
 *
 * Node has no API to ask for a full GC: V8's gc() extension is enabled at run
 * time (the flag applies to contexts made after it) and taken from a fresh vm
 * context, as jest's leak detector does.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { mallocTrim } from './phy/libc.js';

export const RECLAIM_DELAY_MS = 1000;
export const RECLAIM_MIN_INTERVAL_MS = 10_000;

export class MemoryReclaim {
  /** Reclaims run so far. */
  runs = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastRun = -Infinity;

  constructor(
    private readonly reclaim: () => void,
    private readonly delayMs = RECLAIM_DELAY_MS,
    private readonly minIntervalMs = RECLAIM_MIN_INTERVAL_MS,
  ) {}

  /** Schedule a reclaim (cheap; one is pending at most). */
  request(): void {
    if (this.timer !== null) return;
    const now = Date.now();
    const at = Math.max(now + this.delayMs, this.lastRun + this.minIntervalMs);
    this.timer = setTimeout(() => this.run(), at - now);
    this.timer.unref();
  }

  private run(): void {
    this.timer = null;
    this.lastRun = Date.now();
    this.runs++;
    this.reclaim();
  }
}

let gcFn: (() => void) | null | undefined;

/** Run a full garbage collection; false when this V8 would not expose gc(). */
export function fullGc(): boolean {
  if (gcFn === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    try {
      if (!exposed) v8.setFlagsFromString('--expose-gc');
      gcFn = exposed ?? (vm.runInNewContext('gc') as () => void);
    } catch {
      gcFn = null;
    }
  }
  if (!gcFn) return false;
  gcFn();
  return true;
}

/**
 * Free what nothing references, then return malloc's free pages to the
 * system. Two collections: part of what a collection finds unreachable is
 * freed only by the next one (memory behind weak handles, such as closed
 * sockets' wrappers, goes to their callbacks first). After 5 s of short
 * connections and 9 s idle, one collection took RSS from 121 to 111 MiB and
 * a second, 10 s later, to 70; two in a row went from 118 to 70 at once.
 */
export function reclaimMemory(): void {
  fullGc();
  fullGc();
  mallocTrim();
}

/** The daemon's reclaim after bulk traffic: the pools' dropped slabs freed, then their pages returned. */
export const memoryReclaim = new MemoryReclaim(reclaimMemory);
