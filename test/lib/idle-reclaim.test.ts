/**
 * The idle reclaim (idle-reclaim.ts), on fake probes: it asks only after an
 * idle spell (a few frames at most per check) with RSS grown past the lowest
 * seen, once per reclaim, backs off when a reclaim frees little, and starts
 * over when traffic comes back.
 */
import { expect } from 'chai';
import { CHECK_MS, FIRST_BACKOFF_MS, GROWTH_BYTES, IDLE_FRAMES, IDLE_SPELL_MS, IdleReclaim, MAX_BACKOFF_MS } from '../../src/lib/idle-reclaim.js';

const MiB = 1024 * 1024;
/** Idle checks before the spell is long enough. */
const SPELL = IDLE_SPELL_MS / CHECK_MS;

/** A daemon whose clock, frame count and RSS the test moves, and a reclaim that counts requests and runs when told. */
function rig(startRss = 70 * MiB) {
  const p = { now: 0, frames: 0, rss: startRss };
  const reclaim = {
    runs: 0,
    asked: 0,
    request() {
      this.asked++;
    },
  };
  const requests = { n: 0 };
  const idle = new IdleReclaim(reclaim, { now: () => p.now, frames: () => p.frames, rssBytes: () => p.rss }, requests);
  /** One check interval with `frames` frames to and from the guests, RSS at `rss` when it is checked. */
  const tick = (frames: number, rss = p.rss) => {
    p.now += CHECK_MS;
    p.frames += frames;
    p.rss = rss;
    idle.check();
  };
  const idleTicks = (n: number, rss = p.rss) => {
    for (let i = 0; i < n; i++) tick(0, rss);
  };
  return { p, reclaim, requests, idle, tick, idleTicks };
}

const BUSY = 50_000;

describe('idle reclaim', () => {
  it('asks once the daemon has been idle for the whole spell after traffic grew RSS, not before', () => {
    const { reclaim, requests, tick, idleTicks } = rig();
    tick(BUSY, 120 * MiB);
    tick(BUSY, 121 * MiB);
    idleTicks(SPELL - 1);
    expect(reclaim.asked, 'the spell is not over').to.equal(0);
    tick(IDLE_FRAMES); // ARP, a DHCP renewal: still idle
    expect(reclaim.asked).to.equal(1);
    expect(requests.n, 'counted').to.equal(1);
  });

  it('starts the spell over when traffic comes back in it', () => {
    const { reclaim, tick, idleTicks } = rig();
    tick(BUSY, 120 * MiB);
    idleTicks(SPELL - 1);
    tick(IDLE_FRAMES + 1); // a little traffic
    idleTicks(SPELL - 1);
    expect(reclaim.asked).to.equal(0);
    tick(0);
    expect(reclaim.asked).to.equal(1);
  });

  it('measures growth from the RSS it started with, even when traffic begins before its first check', () => {
    const { reclaim, tick, idleTicks } = rig(72 * MiB);
    tick(BUSY, 110 * MiB);
    tick(BUSY, 115 * MiB);
    idleTicks(SPELL);
    expect(reclaim.asked).to.equal(1);
  });

  it('does not ask while RSS is within GROWTH_BYTES of the lowest seen', () => {
    const { reclaim, tick, idleTicks } = rig();
    tick(BUSY, 70 * MiB + GROWTH_BYTES);
    idleTicks(SPELL * 3);
    expect(reclaim.asked).to.equal(0);
    tick(0, 70 * MiB + GROWTH_BYTES + 1);
    expect(reclaim.asked).to.equal(1);
  });

  it('asks once until that reclaim has run, then again if it freed memory and more is left', () => {
    const { reclaim, tick, idleTicks } = rig();
    tick(BUSY, 130 * MiB);
    idleTicks(SPELL + 3);
    expect(reclaim.asked, 'the reclaim has not run yet').to.equal(1);
    reclaim.runs++;
    tick(0, 100 * MiB); // freed 30 MiB, still 30 above the floor
    expect(reclaim.asked).to.equal(2);
    reclaim.runs++;
    idleTicks(SPELL * 2, 72 * MiB);
    expect(reclaim.asked, 'back near the floor').to.equal(2);
  });

  it('backs off, doubling, while reclaims free little, and starts over when traffic returns', () => {
    const { p, reclaim, tick, idleTicks } = rig();
    tick(BUSY, 120 * MiB); // 1000 open connections: memory really in use
    const askedAt: number[] = [];
    for (let i = 0; i < 400; i++) {
      const before = reclaim.asked;
      tick(0);
      if (reclaim.asked > before) {
        askedAt.push(p.now);
        reclaim.runs++; // runs before the next check and frees nothing
      }
    }
    const gaps = askedAt.slice(1).map((t, i) => t - askedAt[i]!);
    // Each wait: the backoff, rounded up to the next check, plus the check that judged the reclaim.
    expect(gaps.slice(0, 4)).to.deep.equal([FIRST_BACKOFF_MS + CHECK_MS, 2 * FIRST_BACKOFF_MS + CHECK_MS, 4 * FIRST_BACKOFF_MS + CHECK_MS, 8 * FIRST_BACKOFF_MS + CHECK_MS]);
    expect(Math.max(...gaps), 'capped').to.be.at.most(MAX_BACKOFF_MS + 2 * CHECK_MS);
    const asked = reclaim.asked;
    tick(BUSY);
    idleTicks(SPELL - 1);
    expect(reclaim.asked, 'a new spell: not before it is over').to.equal(asked);
    tick(0);
    expect(reclaim.asked, 'traffic came back: the backoff is gone').to.equal(asked + 1);
  });
});
