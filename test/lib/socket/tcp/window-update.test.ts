/**
 * The receiver never leaves its peer stuck behind a small window, as a
 * property: a sender that always fills what we offer, an application that
 * reads at random moments and in random amounts, ACKs dispatched at random
 * times. Whenever the application has read everything and we dispatch, the
 * window the peer knows of (the highest right edge we advertised, minus what
 * it has sent) is at least half the buffer: an update went out. Otherwise a
 * real sender waits for its probe timer with our buffer empty (RFC 9293
 * §3.8.6.2.2; it cost 100-250 ms stalls on the daemon's bulk path).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { add, drain, establishedPassive, readAll, seg } from './harness.js';

type Step = { kind: 'send'; bytes: number } | { kind: 'read'; chunks: number } | { kind: 'dispatch'; afterMs: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('send' as const), bytes: fc.integer({ min: 1, max: 4000 }) }),
  fc.record({ kind: fc.constant('read' as const), chunks: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('dispatch' as const), afterMs: fc.integer({ min: 0, max: 300 }) }),
);

function run(rcvBuf: number, mss: number, steps: Step[]): void {
  const p = establishedPassive({ rcvBuf, mss }, { mss });
  let now = p.now;
  let peerNxt = p.peerNxt;
  let edge = add(p.peerNxt, rcvBuf); // the SYN-ACK's window
  const learn = (out: ReturnType<typeof drain>) => {
    for (const s of out) {
      const e = add(s.ack, s.window);
      if (((e - edge) | 0) > 0) edge = e;
    }
  };
  const peerWindow = () => (edge - peerNxt) | 0;
  const readEverythingAndCheck = () => {
    readAll(p.sock);
    learn(drain(p.sock, now));
    expect(peerWindow(), `window the peer knows of, buffer ${rcvBuf}, MSS ${mss}`).to.be.at.least(rcvBuf / 2);
  };
  for (const s of steps) {
    if (s.kind === 'send') {
      const n = Math.min(s.bytes, mss, peerWindow());
      if (n <= 0) continue;
      p.sock.process(now, seg({ seq: peerNxt, ack: p.ourNxt, payload: Buffer.alloc(n, 7) }));
      peerNxt = add(peerNxt, n);
    } else if (s.kind === 'read') {
      for (let i = 0; i < s.chunks && p.sock.read(); i++);
      learn(drain(p.sock, now));
      if (p.sock.readableBytes === 0) readEverythingAndCheck();
    } else {
      now += s.afterMs;
      learn(drain(p.sock, now));
    }
  }
  readEverythingAndCheck();
}

describe('TCP receive window updates (property)', () => {
  it('whenever the application has read everything, the peer knows of at least half the buffer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2000, max: 65535 }), fc.integer({ min: 536, max: 1460 }), fc.array(step, { maxLength: 80 }), (rcvBuf, mss, steps) => run(rcvBuf, mss, steps)),
      { numRuns: 400, seed: 20261205 },
    );
  });

  it('the case that stalled: a window filled to under one MSS (not zero) and acknowledged, then read', () => {
    run(10000, 1460, [
      ...Array.from({ length: 6 }, () => ({ kind: 'send' as const, bytes: 1460 })),
      { kind: 'dispatch', afterMs: 300 },
      { kind: 'read', chunks: 4 },
    ]);
  });
});

describe("a connection's first request", () => {
  it('is acknowledged as soon as it is read: a sender with Nagle on holds its next small write until then', () => {
    // A Linux guest (window scaling, Minshall's Nagle): a 200-byte write goes out at once; a second small
    // write waits until the first small segment is acknowledged (RFC 1122 §4.2.3.4, tcp_minshall_check).
    const p = establishedPassive({ rcvBuf: 1 << 20 }, { mss: 1460, windowScale: 7 });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.alloc(200, 1) }));
    expect(readAll(p.sock)).to.have.length(200);
    const out = drain(p.sock, p.now);
    expect(out, 'an ACK at once, not after the 40 ms delayed-ACK time').to.have.length(1);
    expect(out[0].ack).to.equal(add(p.peerNxt, 200));
  });
});
