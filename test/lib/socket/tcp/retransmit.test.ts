import { expect } from 'chai';
import { SackScoreboard } from '../../../../src/lib/socket/tcp/sack.js';
import { TcpState } from '../../../../src/lib/socket/tcp/index.js';
import { F, add, drain, establishedPassive, has, seg, type EstablishedPeer } from './harness.js';

const MSS = 1000;

/** A connection with `n` segments of MSS bytes in flight; returns their sequence numbers. */
function inFlight(p: EstablishedPeer, n: number): number[] {
  p.sock.send(Buffer.alloc(n * MSS, 7));
  const out = drain(p.sock, p.now);
  expect(out).to.have.length(n);
  return out.map((s) => s.seq);
}

describe('TCP retransmission timeout (RFC 6298)', () => {
  it('retransmits the earliest segment with exponential backoff', () => {
    const p = establishedPassive({}, { mss: MSS });
    const seqs = inFlight(p, 3);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const at = p.sock.pollAt();
      const out = drain(p.sock, at);
      expect(out).to.have.length(1); // cwnd collapsed to one segment (RFC 5681 eq. 4)
      expect(out[0].seq).to.equal(seqs[0]);
      times.push(at - p.now);
    }
    expect(times).to.deep.equal([200, 600, 1400]); // 200, +400, +800
    expect(p.sock.cwnd).to.equal(MSS);
    expect(p.sock.stats.retransmits).to.equal(3);
  });

  it('caps the backed-off RTO at maxRtoMs', () => {
    const p = establishedPassive({ maxRtoMs: 1000 }, { mss: MSS });
    inFlight(p, 1);
    let last = p.now;
    const gaps: number[] = [];
    for (let i = 0; i < 5; i++) {
      const at = p.sock.pollAt();
      drain(p.sock, at);
      gaps.push(at - last);
      last = at;
    }
    expect(gaps).to.deep.equal([200, 400, 800, 1000, 1000]);
  });

  it('gives up after maxRetries: RST to the peer, onReset, closeReason timeout', () => {
    const p = establishedPassive({ maxRetries: 3 }, { mss: MSS });
    let resets = 0;
    p.sock.onReset = () => resets++;
    inFlight(p, 1);
    let last: ReturnType<typeof drain> = [];
    for (let i = 0; i < 4; i++) last = drain(p.sock, p.sock.pollAt());
    expect(p.sock.state).to.equal(TcpState.CLOSED);
    expect(p.sock.closeReason).to.equal('timeout');
    expect(resets).to.equal(1);
    expect(last).to.have.length(1);
    expect(has(last[0], F.RST)).to.equal(true);
  });

  it('takes no RTT sample from a retransmitted segment (Karn) and keeps the backoff', () => {
    const p = establishedPassive({}, { mss: MSS });
    const [s0] = inFlight(p, 1);
    const at = p.sock.pollAt();
    drain(p.sock, at);
    expect(p.sock.rto).to.equal(400);
    p.sock.process(at + 5, seg({ seq: p.peerNxt, ack: add(s0, MSS) }));
    expect(p.sock.rto).to.equal(400);
    // The next, unretransmitted segment (sent at p.now, acked 220 ms later) is
    // timed and clears the backoff: SRTT 36.25, RTTVAR 56.25 -> RTO 261.25.
    inFlight(p, 1);
    p.sock.process(at + 20, seg({ seq: p.peerNxt, ack: add(s0, 2 * MSS) }));
    expect(p.sock.rto).to.equal(261.25);
  });

  it('sends bare ACKs with SND.MAX while retransmitting, so the peer accepts them', () => {
    const p = establishedPassive({}, { mss: MSS });
    const seqs = inFlight(p, 3);
    drain(p.sock, p.sock.pollAt()); // timeout: segment 0 again, SND.NXT rewound
    p.sock.process(p.now + 300, seg({ seq: p.peerNxt, ack: seqs[0], payload: Buffer.alloc(10) }));
    const [ack] = drain(p.sock, p.now + 340);
    expect(ack.payload.length).to.equal(0);
    // Below SND.MAX the peer (whose RCV.NXT may already be there) would drop it unread.
    expect(ack.seq).to.equal(add(seqs[2], MSS));
  });

  it('slow-starts again from one segment after a timeout (go-back-N)', () => {
    const p = establishedPassive({}, { mss: MSS });
    const seqs = inFlight(p, 6);
    drain(p.sock, p.sock.pollAt());
    p.sock.process(p.now + 300, seg({ seq: p.peerNxt, ack: seqs[1] }));
    const out = drain(p.sock, p.now + 300);
    expect(out.map((s) => s.seq)).to.deep.equal([seqs[1], seqs[2]]);
  });
});

describe('TCP fast retransmit and NewReno (RFC 5681 §3.2, RFC 6582)', () => {
  it('retransmits on the third duplicate ACK, not before', () => {
    const p = establishedPassive({}, { mss: MSS });
    const seqs = inFlight(p, 10);
    const dup = () => p.sock.process(p.now + 20, seg({ seq: p.peerNxt, ack: seqs[0] }));
    dup();
    dup();
    expect(drain(p.sock, p.now + 20)).to.deep.equal([]);
    dup();
    const out = drain(p.sock, p.now + 20);
    expect(out[0].seq).to.equal(seqs[0]);
    expect(p.sock.stats.fastRetransmits).to.equal(1);
    // ssthresh = FlightSize/2 = 5000, cwnd = ssthresh + 3*SMSS.
    expect(p.sock.cwnd).to.equal(8000);
  });

  it('does not count ACKs that carry data or change the window as duplicates', () => {
    const p = establishedPassive({}, { mss: MSS });
    const seqs = inFlight(p, 10);
    p.sock.process(p.now + 20, seg({ seq: p.peerNxt, ack: seqs[0], window: 60000 }));
    p.sock.process(p.now + 20, seg({ seq: p.peerNxt, ack: seqs[0], window: 60000, payload: Buffer.from('a') }));
    p.sock.process(p.now + 20, seg({ seq: add(p.peerNxt, 1), ack: seqs[0], window: 50000 }));
    expect(p.sock.stats.fastRetransmits).to.equal(0);
  });

  it('counts ACKs with new SACK information as duplicates even if the window moved (RFC 6675 §2)', () => {
    const p = establishedPassive({}, { mss: MSS, sackPermitted: true });
    const seqs = inFlight(p, 10);
    for (let i = 1; i <= 3; i++) {
      p.sock.process(p.now + 20, seg({ seq: p.peerNxt, ack: seqs[0], window: 60000 + i, options: { sack: [[seqs[1], seqs[1 + i]]] } }));
    }
    expect(drain(p.sock, p.now + 20)[0].seq).to.equal(seqs[0]);
    expect(p.sock.stats.fastRetransmits).to.equal(1);
  });

  it('retransmits the next hole at once on a partial ACK and leaves recovery on the full ACK', () => {
    const p = establishedPassive({}, { mss: MSS });
    const seqs = inFlight(p, 10); // segments 0 and 4 are lost
    for (let i = 0; i < 3; i++) p.sock.process(p.now + 20, seg({ seq: p.peerNxt, ack: seqs[0] }));
    expect(drain(p.sock, p.now + 20)[0].seq).to.equal(seqs[0]);
    // Five more duplicates (segments 5..9) inflate cwnd; the partial ACK then covers 0..3.
    for (let i = 0; i < 5; i++) p.sock.process(p.now + 21, seg({ seq: p.peerNxt, ack: seqs[0] }));
    drain(p.sock, p.now + 21);
    p.sock.process(p.now + 40, seg({ seq: p.peerNxt, ack: seqs[4] }));
    const rtx = drain(p.sock, p.now + 40);
    expect(rtx[0].seq).to.equal(seqs[4]);
    expect(p.sock.stats.fastRetransmits).to.equal(2);
    expect(p.sock.stats.timeouts).to.equal(0);
    p.sock.process(p.now + 60, seg({ seq: p.peerNxt, ack: add(seqs[9], MSS) }));
    // RFC 6582 full ACK: cwnd = min(ssthresh, FlightSize + SMSS), no more than ssthresh.
    expect(p.sock.cwnd).to.be.at.most(5000);
  });
});

describe('TCP SACK scoreboard (RFC 2018)', () => {
  it('merges, prunes and skips blocks', () => {
    const sb = new SackScoreboard();
    expect(sb.add(100, 200, 0, 1000)).to.equal(true);
    expect(sb.add(300, 400, 0, 1000)).to.equal(true);
    expect(sb.add(150, 300, 0, 1000)).to.equal(true);
    expect(sb.blockCount).to.equal(1);
    expect(sb.sackedBytes).to.equal(300);
    expect(sb.add(900, 1100, 0, 1000)).to.equal(false); // beyond what we sent
    expect(sb.skip(120)).to.equal(400);
    expect(sb.skip(50)).to.equal(50);
    expect(sb.holeEnd(50, 1000)).to.equal(100);
    sb.prune(250);
    expect(sb.sackedBytes).to.equal(150);
    expect(sb.covers(260)).to.equal(true);
  });

  it('handles blocks across the sequence wrap', () => {
    const sb = new SackScoreboard();
    expect(sb.add(0xfffffff0, 0x10, 0xffffff00, 0x100)).to.equal(true);
    expect(sb.skip(0xfffffff8)).to.equal(0x10);
  });

  it('does not retransmit data the peer SACKed after a timeout', () => {
    const run = (sack: boolean) => {
      // No tail loss probe, and the SACK blocks arrive only after the timeout
      // (earlier, they would start RFC 6675 recovery instead: see sack-recovery.test.ts).
      const p = establishedPassive({ tailLossProbe: false }, { mss: MSS, sackPermitted: sack });
      const seqs = inFlight(p, 10); // 0, 1 and 3 lost; 2 and 4..9 arrived
      const blocks: Array<[number, number]> = [[seqs[2], seqs[3]], [seqs[4], add(seqs[9], MSS)]];
      p.sock.process(p.now + 20, seg({ seq: p.peerNxt, ack: seqs[0] }));
      const at = p.sock.pollAt();
      expect(drain(p.sock, at).map((s) => s.seq)).to.deep.equal([seqs[0]]);
      p.sock.process(at + 20, seg({ seq: p.peerNxt, ack: seqs[1], options: { sack: blocks } }));
      return { sent: drain(p.sock, at + 20).map((s) => s.seq), seqs };
    };
    const withSack = run(true);
    // cwnd is two segments again, but segment 2 is SACKed: only the hole goes out.
    expect(withSack.sent).to.deep.equal([withSack.seqs[1]]);
    // Without SACK, go-back-N resends segment 2 as well.
    const without = run(false);
    expect(without.sent).to.deep.equal([without.seqs[1], without.seqs[2]]);
  });

  it('sends SACK blocks for its out-of-order queue, at most three with timestamps', () => {
    const p = establishedPassive({}, { mss: 1460, sackPermitted: true, timestamps: { tsVal: 1, tsEcr: 0 } });
    for (let i = 0; i < 4; i++) {
      p.sock.process(p.now, seg({ seq: add(p.peerNxt, 100 + i * 200), ack: p.ourNxt, payload: Buffer.alloc(100), options: { timestamps: { tsVal: 20, tsEcr: 0 } } }));
    }
    const out = drain(p.sock, p.now);
    const last = out[out.length - 1];
    expect(last.options.sack).to.have.length(3);
    expect(last.options.sack![0]).to.deep.equal([add(p.peerNxt, 700), add(p.peerNxt, 800)]);
  });
});
