/**
 * Adaptive busy polling of the event loop, after KVM's halt polling
 * (virt/kvm/kvm_main.c, Documentation/virt/kvm/halt-polling.rst): before the
 * loop blocks in epoll_wait, keep it turning for a short window, so a reply
 * that arrives within the window is picked up without a sleep and a wake-up.
 * On a virtualised host a wake-up costs ~10 us of CPU and latency, which is a
 * quarter of a request/response round trip through the daemon.
 *
 * The window adapts to the traffic, as KVM's does: each time input arrives
 * after the loop went idle, the idle time is compared with the window. Input
 * that came later than the window but within `maxMs` would have been caught
 * by a longer window: grow it (doubling from START_MS). Input that came after
 * more than `maxMs` means the window was polled in vain: halve it (below
 * START_MS it is 0, no polling). A turn that moved bulk data (bulk(): a
 * segment or host read of 1 KiB or more) is not followed by a poll: the next
 * input then comes from a sender that needs a CPU to make it, and on a
 * 2-core host a spin competes with it. (It was chosen when single-stream
 * guest-to-host iperf3 at MTU 65520 made 2-4 Gbit/s; most of that spread was
 * receive-window stalls, fixed in socket.ts read(). Re-measured after the fix,
 * medians of four interleaved 3 s runs, skipping against polling after bulk
 * turns: 10.65 against 10.34 Gbit/s at MTU 65520, 10.18 against 10.39 at
 * 1500: no difference either way, and the rule stays because a spin after
 * a bulk turn is CPU the sender could use.) An idle daemon polls at
 * most one window after its last answer; sparse traffic shrinks the window
 * to nothing.
 *
 * Polling pauses while the CPU is contended, as KVM's halt polling stops when
 * another task is runnable (single_task_running()): a spin then takes a CPU
 * from the processes at both ends of the flow, and every reply waits for
 * them. Measured with one CPU-bound process beside sockperf ping-pong on 2
 * cores: spinning on made p99 97 against 67 us with polling off (alone,
 * polling on is the better: p50 30.7 against 41.6 us). The check runs every
 * CONTENTION_CHECK_MS. Its signal, where the kernel gives it (Linux,
 * run-queue-wait.ts), is the share of the interval the daemon's thread spent
 * runnable but waiting for a CPU: 15-18% beside a CPU-bound process, 0.5-3.3%
 * alone, polling or not (CONTENDED_WAIT_SHARE is between). Elsewhere it is
 * the count of involuntary context switches against the turns answered
 * (0.6 per turn beside a CPU-bound process against 0.02 alone). That count
 * alone misled on a machine whose peers' wake-ups preempt the daemon once
 * per round trip (a synchronous wake-up puts the woken process on the
 * waker's CPU): 520 preemptions per 100 ms there, 5 us each, once polling
 * had paused, so it stayed paused with nothing else running, and p50 was
 * 35 us instead of 17 for whole runs. A paused poll keeps adapting its
 * window and resumes at the first quiet check.
 *
 * Polling is a self-renewing setImmediate: while one is pending, libuv polls
 * with a zero timeout, and new I/O runs on the next turn. `maxMs` 0 disables it.
 *
 * The window counts the time the poll ran, not the time that passed: a tick
 * that comes more than STALL_MS after the one before did not run in between
 * (the thread was preempted, or the hypervisor took the vCPU: on the bench
 * machine a running vCPU loses 1300-2300 stretches of 20-50 us a second,
 * steps-2026-12-07.md), and that stretch moves the window's end on. Without
 * it one such stretch ends the window early, and an input that comes in the
 * rest of it finds the daemon asleep and pays a wake-up.
 */
const START_MS = 0.01;
/** A loop turn with nothing to do takes 1-3 us; a gap longer than this between two ticks was not spent polling. */
export const STALL_MS = 0.01;

/** How often (ms) the CPU is checked for contention. */
export const CONTENTION_CHECK_MS = 100;
/** Contended: the thread waited for a CPU at least this share of the interval. */
export const CONTENDED_WAIT_SHARE = 0.08;
/** Without that figure, contended: preempted at least this often per answered turn... */
export const CONTENDED_PER_TURN = 0.1;
/** ...and at least this many times in the check interval (sparse traffic proves nothing). */
export const CONTENDED_MIN_PREEMPTIONS = 20;

/** How the poll learns it lost the CPU, and where it counts what it did about it and how its windows fared. */
export interface BusyPollContention {
  /** Time (ms) the daemon's thread has waited runnable for a CPU so far (run-queue-wait.ts); when given, the signal used. */
  runQueueWaitMs?: () => number;
  /** Involuntary context switches of this process so far (getrusage ru_nivcsw): the signal without runQueueWaitMs. */
  preemptions?: () => number;
  /** Bumped once per check interval found contended (busy_poll.paused_contended). */
  paused?: { n: number };
  /** Bumped for each stall that moved a window's end on (busy_poll.stalls): see STALL_MS. */
  stalls?: { n: number };
  /**
   * The first input after each idle(), by how it was met: while the loop was
   * still polling (hits: no sleep, no wake-up), after the loop blocked but
   * within `maxMs` of idle (misses: a longer window would have caught it), or
   * later (late: sparse traffic, no window would have).
   */
  hits?: { n: number };
  misses?: { n: number };
  late?: { n: number };
}

/** The longest window by default: covers a loopback reply on a virtualised host; at most this much CPU per idle period. */
export const DEFAULT_BUSY_POLL_US = 50;

export class BusyPoll {
  /** Current window (ms) polled after the loop goes idle. */
  window = 0;
  private idleSince = -1;
  private until = 0;
  /** When the poll last ran (idle() or a tick): a longer gap to the next tick was not polled. */
  private lastRan = 0;
  private polling = false;
  private bulkTurn = false;
  /** bulk() calls so far, and their count when the current poll began. */
  private bulkMoves = 0;
  private bulkMovesAtPoll = 0;

  /** The CPU was contended at the last check: idle() does not poll. */
  contended = false;
  private turns = 0;
  private checkAt = -Infinity;
  private turnsAtCheck = 0;
  private preemptionsAtCheck = 0;
  private waitedAtCheck = 0;
  private readonly preemptions: () => number;
  private readonly runQueueWaitMs: (() => number) | undefined;
  private readonly paused: { n: number };
  private readonly stalls: { n: number };
  private readonly hits: { n: number };
  private readonly misses: { n: number };
  private readonly late: { n: number };

  constructor(
    readonly maxMs: number,
    private readonly clock: () => number,
    private readonly defer: (fn: () => void) => void = (fn) => void setImmediate(fn),
    contention: BusyPollContention = {},
  ) {
    this.preemptions = contention.preemptions ?? (() => process.resourceUsage().involuntaryContextSwitches);
    this.runQueueWaitMs = contention.runQueueWaitMs;
    this.paused = contention.paused ?? { n: 0 };
    this.stalls = contention.stalls ?? { n: 0 };
    this.hits = contention.hits ?? { n: 0 };
    this.misses = contention.misses ?? { n: 0 };
    this.late = contention.late ?? { n: 0 };
  }

  /** Everything pending was answered at `now`: poll for the current window before blocking. */
  idle(now: number): void {
    if (this.maxMs <= 0) return;
    this.idleSince = now;
    this.turns++;
    if (now >= this.checkAt + CONTENTION_CHECK_MS) this.checkContention(now);
    if (this.bulkTurn) {
      this.bulkTurn = false;
      return;
    }
    if (this.contended) return;
    this.until = now + this.window;
    this.lastRan = now;
    if (this.window > 0 && !this.polling) {
      this.polling = true;
      this.bulkMovesAtPoll = this.bulkMoves;
      this.defer(this.tick);
    }
  }

  /** Input arrived at `now`; the first input after idle() adapts the window. */
  input(now: number): void {
    if (this.idleSince < 0) return;
    const idleFor = now - this.idleSince;
    this.idleSince = -1;
    if (this.polling) this.hits.n++;
    else if (idleFor > this.maxMs) this.late.n++;
    else this.misses.n++;
    if (idleFor > this.maxMs) {
      // Polled in vain (or would have been): shrink.
      this.window = this.window / 2 < START_MS ? 0 : this.window / 2;
    } else if (idleFor > this.window) {
      // A longer window would have caught this input: grow.
      this.window = Math.min(this.maxMs, this.window === 0 ? START_MS : this.window * 2);
    }
  }

  /**
   * This turn moved bulk data: do not poll after it. A poll already started
   * in this turn (inputs are flushed as they come, scheduler.ts, so several
   * flushes can end one turn) stops at its first tick too.
   */
  bulk(): void {
    this.bulkTurn = true;
    this.bulkMoves++;
  }

  /** Compare the thread's wait for a CPU (or its preemptions, against the turns answered) since the last check with the time passed. */
  private checkContention(now: number): void {
    const first = this.checkAt === -Infinity;
    const elapsed = now - this.checkAt;
    this.checkAt = now;
    if (this.runQueueWaitMs) {
      const waited = this.runQueueWaitMs();
      const w = waited - this.waitedAtCheck;
      this.waitedAtCheck = waited;
      // The first check only takes the baseline, at the first answered turn: one
      // taken at construction would count startup (module loading, the JIT)
      // against the first interval of traffic.
      if (first) return;
      this.contended = w >= elapsed * CONTENDED_WAIT_SHARE;
    } else {
      const preemptions = this.preemptions();
      const p = preemptions - this.preemptionsAtCheck;
      const turns = this.turns - this.turnsAtCheck;
      this.preemptionsAtCheck = preemptions;
      this.turnsAtCheck = this.turns;
      if (first) return;
      this.contended = p >= CONTENDED_MIN_PREEMPTIONS && p >= turns * CONTENDED_PER_TURN;
    }
    if (this.contended) this.paused.n++;
  }

  /** Stop polling at once (daemon shutdown). */
  stop(): void {
    this.until = 0;
    this.idleSince = -1;
  }

  private readonly tick = (): void => {
    const now = this.clock();
    const gap = now - this.lastRan;
    this.lastRan = now;
    if (gap > STALL_MS) {
      this.until += gap;
      this.stalls.n++;
    }
    if (this.bulkMoves === this.bulkMovesAtPoll && now < this.until) this.defer(this.tick);
    else this.polling = false;
  };
}
