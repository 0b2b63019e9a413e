import { expect } from 'chai';
import { BusyPoll } from '../../../src/lib/daemon/busy-poll.js';
import { Scheduler } from '../../../src/lib/daemon/scheduler.js';

/** A BusyPoll on a hand-moved clock whose deferred ticks run when `step()` is called. */
function harness(maxUs: number) {
  let clock = 0;
  const queue: Array<() => void> = [];
  const bp = new BusyPoll(maxUs / 1000, () => clock, (fn) => queue.push(fn));
  return {
    bp,
    advanceUs: (us: number) => (clock += us / 1000),
    now: () => clock,
    /** Run the pending tick; returns whether one was pending (the loop was being kept busy). */
    step(): boolean {
      const fn = queue.shift();
      fn?.();
      return fn !== undefined;
    },
    pending: () => queue.length,
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
    h.bp.window = 0.02;
    h.bp.idle(h.now());
    let ticks = 0;
    while (h.step()) {
      ticks++;
      h.advanceUs(5);
      if (ticks > 100) break;
    }
    expect(ticks, 'four 5 us turns inside the 20 us window and the one that ends it').to.equal(5);
    expect(h.pending()).to.equal(0);
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
    s.markDirty({ poll: () => Infinity });
    await new Promise<void>((r) => process.nextTick(r)); // the flush ends: idle() opens the window
    await new Promise<void>((r) => setTimeout(r, 5));
    const during = turns;
    expect(during, 'the frozen clock never leaves the window: the loop keeps turning').to.be.greaterThan(3);
    clock += 1;
    await new Promise<void>((r) => setTimeout(r, 5));
    const after = turns;
    await new Promise<void>((r) => setTimeout(r, 5));
    expect(turns, 'no more turns once the window has passed').to.equal(after);
    s.stop();
  });
});
