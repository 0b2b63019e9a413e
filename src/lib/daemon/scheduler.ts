/**
 * The daemon's one clock and its batching. The stack is sans-IO: it asks to
 * be polled at `pollAt()` times and to be flushed after input. The scheduler
 * keeps one Node timer for the earliest deadline: a binary heap of the tasks
 * themselves, each carrying its deadline and its slot in the heap, so a
 * deadline moved earlier is sifted in place and a cancelled task leaves at
 * once. No object is allocated per deadline and none outlives its task; with
 * an entry object per deadline, and cancelled ones left in the heap until
 * their time, 4000 short connections a second kept about 2700 dead entries
 * (up to 1 s each), which every scavenge copied and then promoted.
 *
 * When output goes out: an I/O callback that reads input (a tap wakeup with
 * the frames drained behind it, one host read) brackets its work with
 * beginInput()/endInput() (phy/link.ts inInputBatch), and what it marked is
 * flushed as the outermost bracket closes, before the callback returns. Paired
 * A/B against flushing from a setImmediate (Node's check phase: a
 * MakeCallback, an async-context push and pop and a microtask checkpoint per
 * request and per reply): p50 0.96-0.97x, p99 0.92-1.00x, CPU per round
 * trip 0.95-0.98x. Two kinds of input still flush once at the end of the
 * turn, via setImmediate: marks made outside any bracket, and bulk host
 * reads (bulkInput), so a socket read again and again in one turn is sent in
 * one batch. A flush never starts inside a running one.
 * With a BusyPoll, the loop keeps turning for a short window after each
 * flush (busy-poll.ts), and the first input after a flush tells it how long
 * the loop had been idle.
 */
import type { BusyPoll } from './busy-poll.js';

export interface Pollable {
  /** Run everything due at `now`; return the next deadline (ms) or Infinity. */
  poll(now: number): number;
}

const MAX_IMMEDIATE_RERUNS = 64;

/** The scheduler's mark on a task listed for this turn's flush. */
const DIRTY = Symbol('hnet.scheduler.dirty');
/**
 * A task's deadline (the earliest asked for) and its index in the heap (-1 or
 * absent: not in it), kept on the task: a Map from task to deadline cost two
 * hash lookups per poll of a flow.
 */
const AT = Symbol('hnet.scheduler.at');
const SLOT = Symbol('hnet.scheduler.slot');
type Marked = Pollable & { [DIRTY]?: boolean; [AT]?: number; [SLOT]?: number };

/** Whether `t` waits in the heap. */
function queued(t: Marked): boolean {
  return (t[SLOT] ?? -1) >= 0;
}

export class Scheduler {
  private heap: Marked[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  /**
   * Tasks to poll at the end of this turn, in the order first marked, and the
   * list of the flush running now; swapped each turn. Membership is a mark on
   * the task (DIRTY), and slots are reused (a count, not length = 0), because
   * a Set's clear() and an array's truncation each allocated on every turn.
   */
  private dirty: Array<Marked | null> = [];
  private dirtyCount = 0;
  private running: Array<Marked | null> = [];
  /** A setImmediate is pending that will flush. */
  private immediatePending = false;
  /** Open beginInput() brackets: marks made inside wait for the outermost endInput(). */
  private inputDepth = 0;
  /** The open bracket's input asked to be flushed at the end of the turn (bulkInput). */
  private inputBulk = false;
  /** A flush is running: a bracket closed inside it (a service answering a write at once) must not start another. */
  private flushing = false;
  private stopped = false;
  /** Consecutive immediate re-runs per task, so a task that is always due cannot spin the loop. */
  private readonly reruns = new Map<Pollable, number>();

  /** Polls the loop after each flush (null: block at once). */
  busyPoll: BusyPoll | null = null;

  /** Called when a task's poll throws; the task is not polled again unless re-scheduled. */
  onTaskError: (task: Pollable, err: Error) => void = () => undefined;

  constructor(private readonly clock: () => number = () => performance.now()) {}

  now(): number {
    return this.clock();
  }

  /** Tasks waiting for a deadline (each once, however often it was scheduled). */
  get waiting(): number {
    return this.heap.length;
  }

  /** Ask for `task.poll()` at `at` (earlier requests win; Infinity cancels nothing). */
  schedule(task: Pollable, at: number): void {
    if (!Number.isFinite(at) || this.stopped) return;
    const t = task as Marked;
    if (queued(t)) {
      if (t[AT]! <= at) return;
      t[AT] = at;
      this.siftUp(t[SLOT]!);
    } else {
      t[AT] = at;
      this.heap.push(t);
      this.siftUp(this.heap.length - 1); // places it, slot included
    }
    this.arm();
  }

  /**
   * Forget `task` (a closed flow): no poll, and no reference kept. Without
   * this a closed TCP flow stayed reachable until its last timer (100 ms and
   * more) and the young-generation GC copied and promoted every short
   * connection: at 4000 connections/s, 9 ms per scavenge.
   */
  cancel(task: Pollable): void {
    const t = task as Marked;
    if (queued(t)) this.remove(t[SLOT]!);
    t[DIRTY] = false; // a slot already listed is skipped
    this.reruns.delete(task);
  }

  /** Poll `task` at the end of this event-loop turn. */
  markDirty(task: Pollable): void {
    if (this.stopped) return;
    const t = task as Marked;
    if (t[DIRTY] === true) return;
    t[DIRTY] = true;
    // The first mark since the last flush is the input that ended an idle spell, if any.
    if (this.dirtyCount === 0) this.busyPoll?.input(this.clock());
    this.dirty[this.dirtyCount++] = t;
    if (this.inputDepth === 0) this.flushAtTurnEnd();
  }

  private flushAtTurnEnd(): void {
    if (this.immediatePending) return;
    this.immediatePending = true;
    setImmediate(this.flushNow);
  }

  /**
   * An I/O callback starts handling input (see the module comment). Brackets
   * nest; every beginInput() must be matched by an endInput(), in a finally.
   */
  beginInput(): void {
    this.inputDepth++;
  }

  /** The I/O callback is done: at the outermost bracket, flush what it marked, now. */
  endInput(): void {
    if (--this.inputDepth !== 0) return;
    const bulk = this.inputBulk;
    this.inputBulk = false;
    if (this.dirtyCount === 0 || this.stopped) return;
    if (!bulk && !this.flushing) return this.flush();
    this.flushAtTurnEnd();
  }

  /**
   * The input in this bracket is bulk data: flush it at the end of the turn,
   * as unbracketed input is. A host socket with more queued than one read
   * takes is read again and again in one callback, and the turn's one flush
   * then sends it in one batch. Flushed after each read instead, host→guest
   * iperf3 at MTU 1500 made 0.75-0.80x the throughput for 1.3x the CPU per GB
   * (paired rounds against the flush at the turn's end). The busy poll
   * skips the idle spell after it too (BusyPoll.bulk).
   */
  bulkInput(): void {
    this.busyPoll?.bulk();
    if (this.inputDepth > 0) this.inputBulk = true;
  }

  stop(): void {
    this.stopped = true;
    this.busyPoll?.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const t of this.heap) t[SLOT] = -1;
    this.heap = [];
    this.dirty.fill(null);
    this.dirtyCount = 0;
    this.reruns.clear();
  }

  private readonly flushNow = (): void => {
    this.immediatePending = false;
    // Nothing left: an input bracket flushed it already (a busy poll would restart from here needlessly).
    if (this.dirtyCount > 0) this.flush();
  };

  private flush(): void {
    if (this.stopped) return;
    // Swapped out first: a task polled here may mark itself (or others) dirty for the next turn.
    const batch = this.dirty;
    const n = this.dirtyCount;
    this.dirty = this.running;
    this.dirtyCount = 0;
    this.running = batch;
    const now = this.clock();
    this.flushing = true;
    for (let i = 0; i < n; i++) {
      const t = batch[i]!;
      batch[i] = null;
      if (t[DIRTY] !== true) continue; // cancelled after it was marked
      t[DIRTY] = false;
      this.run(t, now); // never throws: a task's error is reported and contained there
    }
    this.flushing = false;
    // Nothing marked for the next turn: the loop may go idle (after a busy poll).
    if (this.busyPoll && this.dirtyCount === 0) this.busyPoll.idle(this.clock());
  }

  private run(task: Pollable, now: number): void {
    let next: number;
    try {
      next = task.poll(now);
    } catch (err) {
      // A bug in one task (one TCP flow, say) must not take the daemon and every other guest down,
      // nor, through a failing report, stall the rest of the flush (they stay marked, never polled).
      try {
        this.onTaskError(task, err as Error);
      } catch {
        // the report failed; the task is still cancelled below
      }
      this.cancel(task);
      return;
    }
    // A deadline that was due is met by this poll; a later one stays.
    const t = task as Marked;
    if (queued(t) && t[AT]! <= now) this.remove(t[SLOT]!);
    // Most runs have no re-run streak: skip the Map lookups then (two per run, on every frame).
    const reruns = this.reruns.size === 0 ? 0 : (this.reruns.get(task) ?? 0);
    if (next <= now && reruns < MAX_IMMEDIATE_RERUNS) {
      // Work is due again right away (more to send): the next turn, not a 1 ms timer.
      this.reruns.set(task, reruns + 1);
      this.markDirty(task);
      return;
    }
    // Not due now, or due for too many turns in a row: back to the timer (no busy loop).
    if (reruns > 0) this.reruns.delete(task);
    if (Number.isFinite(next)) this.schedule(task, Math.max(next, now));
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock();
    while (this.heap.length > 0 && this.heap[0]![AT]! <= now) {
      const task = this.heap[0]!;
      this.remove(0);
      this.run(task, now);
    }
    this.arm();
  }

  private arm(): void {
    if (this.stopped || this.heap.length === 0) return;
    const at = this.heap[0]![AT]!;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.ceil(at - this.clock())));
  }

  /** Put `t` in slot `i` of the heap. */
  private place(t: Marked, i: number): void {
    this.heap[i] = t;
    t[SLOT] = i;
  }

  /** Move the task in slot `i` up while its deadline is earlier than its parent's. */
  private siftUp(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    const at = t[AT]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (parent[AT]! <= at) break;
      this.place(parent, i);
      i = p;
    }
    this.place(t, i);
  }

  /** Move the task in slot `i` down while a child's deadline is earlier. */
  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i]!;
    const at = t[AT]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]![AT]! < h[l]![AT]! ? r : l;
      if (h[c]![AT]! >= at) break;
      this.place(h[c]!, i);
      i = c;
    }
    this.place(t, i);
  }

  /** Take the task in slot `i` out of the heap. */
  private remove(i: number): void {
    const h = this.heap;
    const gone = h[i]!;
    gone[SLOT] = -1;
    const last = h.pop()!;
    if (i === h.length) return; // it was the last slot
    this.place(last, i);
    if (i > 0 && h[(i - 1) >> 1]![AT]! > last[AT]!) this.siftUp(i);
    else this.siftDown(i);
  }
}
