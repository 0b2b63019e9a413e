/**
 * Give memory back once the daemon has gone idle, whatever the traffic was.
 *
 * reclaim.ts frees memory when a slab pool drops slabs, which only bulk
 * transfers cause. Other traffic leaves garbage that an idle daemon never
 * collects, because V8 runs a full GC only when it allocates:
 * - short connections grow V8's heap (the young generation to its maximum,
 *   promoted flows in the old one). After 10 s of them a daemon held 119 MiB
 *   of RSS through 30 s of idle (74 at start); a full GC and malloc_trim
 *   brought it to 84. V8's own memory reducer gave such memory back only
 *   now and then.
 * - TIME-WAIT entries expire 60 s after the host closed first, long after a
 *   pool's reclaim ran: after a mixed minute of traffic and 75 s idle, 111
 *   MiB; a full GC and malloc_trim brought it to 78.
 *
 * So every CHECK_MS the watcher reads how many frames the guests have sent
 * and been sent, and the process's RSS. An interval with at most
 * IDLE_FRAMES frames is idle (ARP, a DHCP renewal, an NTP poll). Once the
 * daemon has been idle for IDLE_SPELL_MS with RSS more than GROWTH_BYTES
 * above the lowest seen, it asks MemoryReclaim for a reclaim (two full GCs,
 * then malloc_trim; it spaces them itself). The process's CPU time was the
 * first measure of idleness, but an idle daemon's own collections (V8's
 * memory reducer) used 0.2-2.6% of a CPU in some 5 s windows, which kept
 * breaking the spell.
 *
 * The spell is long because giving memory back has a price when traffic
 * returns: V8 regrows its young generation and malloc its heap, page by
 * page. Reclaimed in every 12 s gap between 2 s bursts of short
 * connections, each burst cost 278-490 µs of CPU per connection against
 * 175-245 without (6 bursts each). Traffic that pauses for seconds keeps
 * its memory; a daemon left alone gives it back.
 *
 * Memory that is really in use (1000 open connections) does not come back,
 * so each reclaim that frees less than GROWTH_BYTES / 2 doubles the wait
 * before the next idle one, from FIRST_BACKOFF_MS up to MAX_BACKOFF_MS; a
 * busy interval (new traffic, new garbage) or a reclaim that freed memory
 * resets it. The timer is unref'd.
 */
import type { MemoryReclaim } from './reclaim.js';

export const CHECK_MS = 5000;
/** At most this many frames in a check interval (20 a second): nothing is flowing. */
export const IDLE_FRAMES = 100;
/** Idle this long before the first reclaim of a spell. */
export const IDLE_SPELL_MS = 30_000;
export const GROWTH_BYTES = 8 * 1024 * 1024;
export const FIRST_BACKOFF_MS = 30_000;
export const MAX_BACKOFF_MS = 15 * 60_000;

export interface IdleProbes {
  /** Frames to and from the guests so far. */
  frames(): number;
  /** Resident set size now, in bytes. */
  rssBytes(): number;
  /** Milliseconds on a monotonic clock. */
  now(): number;
}

/** The daemon's probes: its frame count, this process's RSS, performance.now(). */
export function daemonProbes(frames: () => number): IdleProbes {
  return { frames, rssBytes: () => process.memoryUsage.rss(), now: () => performance.now() };
}

export class IdleReclaim {
  private lastFrames: number;
  private lastAt: number;
  /** The lowest RSS seen, from the start: traffic may begin before the first check. */
  private floor: number;
  /** The reclaim's run count and RSS when this watcher last asked, while the answer is awaited. */
  private pending: { runs: number; rss: number } | null = null;
  private backoffMs = 0;
  private notBefore = -Infinity;
  /** How long every interval has been idle, up to now. */
  private idleFor = 0;

  constructor(
    private readonly reclaim: Pick<MemoryReclaim, 'request' | 'runs'>,
    private readonly probes: IdleProbes,
    /** Bumped for each reclaim asked for (the daemon's memory.idle_reclaims). */
    private readonly requests: { n: number } = { n: 0 },
  ) {
    this.lastFrames = probes.frames();
    this.lastAt = probes.now();
    this.floor = probes.rssBytes();
  }

  /** One check (the watch() timer's tick; tests call it directly). */
  check(): void {
    const now = this.probes.now();
    const frames = this.probes.frames();
    const elapsed = now - this.lastAt;
    const busy = frames - this.lastFrames > IDLE_FRAMES;
    this.lastFrames = frames;
    this.lastAt = now;
    const rss = this.probes.rssBytes();
    this.floor = Math.min(this.floor, rss);
    if (this.pending && this.reclaim.runs !== this.pending.runs) {
      // The one asked for has run: judge it by what came back.
      const freed = this.pending.rss - rss;
      this.pending = null;
      if (freed >= GROWTH_BYTES / 2) this.backoffMs = 0;
      else this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(FIRST_BACKOFF_MS, this.backoffMs * 2));
      this.notBefore = now + this.backoffMs;
    }
    if (busy) {
      this.idleFor = 0;
      this.backoffMs = 0;
      this.notBefore = -Infinity;
      return;
    }
    this.idleFor += elapsed;
    if (this.pending || this.idleFor < IDLE_SPELL_MS || now < this.notBefore || rss - this.floor <= GROWTH_BYTES) return;
    this.pending = { runs: this.reclaim.runs, rss };
    this.requests.n++;
    this.reclaim.request();
  }

  /** Check every `intervalMs` until the returned function is called. */
  watch(intervalMs = CHECK_MS): () => void {
    const timer = setInterval(() => this.check(), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
