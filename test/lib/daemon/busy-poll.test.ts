import { expect } from 'chai';
import { BusyPoll, CONTENTION_CHECK_MS, STALL_MS } from '../../../src/lib/daemon/busy-poll.js';
import { Scheduler } from '../../../src/lib/daemon/scheduler.js';

/**
 * A BusyPoll on a hand-moved clock whose deferred ticks run when `step()` is
 * called, with a preemption count the test sets (`preempted(n)`).
 */
function harness(maxUs: number, withWait = false) {
  let clock = 0;
  let preemptions = 0;
  let waitedMs = 0;
  const paused = { n: 0 };
  const stalls = { n: 0 };
  const outcomes = { hits: { n: 0 }, misses: { n: 0 }, late: { n: 0 } };
  const queue: Array<() => void> = [];
  const bp = new BusyPoll(maxUs / 1000, () => clock, (fn) => queue.push(fn), {
    preemptions: () => preemptions,
    runQueueWaitMs: withWait ? () => waitedMs : undefined,
    paused,
    stalls,
    ...outcomes,
  });
  return {
    bp,
    paused,
    stalls,
    /** hits, misses, late so far. */
    outcomes: () => [outcomes.hits.n, outcomes.misses.n, outcomes.late.n],
    preempted: (n: number) => (preemptions += n),
    waited: (ms: number) => (waitedMs += ms),
    advanceUs: (us: number) => (clock += us / 1000),
    now: () => clock,
    /** Run the pending tick; returns whether one was pending (the loop was being kept busy). */
    step(): boolean {
      const fn = queue.shift();
      fn?.();
      return fn !== undefined;
    },
    pending: () => queue.length,
    /** Open a `windowUs` window at the current time and run its ticks, each turn taking `turnUs(tick)`; returns the ticks run. */
    pollFor(windowUs: number, turnUs: (tick: number) => number): number {
      this.bp.window = windowUs / 1000;
      this.bp.idle(clock);
      let ticks = 0;
      while (this.step() && ticks <= 100) clock += turnUs(++ticks) / 1000;
      return ticks;
    },
  };
}

describe('BusyPoll', () => {
  it('does not poll before it has seen input come back within the window', () => {
    const h = harness(50);
    h.bp.idle(h.now());
    expect(h.pending(), 'window starts at 0: block at once').to.equal(0);
  });

  it('grows the window while replies arrive within the maximum, doubling up to it', () => {
    const h = harness(50);
    const windows: number[] = [];
    for (let i = 0; i < 6; i++) {
      h.bp.idle(h.now());
      h.advanceUs(30); // every reply comes 30 us after the answer
      h.bp.input(h.now());
      windows.push(Math.round(h.bp.window * 1000));
    }
    // 0 -> 10 -> 20 -> 40 (30 us now falls inside: no more growth)
    expect(windows).to.deep.equal([10, 20, 40, 40, 40, 40]);
  });

  it('keeps the loop turning for the window after idle, then lets it block', () => {
    const h = harness(50);
    const ticks = h.pollFor(20, () => 5);
    expect(ticks, 'four 5 us turns inside the 20 us window and the one that ends it').to.equal(5);
    expect(h.pending()).to.equal(0);
  });

  it('counts the time it polled, not the time that passed: a stall between two ticks moves the window on', () => {
    const h = harness(50);
    // The third turn comes 40 us late: the vCPU was taken, or the thread preempted.
    const ticks = h.pollFor(20, (tick) => (tick === 3 ? 40 : 5));
    // Without the stall: ticks at 0, 5, 10, 15 and the one at 20 that ends it (the test above).
    expect(ticks, 'the 40 us stall is not part of the 20 us window: ticks at 0, 5, 10, 50, 55 and the one at 60 that ends it').to.equal(6);
    expect(h.stalls.n, 'one stall counted').to.equal(1);
  });

  it('counts a gap up to STALL_MS between ticks as polling', () => {
    const h = harness(50);
    const ticks = h.pollFor(20, () => STALL_MS * 1000); // slow turns, but not stalls
    expect(ticks, 'two 10 us turns fill the 20 us window, and the third ends it').to.equal(3);
    expect(h.stalls.n).to.equal(0);
  });

  it('does not poll after a turn that moved bulk data, and polls again after the next ordinary turn', () => {
    const h = harness(50);
    h.bp.window = 0.02;
    h.bp.bulk();
    h.bp.idle(h.now());
    expect(h.pending(), 'bulk turn: block at once').to.equal(0);
    h.advanceUs(5);
    h.bp.input(h.now());
    expect(h.bp.window, 'the window itself is kept').to.equal(0.02);
    h.bp.idle(h.now());
    expect(h.pending(), 'ordinary turn: poll').to.equal(1);
  });

  it('stops a poll begun earlier in the turn at its first tick once bulk data moves (several flushes end one turn)', () => {
    const h = harness(50);
    h.bp.window = 0.02;
    h.bp.idle(h.now()); // an ordinary input's flush starts the poll...
    expect(h.pending()).to.equal(1);
    h.bp.bulk(); // ...and a bulk read later in the same turn
    expect(h.step(), 'the tick was pending').to.equal(true);
    expect(h.pending(), 'and did not renew itself').to.equal(0);
    h.bp.idle(h.now());
    expect(h.pending(), 'the bulk turn is not followed by a poll either').to.equal(0);
    h.bp.idle(h.now());
    expect(h.pending(), 'an ordinary turn after it polls again').to.equal(1);
    h.step();
    expect(h.pending(), 'and keeps polling without new bulk data').to.equal(1);
  });

  it('shrinks the window when input comes later than the maximum (polling was in vain), down to nothing', () => {
    const h = harness(50);
    h.bp.window = 0.04;
    const windows: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.bp.idle(h.now());
      while (h.step()) h.advanceUs(5);
      h.advanceUs(5000); // sparse traffic: the next frame comes 5 ms later
      h.bp.input(h.now());
      windows.push(Math.round(h.bp.window * 1000));
    }
    expect(windows).to.deep.equal([20, 10, 0, 0]);
  });

  it('counts how each first input after an answer was met: polled, asleep within the maximum, or later', () => {
    const h = harness(50);
    h.bp.window = 0.02;
    h.bp.idle(h.now());
    h.step();
    h.advanceUs(5);
    h.bp.input(h.now()); // 5 us in, the poll still turning
    expect(h.outcomes(), 'a hit').to.deep.equal([1, 0, 0]);
    h.bp.idle(h.now());
    while (h.step()) h.advanceUs(5); // the 20 us window runs out: the loop blocks
    h.advanceUs(10);
    h.bp.input(h.now());
    expect(h.outcomes(), 'a miss: asleep, 30 us after the answer').to.deep.equal([1, 1, 0]);
    h.bp.idle(h.now());
    while (h.step()) h.advanceUs(5);
    h.advanceUs(5000);
    h.bp.input(h.now());
    expect(h.outcomes(), 'late: 5 ms after the answer').to.deep.equal([1, 1, 1]);
    h.advanceUs(5);
    h.bp.input(h.now());
    expect(h.outcomes(), 'only the first input after an answer counts').to.deep.equal([1, 1, 1]);
  });

  it('counts input after a bulk turn, which does not poll, as a miss', () => {
    const h = harness(50);
    h.bp.window = 0.02;
    h.bp.bulk();
    h.bp.idle(h.now());
    h.advanceUs(5);
    h.bp.input(h.now());
    expect(h.outcomes()).to.deep.equal([0, 1, 0]);
  });

  it('is off with a maximum of 0', () => {
    const h = harness(0);
    for (let i = 0; i < 5; i++) {
      h.bp.idle(h.now());
      h.advanceUs(10);
      h.bp.input(h.now());
    }
    expect(h.bp.window).to.equal(0);
    expect(h.pending()).to.equal(0);
  });

  it('stops polling at once on stop()', () => {
    const h = harness(50);
    h.bp.window = 0.05;
    h.bp.idle(h.now());
    expect(h.step()).to.equal(true);
    h.bp.stop();
    expect(h.step(), 'the pending tick ends the poll').to.equal(true);
    expect(h.pending()).to.equal(0);
  });

  /**
   * `n` answered turns spread over one contention check interval, each
   * answered by input 30 us later and preempted `perTurn` times; returns how
   * many of them polled.
   */
  function interval(h: ReturnType<typeof harness>, n: number, perTurn: number): number {
    let polled = 0;
    for (let i = 0; i < n; i++) {
      const start = h.now();
      h.bp.idle(start);
      if (h.pending() > 0) polled++;
      while (h.step()) h.advanceUs(5);
      h.advanceUs(30 - (h.now() - start) * 1000);
      h.bp.input(h.now());
      h.preempted(perTurn);
      h.advanceUs((CONTENTION_CHECK_MS * 1000) / n - 30); // the rest of the turn is work, not idle
    }
    return polled;
  }

  it('pauses while the daemon is preempted after many of its turns (a contended CPU), and resumes when that stops', () => {
    const h = harness(50);
    interval(h, 200, 0); // quiet; its first turn takes the preemption baseline, and the window grows to 40 us
    expect(interval(h, 200, 0.02), 'alone: about one preemption in fifty turns').to.equal(200);
    expect(h.bp.contended).to.equal(false);
    expect(interval(h, 200, 0.6), 'the check at the start of this interval saw the quiet one').to.equal(200);
    expect(interval(h, 200, 0.6), 'preempted after most turns: no turn polls').to.equal(0);
    expect(h.bp.contended).to.equal(true);
    expect(h.paused.n, 'one count per contended check').to.equal(1);
    expect(interval(h, 200, 0), 'the check at its start saw the contended interval').to.equal(0);
    expect(h.paused.n).to.equal(2);
    expect(interval(h, 200, 0), 'quiet again: polling resumes').to.equal(200);
    expect(h.bp.contended).to.equal(false);
  });

  it('does not call sparse traffic contended, however often it was preempted per turn', () => {
    const h = harness(50);
    interval(h, 10, 0);
    interval(h, 10, 1.5); // 15 preemptions in 10 turns: under the minimum count
    interval(h, 10, 0);
    expect(h.bp.contended).to.equal(false);
    expect(h.paused.n).to.equal(0);
  });

  it('does not call busy traffic contended for a few preemptions among many turns', () => {
    const h = harness(50);
    interval(h, 400, 0);
    expect(interval(h, 400, 0.06), 'the check at its start saw the quiet interval').to.equal(400);
    expect(interval(h, 400, 0), '24 preemptions in 400 turns: over the minimum count, under one per ten turns').to.equal(400);
    expect(h.paused.n).to.equal(0);
  });

  /** As interval(), with the thread waiting `waitShare` of the interval for a CPU. */
  function waitInterval(h: ReturnType<typeof harness>, n: number, perTurn: number, waitShare: number): number {
    const polled = interval(h, n, perTurn);
    h.waited(CONTENTION_CHECK_MS * waitShare);
    return polled;
  }

  it('with the run-queue wait, pauses while the thread waits for a CPU and resumes when it no longer does', () => {
    const h = harness(50, true);
    waitInterval(h, 200, 0, 0); // the first check takes the baseline; the window grows
    expect(waitInterval(h, 200, 0.6, 0.15), 'the check at its start saw the quiet interval').to.equal(200);
    expect(waitInterval(h, 200, 0.6, 0.15), 'waited 15% of the last interval, as beside a CPU-bound process: no turn polls').to.equal(0);
    expect(h.bp.contended).to.equal(true);
    expect(h.paused.n).to.equal(1);
    expect(waitInterval(h, 200, 0, 0.01), 'the check at its start saw the contended interval').to.equal(0);
    expect(waitInterval(h, 200, 0, 0.01), 'waited 1%: polling resumes').to.equal(200);
    expect(h.bp.contended).to.equal(false);
  });

  it('with the run-queue wait, does not pause for a preemption per turn that costs little wait', () => {
    // Peers woken onto the daemon's CPU preempt it once per round trip for a
    // few microseconds: 2.6 preemptions per ten turns, 3% of the time waiting.
    const h = harness(50, true);
    waitInterval(h, 200, 0, 0);
    waitInterval(h, 200, 2.6, 0.03);
    expect(waitInterval(h, 200, 2.6, 0.03), 'the preemption count alone would have paused').to.equal(200);
    expect(h.bp.contended).to.equal(false);
    expect(h.paused.n).to.equal(0);
  });

  it('keeps adapting its window while paused', () => {
    const h = harness(50);
    interval(h, 200, 0);
    interval(h, 200, 1);
    h.bp.window = 0;
    h.bp.idle(h.now()); // the check of the second interval
    expect(h.bp.contended).to.equal(true);
    expect(h.pending(), 'paused').to.equal(0);
    h.advanceUs(30);
    h.bp.input(h.now());
    expect(h.bp.window, 'a reply 30 us after the answer still grows the window').to.equal(0.01);
  });

  it('keeps a real event loop turning after a scheduler flush, and stops once the window has passed', async () => {
    let clock = 0;
    let turns = 0;
    const s = new Scheduler(() => clock);
    const bp = new BusyPoll(0.05, () => clock, (fn) => {
      turns++;
      setImmediate(fn);
    });
    bp.window = 0.05;
    s.busyPoll = bp;
    // Counted in loop turns, not milliseconds: a timer could fire before the
    // first check phase on a loaded machine. stop() runs even when an
    // assertion fails, or the frozen clock would keep the loop turning forever.
    const loopTurns = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
    };
    try {
      s.markDirty({ poll: () => Infinity });
      await loopTurns(10); // the flush runs, idle() opens the window, the poll turns with the loop
      const during = turns;
      expect(during, 'the frozen clock never leaves the window: the loop keeps turning').to.be.greaterThan(3);
      // 5 us a turn (a larger step would be a stall, which moves the window on) until past the 50 us window.
      for (let i = 0; i < 12; i++) {
        clock += 0.005;
        await loopTurns(1);
      }
      await loopTurns(3);
      const after = turns;
      await loopTurns(10);
      expect(turns, 'no more turns once the window has passed').to.equal(after);
    } finally {
      s.stop();
    }
  });
});
