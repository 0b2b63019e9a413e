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
 * a bulk turn is CPU the sender could use.) An idle daemon spins at most
 * 2 ms after its last answer; sparse traffic shrinks the window to nothing,
 * and a window of 0 does not spin.
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
 * The loop is kept turning by a LoopSpinner (loop-spinner.ts: a libuv idle
 * handle, so a turn that finds nothing runs no JavaScript and allocates
 * nothing). The spin ends at a check made every SPIN_CHECK_MS (a Node timer:
 * libuv's are whole milliseconds) that finds the daemon idle for longer than
 * the window since its last answer, so the spin after a burst's last answer
 * runs 1-2 ms; the window decides whether to spin at all. (The spin used to
 * be a setImmediate per turn, which ended at the window's own end but made a
 * scavenge every 35 ms under ping-pong: loop-spinner.ts.) `maxMs` 0 disables it.
 */
import { immediateLoopSpinner, nativeLoopSpinner, type LoopSpinner } from './loop-spinner.js';

const START_MS = 0.01;
/** How often (ms) a spin checks whether the daemon has been idle past the window. */
export const SPIN_CHECK_MS = 1;

/** How often (ms) the CPU is checked for contention. */
export const CONTENTION_CHECK_MS = 100;
/** Contended: the thread waited for a CPU at least this share of the interval. */
export const CONTENDED_WAIT_SHARE = 0.08;
/** Without that figure, contended: preempted at least this often per answered turn... */
export const CONTENDED_PER_TURN = 0.1;
/** ...and at least this many times in the check interval (sparse traffic proves nothing). */
export const CONTENDED_MIN_PREEMPTIONS = 20;

/** A timer that calls back once, SPIN_CHECK_MS after each arm(). */
export interface SpinCheckTimer {
  arm(): void;
}

/**
 * The default SpinCheckTimer: one Node timer, re-armed with refresh() (no
 * allocation), never keeping the process alive. Its first, unasked-for call
 * finds no spin and does nothing: a cleared timer cannot be refreshed.
 */
export function nodeSpinCheckTimer(fn: () => void): SpinCheckTimer {
  const t = setTimeout(fn, SPIN_CHECK_MS);
  t.unref();
  return { arm: () => void t.refresh() };
}

/** How the poll learns it lost the CPU, and where it counts what it did about it and how its windows fared. */
export interface BusyPollContention {
  /** Time (ms) the daemon's thread has waited runnable for a CPU so far (run-queue-wait.ts); when given, the signal used. */
  runQueueWaitMs?: () => number;
  /** Involuntary context switches of this process so far (getrusage ru_nivcsw): the signal without runQueueWaitMs. */
  preemptions?: () => number;
  /** Bumped once per check interval found contended (busy_poll.paused_contended). */
  paused?: { n: number };
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

/** The longest window by default: covers a loopback reply on a virtualised host. */
export const DEFAULT_BUSY_POLL_US = 50;

export class BusyPoll {
  /** Current window (ms): input this soon after an answer is worth a spin. */
  window = 0;
  private idleSince = -1;
  /** The spinner is keeping the loop turning. */
  private spinning = false;
  private bulkTurn = false;
  private readonly check: SpinCheckTimer;

  /** The CPU was contended at the last check: idle() does not poll. */
  contended = false;
  private turns = 0;
  private checkAt = -Infinity;
  private turnsAtCheck = 0;
  /** The contention signal so far (runqueue wait in ms, or preemptions), and its value at the last check. */
  private readonly signal: () => number;
  private signalAtCheck = 0;
  /** Whether the signal's growth over `elapsed` ms and `turns` answered turns means a contended CPU. */
  private readonly isContended: (growth: number, elapsed: number, turns: number) => boolean;
  private readonly paused: { n: number };
  private readonly hits: { n: number };
  private readonly misses: { n: number };
  private readonly late: { n: number };

  constructor(
    readonly maxMs: number,
    private readonly clock: () => number,
    private readonly spinner: LoopSpinner = nativeLoopSpinner() ?? immediateLoopSpinner(),
    contention: BusyPollContention = {},
    timer: (fn: () => void) => SpinCheckTimer = nodeSpinCheckTimer,
  ) {
    if (contention.runQueueWaitMs) {
      this.signal = contention.runQueueWaitMs;
      this.isContended = (waited, elapsed) => waited >= elapsed * CONTENDED_WAIT_SHARE;
    } else {
      this.signal = contention.preemptions ?? (() => process.resourceUsage().involuntaryContextSwitches);
      this.isContended = (p, _elapsed, turns) => p >= CONTENDED_MIN_PREEMPTIONS && p >= turns * CONTENDED_PER_TURN;
    }
    this.paused = contention.paused ?? { n: 0 };
    this.hits = contention.hits ?? { n: 0 };
    this.misses = contention.misses ?? { n: 0 };
    this.late = contention.late ?? { n: 0 };
    this.check = timer(this.onCheck);
  }

  /** Everything pending was answered at `now`: spin, if the window says input is likely soon. */
  idle(now: number): void {
    if (this.maxMs <= 0) return;
    this.idleSince = now;
    this.turns++;
    if (now >= this.checkAt + CONTENTION_CHECK_MS) this.checkContention(now);
    if (this.bulkTurn) {
      this.bulkTurn = false;
      return;
    }
    if (this.contended || this.window <= 0) return this.stopSpin();
    if (this.spinning) return;
    this.spinning = true;
    this.spinner.start();
    this.check.arm();
  }

  /** Input arrived at `now`; the first input after idle() adapts the window. */
  input(now: number): void {
    if (this.idleSince < 0) return;
    const idleFor = now - this.idleSince;
    this.idleSince = -1;
    if (this.spinning) this.hits.n++;
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
   * This turn moved bulk data: stop spinning, and do not spin after it. The
   * next input then comes from a sender that needs a CPU to make it, and on a
   * 2-core host a spin competes with it.
   */
  bulk(): void {
    this.bulkTurn = true;
    this.stopSpin();
  }

  /** Compare the thread's wait for a CPU (or its preemptions, against the turns answered) since the last check with the time passed. */
  private checkContention(now: number): void {
    const first = this.checkAt === -Infinity;
    const value = this.signal();
    const growth = value - this.signalAtCheck;
    const elapsed = now - this.checkAt;
    const turns = this.turns - this.turnsAtCheck;
    this.checkAt = now;
    this.signalAtCheck = value;
    this.turnsAtCheck = this.turns;
    // The first check only takes the baseline, at the first answered turn: one
    // taken at construction would count startup (module loading, the JIT)
    // against the first interval of traffic.
    if (first) return;
    this.contended = this.isContended(growth, elapsed, turns);
    if (this.contended) this.paused.n++;
  }

  /** Stop polling at once (daemon shutdown). */
  stop(): void {
    this.stopSpin();
    this.idleSince = -1;
  }

  private stopSpin(): void {
    if (!this.spinning) return;
    this.spinning = false;
    this.spinner.stop();
  }

  /** Every SPIN_CHECK_MS while spinning: stop once the daemon has been idle past the window since its last answer. */
  private readonly onCheck = (): void => {
    if (!this.spinning) return;
    if (this.idleSince >= 0 && this.clock() - this.idleSince > this.window) this.stopSpin();
    else this.check.arm();
  };
}
