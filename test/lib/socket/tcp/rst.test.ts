import { expect } from 'chai';
import { Counters } from '../../../../src/lib/counters.js';
import { TcpState } from '../../../../src/lib/socket/tcp/index.js';
import { F, add, drain, establishedPassive, readAll, seg } from './harness.js';

describe('TCP RST processing (RFC 5961 §3)', () => {
  it('resets on an RST with exactly RCV.NXT and calls onReset', () => {
    const p = establishedPassive();
    let resets = 0;
    let closed = 0;
    p.sock.onReset = () => resets++;
    p.sock.onClosed = () => closed++;
    p.sock.process(p.now, seg({ seq: p.peerNxt, flags: F.RST }));
    expect(p.sock.state).to.equal(TcpState.CLOSED);
    expect(p.sock.closeReason).to.equal('reset');
    expect([resets, closed]).to.deep.equal([1, 1]);
    expect(drain(p.sock, p.now)).to.deep.equal([]);
  });

  it('answers an in-window RST that is not exact with a challenge ACK and stays up', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: add(p.peerNxt, 1000), flags: F.RST }));
    expect(p.sock.state).to.equal(TcpState.ESTABLISHED);
    const [ack] = drain(p.sock, p.now);
    expect(ack.flags).to.equal(F.ACK);
    expect(ack.seq).to.equal(p.ourNxt);
    expect(ack.ack).to.equal(p.peerNxt);
    expect(p.sock.stats.challengeAcks).to.equal(1);
  });

  it('silently drops an RST outside the window (blind reset fails)', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: add(p.peerNxt, 0x40000000), flags: F.RST }));
    p.sock.process(p.now, seg({ seq: add(p.peerNxt, -1), flags: F.RST }));
    expect(p.sock.state).to.equal(TcpState.ESTABLISHED);
    expect(drain(p.sock, p.now)).to.deep.equal([]);
  });

  it('rate-limits challenge ACKs per second (RFC 5961 §7)', () => {
    const counters = new Counters();
    const p = establishedPassive({ challengeAckLimit: 3, counters });
    let acks = 0;
    for (let i = 0; i < 10; i++) {
      p.sock.process(p.now + i, seg({ seq: add(p.peerNxt, 100 + i), flags: F.RST }));
      acks += drain(p.sock, p.now + i).length;
    }
    expect(acks).to.equal(3);
    expect(counters.get('drop.tcp_challenge_ack_limited')).to.equal(7);
    p.sock.process(p.now + 1000, seg({ seq: add(p.peerNxt, 100), flags: F.RST }));
    expect(drain(p.sock, p.now + 1000)).to.have.length(1);
  });

  it('closes quietly on an exact RST in LAST-ACK without onReset', () => {
    const p = establishedPassive();
    let resets = 0;
    p.sock.onReset = () => resets++;
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, flags: F.FIN | F.ACK }));
    p.sock.shutdownWrite();
    drain(p.sock, p.now);
    p.sock.process(p.now + 1, seg({ seq: add(p.peerNxt, 1), flags: F.RST }));
    expect(p.sock.state).to.equal(TcpState.CLOSED);
    expect(resets).to.equal(0);
  });
});

describe('TCP SYN in a synchronized state (RFC 5961 §4)', () => {
  it('answers any SYN with a challenge ACK and keeps the connection', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: add(p.peerNxt, 5), flags: F.SYN }));
    expect(p.sock.state).to.equal(TcpState.ESTABLISHED);
    const [ack] = drain(p.sock, p.now);
    expect(ack.flags).to.equal(F.ACK);
    expect(ack.ack).to.equal(p.peerNxt);
    expect(p.sock.stats.challengeAcks).to.equal(1);
  });
});

describe('TCP ACK acceptability (RFC 5961 §5, RFC 9293 §3.10.7.4)', () => {
  it('drops a segment acknowledging data never sent, and challenges it', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 5000), payload: Buffer.from('injected') }));
    expect(readAll(p.sock).length).to.equal(0);
    expect(p.sock.seqState.sndUna).to.equal(p.ourNxt);
    const [ack] = drain(p.sock, p.now);
    expect(ack.ack).to.equal(p.peerNxt);
  });

  it('drops a segment whose ACK is older than SND.UNA - MAX.SND.WND', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: add(p.ourNxt, -200000), payload: Buffer.from('injected') }));
    expect(readAll(p.sock).length).to.equal(0);
    expect(p.sock.stats.challengeAcks).to.equal(1);
  });

  it('still accepts data with an old but plausible ACK', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: add(p.ourNxt, -10), payload: Buffer.from('fine') }));
    expect(readAll(p.sock).toString()).to.equal('fine');
  });

  it('acks and drops data outside the receive window', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: add(p.peerNxt, 1 << 20), ack: p.ourNxt, payload: Buffer.from('far') }));
    const [ack] = drain(p.sock, p.now);
    expect(ack.ack).to.equal(p.peerNxt);
    expect(p.sock.readableBytes).to.equal(0);
    expect(p.sock.stats.challengeAcks).to.equal(0);
  });

  it('drops a segment without ACK in a synchronized state', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: p.peerNxt, flags: 0, payload: Buffer.from('x') }));
    expect(p.sock.readableBytes).to.equal(0);
  });

  it('survives random garbage segments without throwing', () => {
    const p = establishedPassive({ counters: new Counters() });
    let x = 12345;
    const r = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 5000; i++) {
      p.sock.process(p.now + i, seg({ seq: r(), ack: r(), flags: r() & 0xff, window: r() & 0xffff, payload: Buffer.alloc(r() % 50) }));
      drain(p.sock, p.now + i);
    }
    expect(p.sock.stats.segmentsIn).to.equal(5001); // plus the handshake ACK
    expect(Object.values(TcpState)).to.include(p.sock.state);
    expect(Number.isNaN(p.sock.pollAt())).to.equal(false);
  });
});
