import { expect } from 'chai';
import { TcpState } from '../../../../src/lib/socket/tcp/index.js';
import { add, drain, establishedPassive, readAll, seg } from './harness.js';

describe('TCP zero window and persist timer (RFC 9293 §3.8.6.1)', () => {
  it('probes a zero window with one byte, backing off, and never gives up while the peer answers', () => {
    const p = establishedPassive({ maxRetries: 3 }, { mss: 1000 });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, window: 0 }));
    p.sock.send(Buffer.from('0123456789'));
    expect(drain(p.sock, p.now)).to.deep.equal([]);
    const gaps: number[] = [];
    let last = p.now;
    for (let i = 0; i < 6; i++) {
      const at = p.sock.pollAt();
      const probes = drain(p.sock, at);
      expect(probes).to.have.length(1);
      expect(probes[0].seq).to.equal(p.ourNxt);
      expect(probes[0].payload.toString()).to.equal('0');
      gaps.push(at - last);
      last = at;
      // The peer is alive but still full: it drops the byte and repeats window 0.
      p.sock.process(at + 1, seg({ seq: p.peerNxt, ack: p.ourNxt, window: 0 }));
    }
    expect(gaps).to.deep.equal([200, 400, 800, 1600, 3200, 6400]);
    expect(p.sock.state).to.equal(TcpState.ESTABLISHED);
  });

  it('arms the persist timer for an owner that dispatches only when pollAt() says so', () => {
    const p = establishedPassive({}, { mss: 1000 });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, window: 0 }));
    expect(p.sock.pollAt()).to.equal(Infinity);
    p.sock.send(Buffer.from('queued while the peer is full'));
    let now = p.now;
    const probes: number[] = [];
    for (let i = 0; i < 20 && probes.length < 2; i++) {
      now = Math.max(now, p.sock.pollAt());
      expect(now).to.be.below(Infinity);
      for (const s of drain(p.sock, now)) probes.push(s.payload.length);
    }
    expect(probes).to.deep.equal([1, 1]);
  });

  it('resumes at once when a window update opens the window', () => {
    const p = establishedPassive({}, { mss: 1000 });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, window: 0 }));
    p.sock.send(Buffer.alloc(3000));
    drain(p.sock, p.now);
    p.sock.process(p.now + 50, seg({ seq: p.peerNxt, ack: p.ourNxt, window: 2000 }));
    const out = drain(p.sock, p.now + 50);
    expect(out.reduce((n, s) => n + s.payload.length, 0)).to.equal(2000);
  });

  it('recovers when the window update is lost: the probe is accepted and data flows', () => {
    const p = establishedPassive({}, { mss: 1000 });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, window: 0 }));
    p.sock.send(Buffer.alloc(3000, 1));
    drain(p.sock, p.now);
    const at = p.sock.pollAt();
    const [probe] = drain(p.sock, at);
    // The peer's window opened meanwhile (its update was lost); it takes the probe byte.
    p.sock.process(at + 5, seg({ seq: p.peerNxt, ack: add(probe.seq, 1), window: 60000 }));
    const out = drain(p.sock, at + 5);
    expect(out[0].seq).to.equal(add(p.ourNxt, 1));
    expect(out.reduce((n, s) => n + s.payload.length, 0)).to.equal(2999);
  });
});

describe('TCP window scaling (RFC 7323 §2)', () => {
  it('scales the peer window by its shift once both sides offered scaling', () => {
    const p = establishedPassive({ sndBuf: 1 << 20 }, { mss: 1000, windowScale: 4 });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, window: 500 }));
    expect(p.sock.peerWindow).to.equal(8000);
    p.sock.send(Buffer.alloc(100_000));
    expect(drain(p.sock, p.now).reduce((n, s) => n + s.payload.length, 0)).to.equal(8000);
  });

  it('advertises our window right-shifted by our shift', () => {
    const p = establishedPassive({ rcvBuf: 1 << 20 }, { mss: 1000, windowScale: 0 });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.alloc(1) }));
    const [ack] = drain(p.sock, p.now + 40);
    // Shift 5 for 1 MiB; the window is rcvBuf - 1 unread byte, rounded up to the scale unit.
    expect(ack.window).to.equal(Math.ceil(((1 << 20) - 1) / 32));
  });

  it('does not scale when the peer did not offer it', () => {
    const p = establishedPassive({ rcvBuf: 1 << 20 }, { mss: 1000 });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, window: 300 }));
    expect(p.sock.peerWindow).to.equal(300);
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.alloc(1) }));
    expect(drain(p.sock, p.now + 40)[0].window).to.equal(65535);
  });
});

describe('TCP timestamps (RFC 7323 §3, §4, §5)', () => {
  const ts = (tsVal: number, tsEcr: number) => ({ timestamps: { tsVal, tsEcr } });

  it('echoes the most recent peer TSval and stamps our own clock', () => {
    const p = establishedPassive({}, { mss: 1000, ...ts(500, 0) });
    p.sock.process(p.now + 3, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.alloc(10), options: ts(777, 0) }));
    const [ack] = drain(p.sock, p.now + 43);
    expect(ack.options.timestamps).to.deep.equal({ tsVal: p.now + 43, tsEcr: 777 });
  });

  it('measures RTT from the echoed timestamp, even for retransmitted data', () => {
    const p = establishedPassive({ minRtoMs: 1 }, { mss: 1000, ...ts(500, 0) });
    p.sock.send(Buffer.alloc(100));
    const [data] = drain(p.sock, p.now);
    const at = p.sock.pollAt();
    const [rtx] = drain(p.sock, at);
    expect(rtx.options.timestamps!.tsVal).to.equal(at);
    // The ACK echoes the retransmission's TSval: a valid 30 ms sample (no Karn
    // ambiguity), so the backoff is cleared: SRTT 12.5, RTTVAR 8.75 -> 47.5 ms.
    p.sock.process(at + 30, seg({ seq: p.peerNxt, ack: add(data.seq, 100), options: ts(600, at) }));
    expect(p.sock.rto).to.equal(47.5);
  });

  it('drops a segment whose TSval is older than TS.Recent (PAWS) and acks', () => {
    const p = establishedPassive({}, { mss: 1000, ...ts(500, 0) });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.from('new'), options: ts(1000, 0) }));
    drain(p.sock, p.now + 40);
    p.sock.process(p.now + 50, seg({ seq: add(p.peerNxt, 3), ack: p.ourNxt, payload: Buffer.from('old'), options: ts(900, 0) }));
    expect(readAll(p.sock).toString()).to.equal('new');
    const [ack] = drain(p.sock, p.now + 50);
    expect(ack.ack).to.equal(add(p.peerNxt, 3));
    expect(p.sock.stats.dropped).to.be.greaterThan(0);
  });

  it('accepts TSvals that wrap past 2^32', () => {
    const p = establishedPassive({}, { mss: 1000, ...ts(0xfffffff0, 0) });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.from('wrap'), options: ts(5, 0) }));
    expect(readAll(p.sock).toString()).to.equal('wrap');
  });
});
