/**
 * The receiver never leaves its peer stuck behind a small window, as a
 * property: a sender that always fills what we offer, an application that
 * reads at random moments and in random amounts, ACKs dispatched at random
 * times. Whenever the application has read everything and we dispatch, the
 * window the peer knows of (the highest right edge we advertised, minus what
 * it has sent) has room for two full segments, or half the buffer if that
 * is less: two full segments draw an ACK at once (RFC 9293 §3.8.6.3), so the
 * peer never waits for its probe timer (RFC 9293 §3.8.6.2.2; that cost
 * 100-250 ms stalls on the daemon's bulk path). Within the delayed-ACK time
 * it knows of at least half the buffer.
 *
 * And the case the delay is for: a short connection's first request, which
 * found the SYN-ACK's window (at most 64 KiB, never scaled), drew a pure
 * window update; now the reply carries the window.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { windowShiftFor } from '../../../../src/lib/socket/tcp/types.js';
import { F, add, drain, establishedPassive, has, readAll, seg } from './harness.js';

/** The socket's default delayed-ACK time (types.ts resolveConfig). */
const DELAYED_ACK_MS = 40;

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
    expect(peerWindow(), `window the peer knows of at once, buffer ${rcvBuf}, MSS ${mss}`).to.be.at.least(Math.min(rcvBuf / 2, 2 * mss));
    now += DELAYED_ACK_MS;
    learn(drain(p.sock, now));
    expect(peerWindow(), `window the peer knows of after the delayed-ACK time, buffer ${rcvBuf}, MSS ${mss}`).to.be.at.least(rcvBuf / 2);
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
  it('whenever the application has read everything, the peer has room for two full segments at once and half the buffer within the delayed-ACK time', () => {
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

describe('the window update after a connection\'s first request', () => {
  // A Linux guest's SYN: window scaling, so we may offer the whole 1 MiB buffer once the SYN-ACK (64 KiB at most) is behind us.
  const SYN = { mss: 1460, windowScale: 7 };

  it('is not a segment of its own: the reply carries it', () => {
    const p = establishedPassive({ rcvBuf: 1 << 20 }, SYN);
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.from('x') }));
    expect(readAll(p.sock).toString()).to.equal('x');
    expect(drain(p.sock, p.now), 'nothing sent for the request alone').to.deep.equal([]);
    expect(p.sock.send(Buffer.from('y'))).to.equal(true);
    const out = drain(p.sock, p.now);
    expect(out).to.have.length(1);
    expect(out[0].payload.toString()).to.equal('y');
    expect(out[0].ack).to.equal(add(p.peerNxt, 1));
    expect(out[0].window * 2 ** windowShiftFor(1 << 20), 'the reply offers more than the SYN-ACK could').to.be.greaterThan(65535);
  });

  it('without a reply, goes out within the delayed-ACK time', () => {
    const p = establishedPassive({ rcvBuf: 1 << 20 }, SYN);
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.from('x') }));
    readAll(p.sock);
    expect(drain(p.sock, p.now)).to.deep.equal([]);
    const out = drain(p.sock, p.now + DELAYED_ACK_MS);
    expect(out).to.have.length(1);
    expect(has(out[0], F.ACK) && out[0].payload.length === 0, 'a pure ACK').to.equal(true);
    expect(out[0].ack).to.equal(add(p.peerNxt, 1));
  });

  it('goes out at once when the peer has room for less than two full segments', () => {
    // A 64 KiB buffer: the SYN-ACK offered all of it; 62 KiB sent leaves room for one segment.
    const p = establishedPassive({ rcvBuf: 64 * 1024 }, { mss: 1460 });
    let nxt = p.peerNxt;
    for (let sent = 0; sent < 62 * 1024; sent += 1024) {
      p.sock.process(p.now, seg({ seq: nxt, ack: p.ourNxt, payload: Buffer.alloc(1024, 1) }));
      nxt = add(nxt, 1024);
    }
    drain(p.sock, p.now); // the ACKs every second segment drew, each offering what was left
    readAll(p.sock);
    const out = drain(p.sock, p.now);
    expect(out, 'a window update at once').to.have.length(1);
    expect(out[0].ack).to.equal(nxt);
    expect(out[0].window).to.be.at.least(32 * 1024);
  });
});
