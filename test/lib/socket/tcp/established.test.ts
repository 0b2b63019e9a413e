import { expect } from 'chai';
import { Counters } from '../../../../src/lib/counters.js';
import { TcpState } from '../../../../src/lib/socket/tcp/index.js';
import { F, OUR_ISS, add, drain, establishedPassive, has, pattern, readAll, seg } from './harness.js';

describe('TCP ESTABLISHED: receiving', () => {
  it('copies in-order data out of the frame and signals onReadable', () => {
    const p = establishedPassive();
    let readable = 0;
    p.sock.onReadable = () => readable++;
    const frame = Buffer.from('hello world');
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: frame }));
    frame.fill(0); // the caller reuses its frame buffer
    expect(readable).to.equal(1);
    expect(readAll(p.sock).toString()).to.equal('hello world');
    expect(p.sock.read()).to.equal(null);
  });

  it('delays the ACK of a single segment, at most delayedAckMs (RFC 9293 §3.8.6.3)', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.alloc(100) }));
    expect(drain(p.sock, p.now)).to.deep.equal([]);
    expect(p.sock.pollAt()).to.equal(p.now + 40);
    const [ack] = drain(p.sock, p.now + 40);
    expect(ack.ack).to.equal(add(p.peerNxt, 100));
  });

  it('acknowledges every second full-sized segment at once', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.alloc(1460) }));
    expect(drain(p.sock, p.now)).to.deep.equal([]);
    p.sock.process(p.now, seg({ seq: add(p.peerNxt, 1460), ack: p.ourNxt, payload: Buffer.alloc(1460) }));
    const out = drain(p.sock, p.now);
    expect(out).to.have.length(1);
    expect(out[0].ack).to.equal(add(p.peerNxt, 2920));
  });

  it('keeps out-of-order segments, acks at once, and reassembles when the hole fills', () => {
    const p = establishedPassive({}, { mss: 1460, sackPermitted: true });
    const data = pattern(3000, 9);
    let readable = 0;
    p.sock.onReadable = () => readable++;
    p.sock.process(p.now, seg({ seq: add(p.peerNxt, 2000), ack: p.ourNxt, payload: data.subarray(2000) }));
    p.sock.process(p.now, seg({ seq: add(p.peerNxt, 1000), ack: p.ourNxt, payload: data.subarray(1000, 2000) }));
    const dup = drain(p.sock, p.now);
    expect(dup).to.have.length(1);
    expect(dup[0].ack).to.equal(p.peerNxt);
    // RFC 2018 §4: the block holding the most recent segment first.
    expect(dup[0].options.sack).to.deep.equal([[add(p.peerNxt, 1000), add(p.peerNxt, 3000)]]);
    expect(readable).to.equal(0);
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: data.subarray(0, 1000) }));
    const [ack] = drain(p.sock, p.now);
    expect(ack.ack).to.equal(add(p.peerNxt, 3000));
    expect(ack.options.sack).to.equal(undefined);
    expect(readAll(p.sock).equals(data)).to.equal(true);
  });

  it('bounds the out-of-order queue against floods of tiny segments (dropped and counted)', () => {
    const counters = new Counters();
    const p = establishedPassive({ rcvBuf: 8192, counters });
    // Every other byte of the window as its own segment: far more entries than the bound.
    for (let i = 1; i < 8192; i += 2) {
      p.sock.process(p.now, seg({ seq: add(p.peerNxt, i), ack: p.ourNxt, payload: Buffer.from([i & 255]) }));
    }
    expect(counters.get('drop.tcp_ooo_queue_full')).to.be.greaterThan(0);
    // The stream is still intact: the sender fills the window in order.
    const data = pattern(8192, 5);
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: data }));
    expect(readAll(p.sock).equals(data)).to.equal(true);
  });

  it('trims overlapping retransmissions so each byte is delivered once', () => {
    const p = establishedPassive();
    const data = pattern(300, 3);
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: data.subarray(0, 200) }));
    p.sock.process(p.now, seg({ seq: add(p.peerNxt, 100), ack: p.ourNxt, payload: data.subarray(100, 300) }));
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: data.subarray(0, 300) }));
    expect(readAll(p.sock).equals(data)).to.equal(true);
  });

  it('shrinks the advertised window as unread data piles up, to zero', () => {
    const p = establishedPassive({ rcvBuf: 4000 });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.alloc(1460) }));
    p.sock.process(p.now, seg({ seq: add(p.peerNxt, 1460), ack: p.ourNxt, payload: Buffer.alloc(1460) }));
    expect(drain(p.sock, p.now)[0].window).to.equal(4000 - 2920);
    p.sock.process(p.now, seg({ seq: add(p.peerNxt, 2920), ack: p.ourNxt, payload: Buffer.alloc(1080) }));
    const [ack] = drain(p.sock, p.now + 40);
    expect(ack.window).to.equal(0);
    // Data beyond a zero window is not taken.
    p.sock.process(p.now + 50, seg({ seq: add(p.peerNxt, 4000), ack: p.ourNxt, payload: Buffer.alloc(10) }));
    expect(p.sock.readableBytes).to.equal(4000);
  });

  it('sends a window update when the application reads a closed window open (RFC 9293 §3.8.6.2.2)', () => {
    const p = establishedPassive({ rcvBuf: 4000 });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.alloc(4000) }));
    expect(drain(p.sock, p.now)[0].window).to.equal(0);
    expect(readAll(p.sock).length).to.equal(4000);
    const [update] = drain(p.sock, p.now);
    expect(update.window).to.equal(4000);
    expect(update.ack).to.equal(add(p.peerNxt, 4000));
  });

  it('sends a window update when reading opens a small, non-zero window the peer is stuck behind', () => {
    const p = establishedPassive({ rcvBuf: 10000, mss: 1460 });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.alloc(8000) }));
    const acks = drain(p.sock, p.now + 500);
    expect(acks.at(-1)!.window).to.equal(2000);
    // 2000 bytes left is under one sender MSS at 1460 + SWS: without an update it waits for its probe timer.
    expect(readAll(p.sock).length).to.equal(8000);
    const [update] = drain(p.sock, p.now + 500);
    expect(update?.window).to.equal(10000);
    expect(update.ack).to.equal(add(p.peerNxt, 8000));
  });

  it('reading a short request inside a wide-open window sends no update: the reply carries the ACK', () => {
    const p = establishedPassive({ rcvBuf: 10000, mss: 1460 });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.alloc(100), flags: F.ACK | F.PSH }));
    expect(readAll(p.sock).length).to.equal(100);
    expect(drain(p.sock, p.now)).to.deep.equal([]);
  });

  it('does not advertise a small window increase (receiver SWS avoidance)', () => {
    const p = establishedPassive({ rcvBuf: 10000, mss: 1460 });
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.alloc(10000) }));
    expect(drain(p.sock, p.now)[0].window).to.equal(0);
    // Reading 500 bytes would open the window by less than one MSS: no update, still 0.
    p.sock.process(p.now, seg({ seq: add(p.peerNxt, 10000), ack: p.ourNxt, payload: Buffer.alloc(0) }));
    const chunk = p.sock.read()!;
    expect(chunk.length).to.equal(10000);
    const [ack] = drain(p.sock, p.now);
    expect(ack.window).to.equal(10000);
  });
});

describe('TCP ESTABLISHED: sending', () => {
  it('segments queued data by the effective MSS with PSH on the last segment', () => {
    const p = establishedPassive({}, { mss: 1000 });
    const data = pattern(2500, 1);
    expect(p.sock.send(data)).to.equal(true);
    const out = drain(p.sock, p.now);
    expect(out.map((s) => s.payload.length)).to.deep.equal([1000, 1000, 500]);
    expect(out.map((s) => s.seq)).to.deep.equal([p.ourNxt, add(p.ourNxt, 1000), add(p.ourNxt, 2000)]);
    expect(has(out[2], F.PSH)).to.equal(true);
    expect(Buffer.concat(out.map((s) => s.payload)).equals(data)).to.equal(true);
  });

  it('sends payloads as views into the queued chunk, not copies', () => {
    const p = establishedPassive();
    const data = Buffer.alloc(1000, 1);
    p.sock.send(data);
    let same = false;
    p.sock.dispatch(p.now, (s) => (same = s.payload.buffer === data.buffer));
    expect(same).to.equal(true);
  });

  it('reuses one TcpRepr (and options object) for every emitted segment', () => {
    const p = establishedPassive({}, { mss: 1000 });
    p.sock.send(Buffer.alloc(5000));
    const seen = new Set<object>();
    const opts = new Set<object>();
    p.sock.dispatch(p.now, (s) => {
      seen.add(s);
      opts.add(s.options);
    });
    p.sock.process(p.now + 5, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 5000), payload: Buffer.from('x') }));
    p.sock.dispatch(p.now + 50, (s) => {
      seen.add(s);
      opts.add(s.options);
    });
    expect([seen.size, opts.size]).to.deep.equal([1, 1]);
  });

  it('starts with an initial window of 10 segments (RFC 6928)', () => {
    const p = establishedPassive({ sndBuf: 1 << 20 }, { mss: 1460 });
    p.sock.send(Buffer.alloc(100_000));
    const out = drain(p.sock, p.now);
    expect(out.reduce((n, s) => n + s.payload.length, 0)).to.equal(14600);
  });

  it('respects the peer window and avoids a silly small segment (RFC 9293 §3.8.6.2.1)', () => {
    const p = establishedPassive({}, { mss: 1460 }, 3000);
    p.sock.send(Buffer.alloc(10_000));
    const out = drain(p.sock, p.now);
    // 80 bytes of window remain, less than half the largest window: wait for the ACK.
    expect(out.reduce((n, s) => n + s.payload.length, 0)).to.equal(2920);
    p.sock.process(p.now + 5, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 2920), window: 3000 }));
    const more = drain(p.sock, p.now + 5);
    expect(more.reduce((n, s) => n + s.payload.length, 0)).to.equal(2920);
  });

  it('grows cwnd by slow start per ACK (RFC 5681 §3.1)', () => {
    const p = establishedPassive({ sndBuf: 1 << 20 }, { mss: 1460 });
    p.sock.send(Buffer.alloc(100_000));
    drain(p.sock, p.now);
    const before = p.sock.cwnd;
    p.sock.process(p.now + 20, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 2920) }));
    expect(p.sock.cwnd).to.equal(before + 1460);
    expect(drain(p.sock, p.now + 20).reduce((n, s) => n + s.payload.length, 0)).to.equal(2920 + 1460);
  });

  it('applies backpressure: send() returns false at sndBuf, onSendSpace below half', () => {
    const p = establishedPassive({ sndBuf: 8000 });
    let space = 0;
    p.sock.onSendSpace = () => space++;
    expect(p.sock.send(Buffer.alloc(5000))).to.equal(true);
    expect(p.sock.send(Buffer.alloc(3000))).to.equal(false);
    drain(p.sock, p.now);
    p.sock.process(p.now + 10, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 3000) }));
    expect(space).to.equal(0); // 5000 queued: not below half yet
    p.sock.process(p.now + 10, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 4001) }));
    expect(space).to.equal(1);
    expect(p.sock.queuedBytes).to.equal(3999);
  });

  it('stops the retransmission timer once everything is acknowledged (RFC 6298 §5.2)', () => {
    const p = establishedPassive();
    p.sock.send(Buffer.alloc(100));
    drain(p.sock, p.now);
    expect(p.sock.pollAt()).to.equal(p.now + p.sock.rto);
    p.sock.process(p.now + 5, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 100) }));
    expect(p.sock.pollAt()).to.equal(Infinity);
    expect(p.sock.seqState.sndUna).to.equal(add(OUR_ISS, 101));
  });

  it('measures RTT from a timed segment and lowers the RTO (RFC 6298 §2)', () => {
    const p = establishedPassive({ minRtoMs: 1 });
    p.sock.send(Buffer.alloc(100));
    drain(p.sock, p.now);
    p.sock.process(p.now + 50, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 100) }));
    // Samples of 10 ms (handshake) and 50 ms: SRTT = 15, RTTVAR = 13.75, RTO = 15 + 4 * 13.75.
    expect(p.sock.rto).to.equal(70);
  });

  it('piggybacks the ACK of received data on outgoing data', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.from('ping') }));
    p.sock.send(Buffer.from('pong'));
    const out = drain(p.sock, p.now);
    expect(out).to.have.length(1);
    expect(out[0].ack).to.equal(add(p.peerNxt, 4));
    expect(out[0].payload.toString()).to.equal('pong');
    expect(p.sock.pollAt()).to.equal(p.now + p.sock.rto); // only the retransmission timer, no delayed ACK
  });

  it('keeps both directions open: the state stays ESTABLISHED', () => {
    const p = establishedPassive();
    expect(p.sock.state).to.equal(TcpState.ESTABLISHED);
  });
});
