/**
 * The daemon's one clock and its batching. The stack is sans-IO: it asks to
 * be polled at `pollAt()` times and to be flushed after input. The scheduler
 * keeps one Node timer for the earliest deadline (a binary heap of
 * (deadline, task) with lazy deletion: no timer object per segment).
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
 * A task's live heap entry (the earliest deadline asked for), kept on the
 * task: a Map from task to entry cost two hash lookups per poll of a flow.
 */
const DUE = Symbol('hnet.scheduler.due');
type Marked = Pollable & { [DIRTY]?: boolean; [DUE]?: Entry | null };

interface Entry {
  at: number;
  /** null once superseded or cancelled: the heap drops it lazily, but must not keep the task alive. */
  task: Pollable | null;
}

/** Swap two heap slots (a destructuring swap allocated an array on every step). */
function swap(h: Entry[], a: number, b: number): void {
  const t = h[a];
  h[a] = h[b];
  h[b] = t;
}

export class Scheduler {
  private heap: Entry[] = [];
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

  /** Ask for `task.poll()` at `at` (earlier requests win; Infinity cancels nothing). */
  schedule(task: Pollable, at: number): void {
    if (!Number.isFinite(at) || this.stopped) return;
    const t = task as Marked;
    const current = t[DUE];
    if (current != null) {
      if (current.at <= at) return;
      current.task = null;
    }
    const e: Entry = { at, task };
    t[DUE] = e;
    this.push(e);
    this.arm();
  }

  /**
   * Forget `task` (a closed flow): no poll, and no reference kept. Entries
   * that pointed to it stay in the heap as tombstones until their time, so
   * without this a closed TCP flow stayed reachable until its last timer
   * (100 ms and more) and the young-generation GC copied and promoted every
   * short connection: at 4000 connections/s, 9 ms per scavenge.
   */
  cancel(task: Pollable): void {
    const t = task as Marked;
    const e = t[DUE];
    if (e != null) e.task = null;
    t[DUE] = null;
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
    for (const e of this.heap) if (e.task !== null) (e.task as Marked)[DUE] = null;
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
    const t = task as Marked;
    const cur = t[DUE];
    if (cur != null && cur.at <= now) {
      cur.task = null;
      t[DUE] = null;
    }
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
    while (this.heap.length > 0 && this.heap[0].at <= now) {
      const e = this.pop()!;
      const task = e.task;
      if (task === null) continue; // superseded or cancelled
      e.task = null;
      (task as Marked)[DUE] = null;
      this.run(task, now);
    }
    this.arm();
  }

  private arm(): void {
    if (this.stopped || this.heap.length === 0) return;
    // Drop superseded entries at the top so the timer tracks a live deadline.
    while (this.heap.length > 0 && this.heap[0].task === null) this.pop();
    if (this.heap.length === 0) return;
    const at = this.heap[0].at;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.ceil(at - this.clock())));
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= h[i].at) break;
      swap(h, p, i);
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].at < h[m].at) m = l;
        if (r < h.length && h[r].at < h[m].at) m = r;
        if (m === i) break;
        swap(h, m, i);
        i = m;
      }
    }
    return top;
  }
}
