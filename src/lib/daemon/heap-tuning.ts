/**
 * Keep V8's young generation large while the daemon is busy.
 *
 * V8 shrinks the young generation to its minimum (1 MiB semi-spaces) at a
 * scavenge when its allocation rate over the last seconds is low (under
 * 1 MB/s: the first scavenge after a quiet spell) or after the memory
 * reducer's idle collections, and grows it again only once as many bytes
 * have survived scavenges as it holds, by its growth factor each time. A
 * daemon under steady traffic keeps little alive per scavenge (a request's
 * buffers; closed connections are not kept, churn-map.ts), so after a quiet
 * spell it could run on the minimum for minutes, scavenging far more often.
 *
 * Two remedies, both set at run time (the heap's limits are fixed when the
 * isolate is created, so `--min-semi-space-size` would have to be on node's
 * command line):
 *
 * - tuneYoungGeneration(): a growth factor of 16, so one growth goes from
 *   the minimum to the maximum. In `npm run bench:ab` after a memory-reducing
 *   GC (16 paired rounds): p99.9 of request/response 0.87x with it (better in
 *   9 of 16), p50 and p99 level. The price is memory under load: bulk traffic
 *   grows the young generation to its maximum at once, RSS after 2 s of
 *   iperf3 each way 117-119 MiB against 96-101 with V8's factor (2).
 * - YoungGenerationKeeper: the growth still needs survivors, and a
 *   request/response flow has almost none. Traced in the bench's order (each
 *   forwarder idle about 20 s between its runs), a sockperf run on a shrunk
 *   young generation took 56-94 scavenges in 2.5 s instead of 8-11, and its
 *   p99.9 was 331-647 µs against 101-168 on a grown one. So when scavenges
 *   come less than 250 ms apart on a shrunk young generation, the keeper
 *   holds a ballast of twice its size through the next two scavenges: the
 *   survivors then exceed its capacity and V8 grows it. One ballast (2 MiB
 *   copied once or twice) per quiet spell, against dozens of scavenges a
 *   second.
 * - Why the factor stays 16 for the daemon's life: with it set, every
 *   scavenge under short connections keeps 4-6 times the survivors of V8's
 *   factor (550-610 KB against 90-150) and pauses 2.8-3.2 ms against
 *   1.2-1.5 (`--trace-gc-nvp`, the same young generation size), for no
 *   measured loss of connection rate; raised only from a ballast until the
 *   young generation had grown, V8's own growth steps (1 -> 2 -> 5 MiB)
 *   passed the "shrunk" line first and p99.9 came out 1.3-1.8x worse.
 */
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import v8 from 'node:v8';

const SEMI_SPACE_GROWTH_FACTOR = 16;
const MiB = 1024 * 1024;
/** A young generation (V8's new_space size) at most this large is taken as shrunk. */
const SHRUNK_BYTES = 4 * MiB;
/** Scavenges closer together than this mean the daemon allocates fast: worth a grown young generation. */
const BUSY_SCAVENGE_GAP_MS = 250;
/**
 * After a ballast that did not grow the young generation, the next waits
 * 250 ms, doubling with each further miss up to 30 s, and starting over at
 * the next quiet spell. A miss happens when V8 also measured a low
 * allocation rate at that scavenge (its rate spans the last seconds, so the
 * first scavenges after a quiet spell), or when node's flags cap the young
 * generation.
 */
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 30_000;
/** Ballast chunk: 8000 doubles, 64 KB, under V8's large-object size, so it is allocated young. */
const CHUNK_DOUBLES = 8000;
const CHUNK_BYTES = CHUNK_DOUBLES * 8;

export function tuneYoungGeneration(): void {
  v8.setFlagsFromString(`--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`);
}

function newSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? Infinity;
}

export class YoungGenerationKeeper {
  private lastScavengeAt = -Infinity;
  private ballast: number[][] | null = null;
  private scavengesHeld = 0;
  /** When the ballast was complete: scavenges that started before (during its allocation) do not count. */
  private laidAt = Infinity;
  private retryAt = -Infinity;
  private retryMs = FIRST_RETRY_MS;
  private ballasts = 0;

  constructor(
    private readonly youngBytes: () => number = newSpaceBytes,
    /** The clock of the gc entries' startTime. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Ballasts laid so far. */
  get laid(): number {
    return this.ballasts;
  }

  /** A scavenge ended that started at `at` (ms, any monotonic clock). */
  onScavenge(at: number): void {
    const gap = at - this.lastScavengeAt;
    this.lastScavengeAt = at;
    if (gap >= BUSY_SCAVENGE_GAP_MS) {
      // A quiet spell: V8 may have shrunk the young generation again, and the back-off starts over.
      this.retryAt = -Infinity;
      this.retryMs = FIRST_RETRY_MS;
    }
    if (this.ballast) {
      // Scavenges the allocation itself set off saw only part of it (a trace
      // showed both of a ballast's two there, and no growth).
      if (at <= this.laidAt || ++this.scavengesHeld < 2) return;
      this.ballast = null;
      if (this.youngBytes() > SHRUNK_BYTES) this.retryMs = FIRST_RETRY_MS;
      else {
        this.retryAt = at + this.retryMs;
        this.retryMs = Math.min(2 * this.retryMs, MAX_RETRY_MS);
      }
      return;
    }
    if (gap >= BUSY_SCAVENGE_GAP_MS || at < this.retryAt) return;
    const size = this.youngBytes();
    if (size > SHRUNK_BYTES) return;
    const chunks = Math.ceil((2 * Math.max(size, MiB)) / CHUNK_BYTES);
    this.ballast = [];
    for (let i = 0; i < chunks; i++) this.ballast.push(new Array<number>(CHUNK_DOUBLES).fill(0.5));
    this.laidAt = this.now();
    this.scavengesHeld = 0;
    this.ballasts++;
  }

  /** Watch this isolate's scavenges; returns the function that stops watching. */
  watch(): () => void {
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const gc = e as PerformanceEntry & { detail?: { kind?: number } };
        if (gc.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) this.onScavenge(gc.startTime);
      }
    });
    obs.observe({ entryTypes: ['gc'] });
    return () => obs.disconnect();
  }
}
