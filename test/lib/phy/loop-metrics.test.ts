/**
 * libuv's idle-time metrics on the main loop (loop-metrics.ts): turned off,
 * the loop stops accounting idle time (the zero-timeout poll before each sleep
 * is what measured it); turned back on, it accounts it again.
 */
import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { setLoopIdleTimeMetrics } from '../../../src/lib/phy/loop-metrics.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Idle time (ms) the loop accounts while it sleeps for 60 ms. */
async function idleOverSleep(): Promise<number> {
  const before = performance.eventLoopUtilization();
  await sleep(60);
  return performance.eventLoopUtilization(before).idle;
}

describe('event loop idle-time metrics', function () {
  before(function () {
    if (process.platform !== 'linux') this.skip();
  });
  after(() => setLoopIdleTimeMetrics(true));

  it('are on by default in Node: a sleeping loop accounts idle time', async () => {
    expect(await idleOverSleep()).to.be.greaterThan(30);
  });

  it('turned off, the loop accounts no idle time; turned on again, it does', async () => {
    expect(setLoopIdleTimeMetrics(false)).to.equal(true);
    expect(await idleOverSleep()).to.equal(0);
    expect(setLoopIdleTimeMetrics(false), 'already off').to.equal(true);
    expect(setLoopIdleTimeMetrics(true)).to.equal(true);
    expect(await idleOverSleep()).to.be.greaterThan(30);
  });
});
