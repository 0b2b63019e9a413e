import { expect } from 'chai';
import { TcpState } from '../../../../src/lib/socket/tcp/index.js';
import { F, add, drain, establishedPassive, has, readAll, seg } from './harness.js';

describe('TCP FIN-WAIT-1 and FIN-WAIT-2 (we close first)', () => {
  it('sends FIN after queued data and enters FIN-WAIT-1', () => {
    const p = establishedPassive();
    p.sock.send(Buffer.from('bye'));
    p.sock.shutdownWrite();
    expect(p.sock.state).to.equal(TcpState.FIN_WAIT_1);
    const out = drain(p.sock, p.now);
    expect(out).to.have.length(1);
    expect(has(out[0], F.FIN | F.ACK)).to.equal(true);
    expect(out[0].payload.toString()).to.equal('bye');
    expect(p.sock.send(Buffer.from('more'))).to.equal(false);
  });

  it('moves to FIN-WAIT-2 when the FIN is acknowledged, still receiving (half-close)', () => {
    const p = establishedPassive();
    p.sock.shutdownWrite();
    drain(p.sock, p.now);
    p.sock.process(p.now + 5, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 1) }));
    expect(p.sock.state).to.equal(TcpState.FIN_WAIT_2);
    p.sock.process(p.now + 6, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 1), payload: Buffer.from('still talking') }));
    expect(readAll(p.sock).toString()).to.equal('still talking');
    expect(p.sock.pollAt()).to.equal(p.now + 6 + 40);
  });

  it('enters TIME-WAIT on the peer FIN and closes after 2*MSL (RFC 9293 §3.4.2)', () => {
    const p = establishedPassive({ timeWaitMs: 5000 });
    let closed = 0;
    let fin = 0;
    p.sock.onClosed = () => closed++;
    p.sock.onPeerFin = () => fin++;
    p.sock.shutdownWrite();
    drain(p.sock, p.now);
    p.sock.process(p.now + 5, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 1) }));
    p.sock.process(p.now + 10, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 1), flags: F.FIN | F.ACK }));
    expect(p.sock.state).to.equal(TcpState.TIME_WAIT);
    expect(fin).to.equal(1);
    const [ack] = drain(p.sock, p.now + 10);
    expect(ack.ack).to.equal(add(p.peerNxt, 1));
    expect(p.sock.pollAt()).to.equal(p.now + 10 + 5000);
    drain(p.sock, p.now + 5009);
    expect(p.sock.state).to.equal(TcpState.TIME_WAIT);
    drain(p.sock, p.now + 5010);
    expect(p.sock.state).to.equal(TcpState.CLOSED);
    expect(p.sock.closeReason).to.equal('normal');
    expect(closed).to.equal(1);
  });

  it('re-acknowledges a retransmitted FIN in TIME-WAIT and restarts the timer', () => {
    const p = establishedPassive({ timeWaitMs: 5000 });
    p.sock.shutdownWrite();
    drain(p.sock, p.now);
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 1), flags: F.FIN | F.ACK }));
    expect(p.sock.state).to.equal(TcpState.TIME_WAIT);
    drain(p.sock, p.now);
    p.sock.process(p.now + 3000, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 1), flags: F.FIN | F.ACK }));
    const [ack] = drain(p.sock, p.now + 3000);
    expect(ack.ack).to.equal(add(p.peerNxt, 1));
    expect(p.sock.pollAt()).to.equal(p.now + 8000);
  });

  it('goes FIN-WAIT-1 -> TIME-WAIT when FIN and ACK of our FIN arrive together', () => {
    const p = establishedPassive();
    p.sock.shutdownWrite();
    drain(p.sock, p.now);
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: add(p.ourNxt, 1), flags: F.FIN | F.ACK }));
    expect(p.sock.state).to.equal(TcpState.TIME_WAIT);
  });

  it('retransmits an unacknowledged FIN', () => {
    const p = establishedPassive();
    p.sock.shutdownWrite();
    drain(p.sock, p.now);
    const again = drain(p.sock, p.sock.pollAt());
    expect(again).to.have.length(1);
    expect(has(again[0], F.FIN)).to.equal(true);
    expect(again[0].seq).to.equal(p.ourNxt);
  });
});

describe('TCP CLOSING (simultaneous close)', () => {
  it('goes FIN-WAIT-1 -> CLOSING -> TIME-WAIT', () => {
    const p = establishedPassive();
    p.sock.shutdownWrite();
    drain(p.sock, p.now);
    // The peer's FIN crosses ours: it does not acknowledge our FIN yet.
    p.sock.process(p.now + 1, seg({ seq: p.peerNxt, ack: p.ourNxt, flags: F.FIN | F.ACK }));
    expect(p.sock.state).to.equal(TcpState.CLOSING);
    const [ack] = drain(p.sock, p.now + 1);
    expect(ack.ack).to.equal(add(p.peerNxt, 1));
    p.sock.process(p.now + 2, seg({ seq: add(p.peerNxt, 1), ack: add(p.ourNxt, 1) }));
    expect(p.sock.state).to.equal(TcpState.TIME_WAIT);
  });
});

describe('TCP CLOSE-WAIT and LAST-ACK (the peer closes first)', () => {
  it('enters CLOSE-WAIT on the peer FIN, acks it, and reports onPeerFin', () => {
    const p = establishedPassive();
    let fin = 0;
    p.sock.onPeerFin = () => fin++;
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, flags: F.FIN | F.ACK, payload: Buffer.from('last') }));
    expect(p.sock.state).to.equal(TcpState.CLOSE_WAIT);
    expect(fin).to.equal(1);
    expect(readAll(p.sock).toString()).to.equal('last');
    // The ACK is delayed (Linux tcp_fin pingpong), never beyond the delayed-ACK time.
    expect(drain(p.sock, p.now)).to.have.length(0);
    const [ack] = drain(p.sock, p.now + 40);
    expect(ack.ack).to.equal(add(p.peerNxt, 5));
  });

  it('acknowledges the peer FIN with its own FIN when it closes right after: one segment', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, flags: F.FIN | F.ACK }));
    p.sock.shutdownWrite();
    const out = drain(p.sock, p.now);
    expect(out).to.have.length(1);
    expect(out[0].flags & (F.FIN | F.ACK)).to.equal(F.FIN | F.ACK);
    expect(out[0].ack).to.equal(add(p.peerNxt, 1));
  });

  it('keeps sending in CLOSE-WAIT (half-close the other way)', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, flags: F.FIN | F.ACK }));
    drain(p.sock, p.now);
    expect(p.sock.send(Buffer.from('response'))).to.equal(true);
    const [data] = drain(p.sock, p.now);
    expect(data.payload.toString()).to.equal('response');
  });

  it('goes CLOSE-WAIT -> LAST-ACK -> CLOSED', () => {
    const p = establishedPassive();
    let closed = 0;
    p.sock.onClosed = () => closed++;
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, flags: F.FIN | F.ACK }));
    drain(p.sock, p.now);
    p.sock.shutdownWrite();
    expect(p.sock.state).to.equal(TcpState.LAST_ACK);
    const [fin] = drain(p.sock, p.now);
    expect(has(fin, F.FIN)).to.equal(true);
    p.sock.process(p.now + 5, seg({ seq: add(p.peerNxt, 1), ack: add(p.ourNxt, 1) }));
    expect(p.sock.state).to.equal(TcpState.CLOSED);
    expect(closed).to.equal(1);
    expect(p.sock.pollAt()).to.equal(Infinity);
  });

  it('holds a FIN that arrives out of order until the data before it is in', () => {
    const p = establishedPassive();
    p.sock.process(p.now, seg({ seq: add(p.peerNxt, 5), ack: p.ourNxt, flags: F.FIN | F.ACK, payload: Buffer.from('world') }));
    expect(p.sock.state).to.equal(TcpState.ESTABLISHED);
    p.sock.process(p.now, seg({ seq: p.peerNxt, ack: p.ourNxt, payload: Buffer.from('hello') }));
    expect(p.sock.state).to.equal(TcpState.CLOSE_WAIT);
    expect(readAll(p.sock).toString()).to.equal('helloworld');
    const [ack] = drain(p.sock, p.now);
    expect(ack.ack).to.equal(add(p.peerNxt, 11));
  });
});

describe('TCP ABORT (RFC 9293 §3.10.5)', () => {
  it('sends <SEQ=SND.NXT><CTL=RST> and closes without onReset', () => {
    const p = establishedPassive();
    let resets = 0;
    let closed = 0;
    p.sock.onReset = () => resets++;
    p.sock.onClosed = () => closed++;
    p.sock.send(Buffer.alloc(10));
    drain(p.sock, p.now);
    p.sock.abort();
    expect(p.sock.state).to.equal(TcpState.CLOSED);
    const [rst] = drain(p.sock, p.now);
    expect(rst.flags).to.equal(F.RST);
    expect(rst.seq).to.equal(add(p.ourNxt, 10));
    expect([resets, closed]).to.deep.equal([0, 1]);
    expect(p.sock.closeReason).to.equal('aborted');
  });

  it('fires onClosed only once the RST has been dispatched', () => {
    const p = establishedPassive();
    let closed = 0;
    p.sock.onClosed = () => closed++;
    p.sock.abort();
    expect(closed).to.equal(0);
    expect(p.sock.pollAt()).to.be.at.most(p.now);
    const out = drain(p.sock, p.now);
    expect(out.map((s) => s.flags)).to.deep.equal([F.RST]);
    expect(closed).to.equal(1);
    expect(drain(p.sock, p.now + 10_000)).to.deep.equal([]);
  });
});
