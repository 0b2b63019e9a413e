import { expect } from 'chai';
import type { BusyPoll } from '../../../src/lib/daemon/busy-poll.js';
import { Scheduler, type Pollable } from '../../../src/lib/daemon/scheduler.js';
import { forceGc } from '../../helpers/force-gc.js';

const turn = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A task that records the times it was polled and answers with scripted deadlines. */
function task(next: (now: number, calls: number) => number = () => Infinity): Pollable & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    poll(now: number) {
      calls.push(now);
      return next(now, calls.length);
    },
  };
}

/** Mark a task that throws ('boom'), then a good one, and let a flush run; returns the good one. */
async function throwingThenGood(s: Scheduler): Promise<ReturnType<typeof task>> {
  const bad = task(() => {
    throw new Error('boom');
  });
  const good = task();
  s.markDirty(bad);
  s.markDirty(good);
  await turn();
  await turn();
  return good;
}

describe('Scheduler', () => {
  let clock = 0;
  let s: Scheduler;
  beforeEach(() => {
    clock = 1000;
    s = new Scheduler(() => clock);
  });
  afterEach(() => s.stop());

  it('polls a dirty task once per event-loop turn however often it is marked', async () => {
    const t = task();
    s.markDirty(t);
    s.markDirty(t);
    s.markDirty(t);
    await turn();
    await turn();
    expect(t.calls).to.have.length(1);
  });

  it('runs a scheduled task when its deadline passes, not before', async () => {
    const t = task();
    s.schedule(t, clock + 5);
    await sleep(15);
    expect(t.calls).to.have.length(0); // the clock has not moved
    clock += 5;
    await sleep(15);
    expect(t.calls).to.deep.equal([1005]);
  });

  it('keeps the earliest of several requested deadlines', async () => {
    const t = task();
    s.schedule(t, clock + 50);
    s.schedule(t, clock + 2);
    s.schedule(t, clock + 30);
    clock += 2;
    await sleep(15);
    expect(t.calls).to.deep.equal([1002]);
    clock += 100;
    await sleep(15);
    expect(t.calls, 'the superseded later deadlines do not fire').to.have.length(1);
  });

  it('re-arms a task at the deadline its poll returns', async () => {
    const t = task((now, n) => (n === 1 ? now + 3 : Infinity));
    s.markDirty(t);
    await turn();
    clock += 3;
    await sleep(15);
    expect(t.calls).to.deep.equal([1000, 1003]);
  });

  it('re-arms a task polled from a flush after its deadline passed but before its timer fired', async () => {
    // The first poll asks for 200 ms later. A flush polls the task once that time has passed on
    // the scheduler's clock, before the timer (200 ms of real time) has run, and asks for 4 ms more.
    const t = task((now, n) => (n === 1 ? now + 200 : n === 2 ? now + 4 : Infinity));
    s.markDirty(t);
    await turn();
    clock = 1201;
    s.markDirty(t);
    await turn();
    expect(t.calls).to.deep.equal([1000, 1201]);
    clock = 1205;
    await sleep(300);
    expect(t.calls, 'the deadline the flushed poll asked for still fires').to.deep.equal([1000, 1201, 1205]);
  });

  it('re-runs a task that is still due on the following turns, without waiting for a timer', async () => {
    const t = task((now, n) => (n <= 10 ? now : Infinity)); // due again ten times, then idle
    s.markDirty(t);
    for (let i = 0; i < 12; i++) await turn();
    expect(t.calls).to.have.length(11);
  });

  it('reports a task that throws and still polls the others in the same turn', async () => {
    const failed: Error[] = [];
    s.onTaskError = (_t, err) => failed.push(err);
    const good = await throwingThenGood(s);
    expect(failed.map((e) => e.message)).to.deep.equal(['boom']);
    expect(good.calls).to.have.length(1);
  });

  it('polls the rest of the turn, and later turns, even when reporting a task error fails', async () => {
    s.onTaskError = () => {
      throw new Error('the report failed too');
    };
    const good = await throwingThenGood(s);
    expect(good.calls, 'polled in the same flush').to.have.length(1);
    s.markDirty(good);
    await turn();
    await turn();
    expect(good.calls, 'and marked again later').to.have.length(2);
  });

  it('never polls a cancelled task, dirty or scheduled, and polls it again once rescheduled', async () => {
    const t = task();
    s.schedule(t, clock + 5);
    s.markDirty(t);
    s.cancel(t);
    clock += 10;
    await sleep(15);
    await turn();
    expect(t.calls, 'cancelled').to.deep.equal([]);
    s.schedule(t, clock + 5);
    clock += 10;
    await sleep(15);
    expect(t.calls).to.deep.equal([clock]);
  });

  it('polls a task marked, cancelled and marked again in one turn exactly once', async () => {
    const order: string[] = [];
    const a: Pollable = { poll: () => (order.push('a'), Infinity) };
    const b: Pollable = { poll: () => (order.push('b'), Infinity) };
    s.markDirty(a);
    s.markDirty(b);
    s.cancel(a);
    s.markDirty(a);
    s.markDirty(b);
    await turn();
    await turn();
    expect(order).to.deep.equal(['a', 'b']);
  });

  it('a task that marks itself during its poll runs again on the next turn, not in this flush', async () => {
    let runs = 0;
    const t: Pollable = {
      poll: () => {
        if (++runs < 3) s.markDirty(t);
        return Infinity;
      },
    };
    s.markDirty(t);
    await turn();
    expect(runs, 'once per turn').to.equal(1);
    await turn();
    await turn();
    expect(runs).to.equal(3);
  });

  it('keeps no reference to a cancelled task while its old deadline is still ahead', async () => {
    // A closed TCP flow must be garbage at once, not when its last timer would have fired.
    let ref: WeakRef<Pollable> | null = null;
    (() => {
      const t = task();
      s.schedule(t, clock + 60_000);
      s.schedule(t, clock + 30_000); // an earlier deadline leaves the first entry superseded in the heap
      s.cancel(t);
      ref = new WeakRef(t);
    })();
    await forceGc();
    expect(ref!.deref(), 'the task was collected').to.equal(undefined);
  });

  describe('input brackets (an I/O callback answered at its end)', () => {
    it('flushes what a bracket marked when it ends, in the same call, and not again on the next turn', async () => {
      const t = task();
      const immediates = () => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;
      const before = immediates();
      s.beginInput();
      s.markDirty(t);
      expect(t.calls, 'not before the bracket ends').to.have.length(0);
      expect(immediates(), 'no setImmediate hop queued').to.equal(before);
      s.endInput();
      expect(t.calls, 'at the end of the bracket').to.have.length(1);
      await turn();
      await turn();
      expect(t.calls).to.have.length(1);
    });

    it('flushes nested brackets once, when the outermost ends', () => {
      const t = task();
      s.beginInput();
      s.beginInput();
      s.markDirty(t);
      s.endInput();
      expect(t.calls).to.have.length(0);
      s.endInput();
      expect(t.calls).to.have.length(1);
    });

    it('takes a mark made outside any bracket along, and the pending turn then polls nothing twice', async () => {
      const outside = task();
      const inside = task();
      s.markDirty(outside);
      s.beginInput();
      s.markDirty(inside);
      s.endInput();
      expect([outside.calls.length, inside.calls.length]).to.deep.equal([1, 1]);
      await turn();
      await turn();
      expect([outside.calls.length, inside.calls.length]).to.deep.equal([1, 1]);
    });

    it('runs a task that marks itself during the bracket\'s flush on the next turn', async () => {
      let runs = 0;
      const t: Pollable = {
        poll: () => {
          if (++runs < 2) s.markDirty(t);
          return Infinity;
        },
      };
      s.beginInput();
      s.markDirty(t);
      s.endInput();
      expect(runs).to.equal(1);
      await turn();
      await turn();
      expect(runs).to.equal(2);
    });

    it('leaves a bracket of bulk input to the end of the turn, and the next bracket flushes at its end again', async () => {
      const bulk = task();
      s.beginInput();
      s.markDirty(bulk);
      s.bulkInput();
      s.endInput();
      expect(bulk.calls, 'bulk: not at the bracket end').to.have.length(0);
      await turn();
      expect(bulk.calls, 'bulk: at the end of the turn').to.have.length(1);
      s.beginInput();
      s.bulkInput(); // nothing marked: the flag must still end with its bracket
      s.endInput();
      const small = task();
      s.beginInput();
      s.markDirty(small);
      s.endInput();
      expect(small.calls).to.have.length(1);
    });

    it('tells the busy poll that bulk input moved, inside a bracket or not', () => {
      const bulks: number[] = [];
      s.busyPoll = { bulk: () => bulks.push(1), input: () => undefined, idle: () => undefined, stop: () => undefined } as unknown as BusyPoll;
      s.bulkInput();
      s.beginInput();
      s.bulkInput();
      s.endInput();
      expect(bulks).to.have.length(2);
    });

    it('never starts a flush inside a running one when a bracket closes in it, and polls its marks on the next turn', async () => {
      // A service answering the relay's write at once delivers its reply inside the flush.
      let insidePoll = false;
      const polledInside: boolean[] = [];
      const reply: Pollable = { poll: () => (polledInside.push(insidePoll), Infinity) };
      const writer: Pollable = {
        poll: () => {
          insidePoll = true;
          s.beginInput();
          s.markDirty(reply);
          s.endInput();
          insidePoll = false;
          return Infinity;
        },
      };
      s.markDirty(writer);
      await turn();
      await turn();
      await turn();
      expect(polledInside).to.deep.equal([false]);
    });

    it('still flushes on the next turn what is marked after the bracket ended', async () => {
      const t = task();
      s.beginInput();
      s.endInput();
      s.markDirty(t);
      await turn();
      await turn();
      expect(t.calls).to.have.length(1);
    });
  });

  it('holds each waiting task once: a deadline moved earlier or cancelled leaves nothing behind', () => {
    const tasks = Array.from({ length: 100 }, () => task());
    for (const [i, t] of tasks.entries()) s.schedule(t, clock + 1000 + i);
    for (const [i, t] of tasks.entries()) s.schedule(t, clock + 10 + i); // earlier: moved, not added
    for (const t of tasks) s.schedule(t, clock + 5000); // later: the earlier deadline stays
    expect(s.waiting).to.equal(100);
    for (const t of tasks.slice(0, 60)) s.cancel(t);
    expect(s.waiting).to.equal(40);
  });

  it('polls tasks in deadline order through random schedules, moves and cancels', async () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const order: number[] = [];
    const tasks = Array.from({ length: 200 }, (_, id) => ({ id, poll: () => (order.push(id), Infinity) }));
    const due = new Map<number, number>(); // what a plain model expects: id -> earliest deadline
    for (let step = 0; step < 2000; step++) {
      const t = tasks[rand(tasks.length)]!;
      if (rand(5) === 0) {
        s.cancel(t);
        due.delete(t.id);
      } else {
        const at = clock + 1 + rand(500);
        s.schedule(t, at);
        due.set(t.id, Math.min(due.get(t.id) ?? Infinity, at));
      }
    }
    expect(s.waiting).to.equal(due.size);
    clock += 1000;
    await sleep(5);
    const expected = [...due].sort((a, b) => a[1] - b[1]);
    expect(order).to.have.length(expected.length);
    // Ties may come in any order: compare the deadlines polled, in order.
    expect(order.map((id) => due.get(id))).to.deep.equal(expected.map(([, at]) => at));
    expect(s.waiting).to.equal(0);
  });

  it('runs nothing after stop()', async () => {
    const t = task();
    s.schedule(t, clock);
    s.markDirty(t);
    s.stop();
    await sleep(10);
    expect(t.calls).to.have.length(0);
  });
});
