import { expect } from 'chai';
import fc from 'fast-check';
import { Counters } from '../../../../src/lib/counters.js';
import { TcpSocket, TcpState, type TcpSocketConfig } from '../../../../src/lib/socket/tcp/index.js';
import { FakeLink, LOCAL, REMOTE, pattern, rng, type LinkOptions, clone } from './harness.js';
import type { TcpRepr } from '../../../../src/lib/wire/tcp.js';

interface Result {
  aGot: Buffer;
  bGot: Buffer;
  link: FakeLink;
  counters: Counters;
}

/** Connect a -> b through the link, move `aData` a->b and `bData` b->a, close both ways. */
function transfer(aData: Buffer, bData: Buffer, seed: number, opts: LinkOptions, over: Partial<TcpSocketConfig> = {}, strict = true): Result {
  const counters = new Counters();
  const cfg = (iss: number): TcpSocketConfig => ({
    mss: 1460, sndBuf: 128 * 1024, rcvBuf: 256 * 1024, iss, counters, ...over,
  });
  const a = TcpSocket.connect(0, REMOTE, LOCAL, cfg(0xfffffff0));
  let syn: TcpRepr | undefined;
  a.dispatch(0, (s) => (syn = clone(s)));
  const b = TcpSocket.fromSyn(0, LOCAL, REMOTE, syn!, cfg(0x7ffffff0));
  b.accept(0);
  const link = new FakeLink(a, b, rng(seed), opts);
  const aParts: Buffer[] = [];
  const bParts: Buffer[] = [];
  const pump = (sock: TcpSocket, data: Buffer, pos: { v: number }) => () => {
    while (pos.v < data.length) {
      const n = Math.min(16384 + (pos.v % 7000), data.length - pos.v);
      const ok = sock.send(data.subarray(pos.v, pos.v + n));
      pos.v += n;
      if (!ok) return;
    }
    if (pos.v === data.length) {
      pos.v++;
      sock.shutdownWrite();
    }
  };
  const aPos = { v: 0 };
  const bPos = { v: 0 };
  a.onEstablished = pump(a, aData, aPos);
  a.onSendSpace = pump(a, aData, aPos);
  b.onEstablished = pump(b, bData, bPos);
  b.onSendSpace = pump(b, bData, bPos);
  // The receivers read only every so often, so windows close and reopen.
  const r = rng(seed ^ 0x5a5a);
  a.onReadable = () => {
    if (r() < 0.7) for (let c = a.read(); c; c = a.read()) aParts.push(c);
  };
  b.onReadable = () => {
    if (r() < 0.7) for (let c = b.read(); c; c = b.read()) bParts.push(c);
  };
  for (let i = 0; i < 2_000_000; i++) {
    if (r() < 0.05) {
      const c = a.read();
      if (c) aParts.push(c);
    }
    if (!link.step()) break;
    if (r() < 0.02) {
      for (let c = a.read(); c; c = a.read()) aParts.push(c);
      for (let c = b.read(); c; c = b.read()) bParts.push(c);
    }
    if (a.state === TcpState.CLOSED && b.state === TcpState.CLOSED) break;
  }
  for (let c = a.read(); c; c = a.read()) aParts.push(c);
  for (let c = b.read(); c; c = b.read()) bParts.push(c);
  expect(a.state, 'a closed').to.equal(TcpState.CLOSED);
  expect(b.state, 'b closed').to.equal(TcpState.CLOSED);
  // Both end normally, except for the race TIME-WAIT exists for: one side's last
  // ACK is lost, that side's TIME-WAIT ends, and the other side's retransmission
  // (backed off over heavy loss) is answered by RST. Then the stream was complete.
  const normalOrLateRst = (s: TcpSocket, peer: TcpSocket) =>
    s.closeReason === 'normal' || (s.closeReason === 'reset' && peer.closeReason === 'normal' && !strict);
  expect(normalOrLateRst(a, b), `a: ${a.closeReason}`).to.equal(true);
  expect(normalOrLateRst(b, a), `b: ${b.closeReason}`).to.equal(true);
  expect(counters.get('drop.tcp_illegal_transition')).to.equal(0);
  return { aGot: Buffer.concat(aParts), bGot: Buffer.concat(bParts), link, counters };
}

describe('TCP back to back through a lossy link', () => {
  it('moves data exactly both ways over a perfect link', () => {
    const x = pattern(300_000, 1);
    const y = pattern(200_000, 2);
    const { aGot, bGot } = transfer(x, y, 7, { loss: 0, dup: 0, reorder: 0, delayMs: 5 });
    expect(bGot.equals(x)).to.equal(true);
    expect(aGot.equals(y)).to.equal(true);
  });

  it('transfers a few MiB exactly in both directions despite loss, reordering and duplication', function () {
    this.timeout(120_000);
    const x = pattern(3 * 1024 * 1024, 3);
    const y = pattern(2 * 1024 * 1024, 4);
    const { aGot, bGot, link } = transfer(x, y, 42, { loss: 0.03, dup: 0.02, reorder: 0.05, delayMs: 10 });
    // The link really did lose data: both sides had to repair it, fast and by timeout.
    expect(link.a.stats.fastRetransmits + link.b.stats.fastRetransmits).to.be.greaterThan(0);
    expect(link.a.stats.retransmits).to.be.greaterThan(0);
    expect(link.b.stats.retransmits).to.be.greaterThan(0);
    expect(bGot.length).to.equal(x.length);
    expect(bGot.equals(x)).to.equal(true);
    expect(aGot.equals(y)).to.equal(true);
  });

  it('interoperates through the wire codec and keeps every segment within the MSS', () => {
    const x = pattern(500_000, 5);
    const y = pattern(100_000, 6);
    const { aGot, bGot, link } = transfer(x, y, 9, { loss: 0.02, dup: 0.01, reorder: 0.05, delayMs: 5, wire: true });
    expect(bGot.equals(x)).to.equal(true);
    expect(aGot.equals(y)).to.equal(true);
    // TCP header + options + payload never exceeds MSS + 20 (RFC 9293 §3.7.1), options included.
    expect(link.maxWireLen).to.be.at.most(1460 + 20);
    expect(link.maxWireLen).to.be.at.least(1400);
  });

  it('needs far fewer retransmission timeouts with RFC 6675 recovery and tail loss probes than with NewReno on the same seeded link', function () {
    this.timeout(120_000);
    const x = pattern(2 * 1024 * 1024, 11);
    const y = pattern(512 * 1024, 12);
    const link: LinkOptions = { loss: 0.03, dup: 0, reorder: 0.01, delayMs: 5 };
    const rtos = (over: Partial<TcpSocketConfig>) => {
      const r = transfer(x, y, 1234, link, over);
      expect(r.bGot.equals(x)).to.equal(true);
      expect(r.aGot.equals(y)).to.equal(true);
      const a = r.link.a.stats;
      const b = r.link.b.stats;
      return { timeouts: a.timeouts + b.timeouts, probes: a.lossProbes + b.lossProbes, recoveries: a.sackRecoveries + b.sackRecoveries };
    };
    const newReno = rtos({ sackRecovery: false, tailLossProbe: false });
    const rfc6675 = rtos({});
    expect(newReno.recoveries).to.equal(0);
    expect(rfc6675.recoveries).to.be.greaterThan(0);
    expect(rfc6675.probes).to.be.greaterThan(0);
    // Relative counts on one seeded link (39 vs 0 today), not timings.
    expect(newReno.timeouts).to.be.greaterThan(0);
    expect(rfc6675.timeouts * 3).to.be.below(newReno.timeouts);
  });

  it('keeps the stream exact for random loss patterns (property)', function () {
    this.timeout(300_000);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 0x7fffffff }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        fc.double({ min: 0, max: 0.1, noNaN: true }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        fc.integer({ min: 1, max: 200_000 }),
        fc.boolean(),
        (seed, loss, dup, reorder, size, features) => {
          const x = pattern(size, seed);
          const y = pattern(size >> 1, seed + 1);
          const over = features ? {} : { timestamps: false, sack: false, windowScaling: false };
          const { aGot, bGot } = transfer(x, y, seed, { loss, dup, reorder, delayMs: 3 }, { maxRetries: 40, ...over }, false);
          return bGot.equals(x) && aGot.equals(y);
        },
      ),
      { numRuns: 40, seed: 20261128 },
    );
  });
});
