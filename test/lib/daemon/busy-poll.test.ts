import { expect } from 'chai';
import { BusyPoll, CONTENTION_CHECK_MS, SPIN_CHECK_MS, nodeSpinCheckTimer } from '../../../src/lib/daemon/busy-poll.js';
import { immediateLoopSpinner, nativeLoopSpinner, type LoopSpinner } from '../../../src/lib/daemon/loop-spinner.js';
import { Scheduler } from '../../../src/lib/daemon/scheduler.js';

/**
 * A BusyPoll on a hand-moved clock, with a spinner that records whether it
 * is on, a spin-check timer the test fires (`check()`), and a preemption
 * count and runqueue wait the test sets.
 */
function harness(maxUs: number, withWait = false) {
  let clock = 0;
  let preemptions = 0;
  let waitedMs = 0;
  let on = false;
  let starts = 0;
  let armed = false;
  let onCheck: () => void = () => undefined;
  const paused = { n: 0 };
  const outcomes = { hits: { n: 0 }, misses: { n: 0 }, late: { n: 0 } };
  const spinner: LoopSpinner = {
    start: () => {
      if (!on) starts++;
      on = true;
    },
    stop: () => void (on = false),
  };
  const bp = new BusyPoll(
    maxUs / 1000,
    () => clock,
    spinner,
    { preemptions: () => preemptions, runQueueWaitMs: withWait ? () => waitedMs : undefined, paused, ...outcomes },
    (fn) => {
      onCheck = fn;
      return { arm: () => void (armed = true) };
    },
  );
  return {
    bp,
    paused,
    /** hits, misses, late so far. */
    outcomes: () => [outcomes.hits.n, outcomes.misses.n, outcomes.late.n],
    preempted: (n: number) => (preemptions += n),
    waited: (ms: number) => (waitedMs += ms),
    advanceUs: (us: number) => (clock += us / 1000),
    now: () => clock,
    spinning: () => on,
    starts: () => starts,
    armed: () => armed,
    /** The spin check's timer fires, if armed, SPIN_CHECK_MS on. */
    check(): void {
      if (!armed) return;
      armed = false;
      clock += SPIN_CHECK_MS;
      onCheck();
    },
  };
}

describe('BusyPoll', () => {
  it('does not spin before it has seen input come back within the window', () => {
    const h = harness(50);
    h.bp.idle(h.now());
    expect(h.spinning(), 'window starts at 0: block at once').to.equal(false);
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

  it('spins from an answer on, through a busy exchange, until a check finds the daemon idle past the window', () => {
    const h = harness(50);
    h.bp.window = 0.02;
    h.bp.idle(h.now());
    expect(h.spinning(), 'spinning after the answer').to.equal(true);
    expect(h.armed(), 'with its check armed').to.equal(true);
    h.advanceUs(10);
    h.bp.input(h.now()); // a request 10 us later...
    h.check(); // ...still in hand when the check fires
    expect(h.spinning(), 'mid-answer: keeps spinning').to.equal(true);
    h.bp.idle(h.now()); // answered just now
    h.check(); // idle for SPIN_CHECK_MS, far past the 20 us window
    expect(h.spinning(), 'idle past the window: the spin stops').to.equal(false);
    expect(h.armed(), 'and the check is not re-armed').to.equal(false);
    expect(h.starts(), 'one spin for the whole exchange').to.equal(1);
  });

  it('keeps spinning at a check that finds the last answer within the window', () => {
    const h = harness(50);
    h.bp.window = 0.05;
    h.bp.idle(h.now());
    h.advanceUs(10);
    h.bp.input(h.now());
    h.advanceUs(990);
    h.bp.idle(h.now()); // an answer 1 ms after the spin began, right as the check fires
    h.check(); // the check's clock: SPIN_CHECK_MS after this answer
    expect(h.spinning(), 'a window of 50 us: 1 ms idle is past it').to.equal(false);
    h.bp.window = 2 * SPIN_CHECK_MS; // (not reachable by adaptation; only to show the comparison)
    h.bp.idle(h.now());
    h.check();
    expect(h.spinning(), 'idle no longer than the window: keeps spinning').to.equal(true);
    expect(h.armed()).to.equal(true);
  });

  it('does not spin after a turn that moved bulk data, and spins again after the next ordinary turn', () => {
    const h = harness(50);
    h.bp.window = 0.02;
    h.bp.bulk();
    h.bp.idle(h.now());
    expect(h.spinning(), 'bulk turn: block at once').to.equal(false);
    h.advanceUs(5);
    h.bp.input(h.now());
    expect(h.bp.window, 'the window itself is kept').to.equal(0.02);
    h.bp.idle(h.now());
    expect(h.spinning(), 'ordinary turn: spin').to.equal(true);
  });

  it('stops a spin begun earlier in the turn once bulk data moves (several flushes end one turn)', () => {
    const h = harness(50);
    h.bp.window = 0.02;
    h.bp.idle(h.now()); // an ordinary input's flush starts the spin...
    expect(h.spinning()).to.equal(true);
    h.bp.bulk(); // ...and a bulk read later in the same turn
    expect(h.spinning(), 'stopped at once').to.equal(false);
    h.bp.idle(h.now());
    expect(h.spinning(), 'the bulk turn is not followed by a spin either').to.equal(false);
    h.bp.idle(h.now());
    expect(h.spinning(), 'an ordinary turn after it spins again').to.equal(true);
  });

  it('shrinks the window when input comes later than the maximum (spinning was in vain), down to nothing, and then does not spin', () => {
    const h = harness(50);
    h.bp.window = 0.04;
    const windows: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.bp.idle(h.now());
      h.check(); // the spin, if any, stops
      h.advanceUs(5000); // sparse traffic: the next frame comes 5 ms later
      h.bp.input(h.now());
      windows.push(Math.round(h.bp.window * 1000));
    }
    expect(windows).to.deep.equal([20, 10, 0, 0]);
    const before = h.starts();
    h.bp.idle(h.now());
    expect(h.spinning(), 'a window of 0 does not spin').to.equal(false);
    expect(h.starts()).to.equal(before);
  });

  it('counts how each first input after an answer was met: spinning, asleep within the maximum, or later', () => {
    const h = harness(50);
    h.bp.window = 0.02;
    h.bp.idle(h.now());
    h.advanceUs(5);
    h.bp.input(h.now()); // 5 us in, the spin still on
    expect(h.outcomes(), 'a hit').to.deep.equal([1, 0, 0]);
    h.bp.idle(h.now());
    h.bp.bulk(); // the spin stops
    h.advanceUs(30);
    h.bp.input(h.now());
    expect(h.outcomes(), 'a miss: asleep, 30 us after the answer').to.deep.equal([1, 1, 0]);
    h.bp.idle(h.now());
    h.check();
    h.advanceUs(5000);
    h.bp.input(h.now());
    expect(h.outcomes(), 'late: 5 ms after the answer').to.deep.equal([1, 1, 1]);
    h.advanceUs(5);
    h.bp.input(h.now());
    expect(h.outcomes(), 'only the first input after an answer counts').to.deep.equal([1, 1, 1]);
  });

  it('counts input after a bulk turn, which does not spin, as a miss', () => {
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
    expect(h.starts()).to.equal(0);
  });

  it('stops spinning at once on stop()', () => {
    const h = harness(50);
    h.bp.window = 0.05;
    h.bp.idle(h.now());
    expect(h.spinning()).to.equal(true);
    h.bp.stop();
    expect(h.spinning()).to.equal(false);
    h.check();
    expect(h.spinning(), 'the check does not restart it').to.equal(false);
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
      if (h.spinning()) polled++;
      h.advanceUs(30);
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
    expect(h.spinning(), 'paused').to.equal(false);
    h.advanceUs(30);
    h.bp.input(h.now());
    expect(h.bp.window, 'a reply 30 us after the answer still grows the window').to.equal(0.01);
  });

  it('stops a spin started by a scheduler flush once a real timer finds the daemon idle past the window', async () => {
    let clock = 0;
    let on = false;
    const s = new Scheduler(() => clock);
    const bp = new BusyPoll(0.05, () => clock, { start: () => void (on = true), stop: () => void (on = false) }, {}, nodeSpinCheckTimer);
    bp.window = 0.05;
    s.busyPoll = bp;
    const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    try {
      s.markDirty({ poll: () => Infinity });
      await new Promise<void>((r) => setImmediate(r)); // the flush runs; idle() starts the spin
      expect(on, 'spinning after the flush').to.equal(true);
      await sleep(5 * SPIN_CHECK_MS); // checks fire, but the frozen clock says the answer was just now
      expect(on, 'idle no longer than the window: still spinning').to.equal(true);
      clock += 0.051;
      await sleep(5 * SPIN_CHECK_MS);
      expect(on, 'idle past the window: stopped by the check').to.equal(false);
    } finally {
      s.stop();
    }
  });
});

/** Loop idle time (ms in epoll_wait) over `ms` of waiting on a timer, with `spinner` on. */
async function idleWhile(spinner: LoopSpinner | null, ms: number): Promise<number> {
  const { performance } = await import('node:perf_hooks');
  const before = performance.eventLoopUtilization();
  spinner?.start();
  await new Promise<void>((r) => setTimeout(r, ms));
  spinner?.stop();
  return performance.eventLoopUtilization(before).idle;
}

describe('loop spinners', () => {
  // The event loop's idle time is the time it spent blocked in epoll_wait: a
  // spinning loop polls with a zero timeout and so is hardly ever idle, however
  // busy the machine, while a loop waiting on a timer is idle all along.
  for (const [name, make] of [
    ['the libuv idle handle', nativeLoopSpinner],
    ['the setImmediate fallback', immediateLoopSpinner],
  ] as const) {
    it(`${name} keeps the loop from blocking until stopped`, async function () {
      const spinner = make();
      if (!spinner) return this.skip(); // no native spinner on this platform
      const blocked = await idleWhile(null, 40);
      const spun = await idleWhile(spinner, 40);
      const after = await idleWhile(null, 40);
      expect(blocked, 'waiting on a timer, the loop blocks').to.be.greaterThan(20);
      expect(spun, 'spinning, it does not').to.be.lessThan(blocked / 2);
      expect(after, 'stopped, it blocks again').to.be.greaterThan(20);
    });
  }

  it('has the libuv idle handle on Linux', function () {
    if (process.platform !== 'linux') this.skip();
    expect(nativeLoopSpinner()).to.not.equal(null);
  });

  it('has none off the main thread, whose loop the handle belongs to', async () => {
    const { Worker } = await import('node:worker_threads');
    const url = new URL('../../../src/lib/daemon/loop-spinner.ts', import.meta.url).href;
    // tsx's loader is not the worker's: import the TypeScript through its API.
    const code = `require('tsx/esm/api').tsImport('${url}', '${url}').then((m) => require('node:worker_threads').parentPort.postMessage(m.nativeLoopSpinner() === null))`;
    const w = new Worker(code, { eval: true });
    const isNull = await new Promise((res, rej) => {
      w.once('message', res);
      w.once('error', rej);
    });
    await w.terminate();
    expect(isNull).to.equal(true);
  });

  it('keeps the shared idle handle running while any of its spinners is started', async function () {
    const a = nativeLoopSpinner();
    const b = nativeLoopSpinner();
    if (!a || !b) return this.skip();
    a.start();
    b.start();
    a.stop();
    a.stop(); // stopping twice does not count twice
    const spun = await idleWhile(null, 40);
    b.stop();
    const blocked = await idleWhile(null, 40);
    expect(blocked, 'all stopped: the loop blocks').to.be.greaterThan(20);
    expect(spun, 'one still started: the loop does not block').to.be.lessThan(blocked / 2);
  });
});
