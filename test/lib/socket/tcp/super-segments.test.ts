/**
 * maxSegmentBytes (TSO toward a tap): new data goes out in super-segments of
 * whole peer-MSS pieces, bounded by cwnd and the peer's window in bytes
 * (RFC 5681 §3.1: cwnd and rwnd limit bytes in flight, not segments); the
 * stream is unchanged; retransmissions stay at one MSS (RFC 6298 §5.4 resends
 * "the earliest segment").
 */
import { expect } from 'chai';
import { add, drain, establishedPassive, pattern, seg } from './harness.js';

const MSS = 1000;

describe('TCP super-segments (maxSegmentBytes above the MSS)', () => {
  it('sends the initial window as whole-MSS super-segments carrying the exact stream', () => {
    const p = establishedPassive({ maxSegmentBytes: 65000 }, { mss: MSS });
    const data = pattern(30_000, 7);
    p.sock.send(data);
    const out = drain(p.sock, p.now).filter((s) => s.payload.length > 0);
    const cwnd = p.sock.cwnd;
    const total = out.reduce((n, s) => n + s.payload.length, 0);
    expect(total).to.equal(Math.min(cwnd, 30_000));
    expect(out.length).to.be.lessThan(total / MSS);
    for (const s of out) expect(s.payload.length % MSS, 'whole MSS pieces').to.equal(0);
    expect(Buffer.concat(out.map((s) => s.payload)).equals(data.subarray(0, total))).to.equal(true);
    expect(out[0].seq).to.equal(p.ourNxt);
  });

  it('grows to the peer window and sends the tail whole, never past the window', () => {
    const p = establishedPassive({ maxSegmentBytes: 65000, sndBuf: 1 << 20 }, { mss: MSS }, 40_000);
    const data = pattern(100_500, 3);
    p.sock.send(data);
    let now = p.now;
    const got: Buffer[] = [];
    let acked = p.ourNxt;
    for (let round = 0; round < 50 && got.reduce((n, b) => n + b.length, 0) < data.length; round++) {
      const out = drain(p.sock, now).filter((s) => s.payload.length > 0);
      let flight = 0;
      for (const s of out) {
        expect(s.seq).to.equal(add(acked, flight));
        flight += s.payload.length;
        got.push(s.payload);
      }
      expect(flight).to.be.at.most(40_000);
      acked = add(acked, flight);
      now += 10;
      p.sock.process(now, seg({ seq: p.peerNxt, ack: acked, window: 40_000 }));
    }
    const all = Buffer.concat(got);
    expect(all.equals(data)).to.equal(true);
    expect(got.some((b) => b.length > MSS)).to.equal(true);
  });

  it('with gatherPayload, hands a large segment over as views of the chunks it spans, copying nothing', () => {
    const p = establishedPassive({ mss: 9000, maxSegmentBytes: 65000, gatherPayload: true, sndBuf: 1 << 20 }, { mss: 9000 }, 60_000);
    const chunks = [pattern(10_000, 1), pattern(10_000, 2), pattern(10_000, 3)];
    for (const c of chunks) p.sock.send(c);
    const seen: Array<{ len: number; parts: Buffer[] }> = [];
    p.sock.dispatch(p.now, (s) => {
      if (s.payload.length === 0) return;
      const parts = [s.payload, ...(s.payloadRest ?? [])];
      seen.push({ len: parts.reduce((n, b) => n + b.length, 0), parts: parts.map((b) => Buffer.from(b)) });
      for (const b of parts) expect(chunks.some((c) => c.buffer === b.buffer), 'a view of a queued chunk').to.equal(true);
    });
    const first = seen[0];
    expect(first.len, 'the initial window: min(10 MSS, max(2 MSS, 14600)) = 18000 (RFC 6928)').to.equal(18_000);
    expect(first.parts.map((b) => b.length)).to.deep.equal([10_000, 8_000]);
    expect(Buffer.concat(seen.flatMap((x) => x.parts)).equals(Buffer.concat(chunks).subarray(0, 18_000))).to.equal(true);
  });

  it('with gatherPayload, still copies a small straddling segment into one buffer', () => {
    const p = establishedPassive({ gatherPayload: true }, { mss: 1460 });
    p.sock.send(pattern(1000, 1));
    p.sock.send(pattern(1000, 2));
    const out: Array<{ len: number; rest: number }> = [];
    p.sock.dispatch(p.now, (s) => void (s.payload.length > 0 && out.push({ len: s.payload.length, rest: s.payloadRest?.length ?? 0 })));
    expect(out[0]).to.deep.equal({ len: 1460, rest: 0 });
  });

  it('without maxSegmentBytes, segments never exceed the MSS', () => {
    const p = establishedPassive({}, { mss: MSS });
    p.sock.send(pattern(30_000, 1));
    const out = drain(p.sock, p.now);
    expect(out.length).to.be.greaterThan(1);
    for (const s of out) expect(s.payload.length).to.be.at.most(MSS);
  });

  it("without maxSegmentBytes, a tail between the peer's MSS and ours still goes in MSS pieces", () => {
    const p = establishedPassive({}, { mss: MSS }); // ours is 1460
    p.sock.send(pattern(600, 1));
    p.sock.send(pattern(600, 2));
    expect(drain(p.sock, p.now).map((s) => s.payload.length)).to.deep.equal([MSS, 200]);
  });

  it('retransmits one MSS after a timeout, not the lost super-segment', () => {
    const p = establishedPassive({ maxSegmentBytes: 65000 }, { mss: MSS });
    p.sock.send(pattern(8000, 2));
    const first = drain(p.sock, p.now).filter((s) => s.payload.length > 0);
    expect(first[0].payload.length).to.be.greaterThan(MSS);
    const at = p.sock.pollAt();
    const rtx = drain(p.sock, at).filter((s) => s.payload.length > 0);
    expect(rtx).to.have.length(1);
    expect(rtx[0].seq).to.equal(p.ourNxt);
    expect(rtx[0].payload.length).to.equal(MSS);
  });
});
