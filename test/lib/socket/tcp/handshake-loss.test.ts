/**
 * The handshake under loss, as a property: the first segments each way are
 * lost in every combination, the two ends' first retransmission timers differ
 * a little (a guest kernel's SYN timer against ours), and arrivals come in
 * batches, the way one turn of the daemon reads several frames before it
 * dispatches. Whatever the pattern, the connection establishes, moves a
 * request and a reply exactly, closes normally, and no entry point throws.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { Counters } from '../../../../src/lib/counters.js';
import { TcpSocket, TcpState, type TcpSocketConfig } from '../../../../src/lib/socket/tcp/index.js';
import type { TcpRepr } from '../../../../src/lib/wire/tcp.js';
import { FakeLink, LOCAL, REMOTE, clone, pattern, rng, readAll } from './harness.js';

interface Case {
  seed: number;
  /** Bits 0-5: which of the first six segments toward the guest (a) / the NAT (b) are lost. */
  lostToA: number;
  lostToB: number;
  rtoA: number;
  rtoB: number;
  /** When the NAT's host connect completes and it answers the held SYN (TcpNat accept()). */
  acceptAt: number;
  batchMs: number;
  delayMs: number;
  reorder: number;
  requestLen: number;
  replyLen: number;
  features: boolean;
}

function bits(mask: number): Set<number> {
  const out = new Set<number>();
  for (let i = 0; i < 6; i++) if (mask & (1 << i)) out.add(i);
  return out;
}

/** a: the guest's active open; b: the NAT's socket, built from a's first SYN as TcpNat does. */
function exchange(c: Case): { aGot: Buffer; bGot: Buffer; request: Buffer; reply: Buffer; a: TcpSocket; b: TcpSocket; counters: Counters } {
  const counters = new Counters();
  const features: Partial<TcpSocketConfig> = c.features ? {} : { timestamps: false, sack: false, windowScaling: false };
  const cfg = (iss: number, initialRtoMs: number): TcpSocketConfig => ({
    mss: 1460, sndBuf: 64 * 1024, rcvBuf: 64 * 1024, iss, counters, initialRtoMs, minRtoMs: 100, ...features,
  });
  const request = pattern(c.requestLen, c.seed);
  const reply = pattern(c.replyLen, c.seed + 1);
  const a = TcpSocket.connect(0, REMOTE, LOCAL, cfg(0x7ffffff0, c.rtoA));
  let syn: TcpRepr | undefined;
  a.dispatch(0, (s) => (syn = clone(s)));
  const b = TcpSocket.fromSyn(0, LOCAL, REMOTE, syn!, cfg(0xfffffff0, c.rtoB));
  const link = new FakeLink(a, b, rng(c.seed), {
    loss: 0, dup: 0, reorder: c.reorder, delayMs: c.delayMs, batchMs: c.batchMs, dropNth: { toA: bits(c.lostToA), toB: bits(c.lostToB) },
  });
  const aParts: Buffer[] = [];
  const bParts: Buffer[] = [];
  a.onEstablished = () => {
    a.send(request);
    a.shutdownWrite();
  };
  b.onPeerFin = () => {
    b.send(reply);
    b.shutdownWrite();
  };
  let accepted = false;
  for (let i = 0; i < 100_000; i++) {
    if (!accepted && link.now >= c.acceptAt) {
      b.accept(link.now);
      accepted = true;
    }
    if (!link.step() && accepted) break;
    aParts.push(readAll(a));
    bParts.push(readAll(b));
    if (a.state === TcpState.CLOSED && b.state === TcpState.CLOSED) break;
  }
  return { aGot: Buffer.concat(aParts), bGot: Buffer.concat(bParts), request, reply, a, b, counters };
}

describe('TCP handshake under early loss and batched arrivals (property)', () => {
  it('establishes, moves both messages exactly and closes normally, whatever is lost first', function () {
    this.timeout(120_000);
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 0x7fffffff }),
          lostToA: fc.integer({ min: 0, max: 63 }),
          lostToB: fc.integer({ min: 0, max: 63 }),
          rtoA: fc.integer({ min: 800, max: 1200 }),
          rtoB: fc.integer({ min: 800, max: 1200 }),
          acceptAt: fc.constantFrom(0, 2, 300, 1500),
          batchMs: fc.constantFrom(0, 1, 10, 50, 100),
          delayMs: fc.integer({ min: 1, max: 20 }),
          reorder: fc.double({ min: 0, max: 0.3, noNaN: true }),
          requestLen: fc.integer({ min: 1, max: 4000 }),
          replyLen: fc.integer({ min: 1, max: 4000 }),
          features: fc.boolean(),
        }),
        (c) => {
          const r = exchange(c);
          expect(r.bGot.equals(r.request), 'the request arrived exactly').to.equal(true);
          expect(r.aGot.equals(r.reply), 'the reply arrived exactly').to.equal(true);
          expect([r.a.closeReason, r.b.closeReason]).to.deep.equal(['normal', 'normal']);
          expect(r.counters.get('drop.tcp_illegal_transition')).to.equal(0);
        },
      ),
      { numRuns: 3000, seed: 20261205 },
    );
  });
});
