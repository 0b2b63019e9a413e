import { expect } from 'chai';
import { F, add, drain, establishedPassive, has, seg, type EstablishedPeer } from './harness.js';

const MSS = 1000;
type Block = [number, number];

/** A SACK-permitted connection (no timestamps) with `n` segments of MSS bytes in flight and `extra` more queued. */
function sackPeer(n: number, extra = 0): { p: EstablishedPeer; s: number[] } {
  const p = establishedPassive({}, { mss: MSS, sackPermitted: true });
  p.sock.send(Buffer.alloc((n + extra) * MSS, 7));
  const out = drain(p.sock, p.now);
  expect(out).to.have.length(n); // the initial window is 10 segments
  const s = out.map((x) => x.seq);
  s.push(add(s[n - 1], MSS));
  return { p, s };
}

/** The peer's ACK of `ack` with SACK blocks, at p.now + dt. */
function ack(p: EstablishedPeer, dt: number, to: number, sack?: Block[]): void {
  p.sock.process(p.now + dt, seg({ seq: p.peerNxt, ack: to, options: { sack } }));
}

const seqs = (p: EstablishedPeer, dt: number) => drain(p.sock, p.now + dt).filter((x) => x.payload.length > 0 || has(x, F.FIN)).map((x) => x.seq);

describe('TCP SACK-based loss recovery (RFC 6675)', () => {
  it('deems a hole lost once more than (DupThresh - 1) * SMSS above it is SACKed (IsLost), not before', () => {
    const { p, s } = sackPeer(10);
    ack(p, 5, s[0], [[s[1], s[3]]]); // two segments above the hole: could be reordering
    expect(seqs(p, 5)).to.deep.equal([]);
    ack(p, 6, s[0], [[s[1], s[4]]]); // three: lost, on the second duplicate ACK already
    expect(seqs(p, 6)).to.deep.equal([s[0]]);
    expect(p.sock.stats.sackRecoveries).to.equal(1);
    // RFC 6675 §5 (4.2): ssthresh = cwnd = FlightSize / 2.
    expect(p.sock.cwnd).to.equal(5000);
  });

  it('retransmits every lost hole in the same round trip (NextSeg rule 1)', () => {
    const { p, s } = sackPeer(10);
    ack(p, 5, s[0], [[s[1], s[2]], [s[3], s[4]], [s[5], s[10]]]);
    expect(seqs(p, 5)).to.deep.equal([s[0], s[2], s[4]]);
    expect(p.sock.stats.fastRetransmits).to.equal(3);
    // The holes are repaired: one cumulative ACK ends recovery with no timeout.
    ack(p, 10, s[10]);
    expect(p.sock.stats.timeouts).to.equal(0);
    expect(p.sock.seqState.sndUna).to.equal(s[10]);
  });

  it('sends new data while cwnd - pipe allows (rule 2) and leaves recovery at RecoveryPoint', () => {
    const { p, s } = sackPeer(10, 10);
    ack(p, 5, s[0], [[s[1], s[10]]]);
    const out = seqs(p, 5);
    // The retransmission plus four new segments: pipe = 1 + 4 segments = cwnd (5000).
    expect(out).to.deep.equal([s[0], s[10], add(s[10], MSS), add(s[10], 2 * MSS), add(s[10], 3 * MSS)]);
    ack(p, 10, s[10]); // covers RecoveryPoint
    expect(p.sock.cwnd).to.equal(5000); // continues from ssthresh
    expect(p.sock.stats.timeouts).to.equal(0);
  });

  it('retransmits unSACKed data not yet deemed lost when nothing else may go (rule 3)', () => {
    const { p, s } = sackPeer(10);
    // Hole 0 is lost (six segments above it); hole 5 has only two SACKed above.
    ack(p, 5, s[0], [[s[1], s[5]], [s[6], s[8]]]);
    expect(seqs(p, 5)).to.deep.equal([s[0], s[5]]);
  });

  it('sends one rescue retransmission of the tail once the first retransmission is acked (rule 4)', () => {
    const { p, s } = sackPeer(10);
    ack(p, 5, s[0], [[s[1], s[9]]]); // 0 and 9 lost; nothing SACKed above 9
    expect(seqs(p, 5)).to.deep.equal([s[0]]);
    ack(p, 8, s[9]); // a partial ACK: 9 is still out, recovery goes on
    expect(seqs(p, 8)).to.deep.equal([s[9]]);
    ack(p, 9, s[9]);
    expect(seqs(p, 9)).to.deep.equal([]); // only one rescue per episode
    expect(p.sock.stats.timeouts).to.equal(0);
  });

  it('finds a lost retransmission from data sent after it and resends it without a timeout (RFC 8985 §6.2)', () => {
    const { p, s } = sackPeer(10, 10);
    ack(p, 5, s[0], [[s[1], s[10]]]);
    const first = seqs(p, 5);
    expect(first[0]).to.equal(s[0]);
    // The retransmission of 0 is lost too, while three of the new segments sent after it arrive.
    ack(p, 7, s[0], [[s[1], add(s[10], 3 * MSS)]]);
    const again = seqs(p, 7);
    expect(again[0]).to.equal(s[0]);
    expect(p.sock.stats.lostRetransmits).to.equal(1);
    expect(p.sock.stats.timeouts).to.equal(0);
    ack(p, 9, add(s[10], 4 * MSS));
    expect(p.sock.seqState.sndUna).to.equal(add(s[10], 4 * MSS));
  });

  it('uses NewReno when the peer did not offer SACK: no probe, the RTO repairs a tail loss', () => {
    const p = establishedPassive({}, { mss: MSS });
    p.sock.send(Buffer.alloc(10 * MSS, 7));
    drain(p.sock, p.now);
    expect(p.sock.pollAt() - p.now).to.equal(200);
  });
});

describe('TCP tail loss probe (RFC 8985 §7)', () => {
  it('probes with the last segment after 2 * SRTT and repairs the tail through SACK recovery', () => {
    const { p, s } = sackPeer(10);
    ack(p, 5, s[7]); // 7, 8 and 9 are lost at the tail: no more ACKs will come
    const at = p.sock.pollAt();
    expect(at - (p.now + 5)).to.be.below(p.sock.rto); // before the RTO
    const probe = drain(p.sock, at).filter((x) => x.payload.length > 0);
    expect(probe.map((x) => x.seq)).to.deep.equal([s[9]]);
    expect(p.sock.stats.lossProbes).to.equal(1);
    // The probe arrives: its SACK shows everything sent before it lost.
    p.sock.process(at + 5, seg({ seq: p.peerNxt, ack: s[7], options: { sack: [[s[9], s[10]]] } }));
    expect(drain(p.sock, at + 5).map((x) => x.seq)).to.deep.equal([s[7], s[8]]);
    p.sock.process(at + 10, seg({ seq: p.peerNxt, ack: s[10] }));
    expect(p.sock.stats.timeouts).to.equal(0);
    expect(p.sock.pollAt()).to.equal(Infinity);
  });

  it('probes with new data when the receive window allows it', () => {
    const p = establishedPassive({}, { mss: MSS, sackPermitted: true }, 10 * MSS);
    p.sock.send(Buffer.alloc(12 * MSS, 7));
    const s = drain(p.sock, p.now).map((x) => x.seq);
    expect(s).to.have.length(10); // the peer's window of 10 segments
    // A window update without an ACK of new data: the peer now allows more.
    p.sock.process(p.now + 5, seg({ seq: p.peerNxt, ack: p.ourNxt, window: 20 * MSS }));
    const more = drain(p.sock, p.now + 5);
    expect(more).to.have.length(0); // cwnd (10 segments) is full
    const probe = drain(p.sock, p.sock.pollAt()).filter((x) => x.payload.length > 0);
    expect(probe.map((x) => x.seq)).to.deep.equal([add(s[9], MSS)]);
    expect(p.sock.stats.retransmits).to.equal(0);
  });

  it('sends one probe per episode, then the RTO takes over', () => {
    const { p } = sackPeer(3);
    drain(p.sock, p.sock.pollAt()); // the probe
    const rtoAt = p.sock.pollAt();
    drain(p.sock, rtoAt);
    expect(p.sock.stats.lossProbes).to.equal(1);
    expect(p.sock.stats.timeouts).to.equal(1);
  });
});
