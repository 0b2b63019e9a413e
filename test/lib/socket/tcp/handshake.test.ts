import { expect } from 'chai';
import { TcpSocket, TcpState, rstForUnexpected } from '../../../../src/lib/socket/tcp/index.js';
import { F, LOCAL, OUR_ISS, PEER_ISS, REMOTE, add, config, drain, has, seg } from './harness.js';
import { resolveConfig } from '../../../../src/lib/socket/tcp/types.js';

const synFromPeer = (opts = {}) => seg({ seq: PEER_ISS, flags: F.SYN, options: { mss: 1400, ...opts } });

describe('TCP LISTEN (a held guest SYN)', () => {
  it('holds the SYN without sending anything until accept()', () => {
    const sock = TcpSocket.fromSyn(0, LOCAL, REMOTE, synFromPeer(), config());
    expect(sock.state).to.equal(TcpState.LISTEN);
    expect(drain(sock, 0)).to.deep.equal([]);
    expect(sock.pollAt()).to.equal(Infinity);
  });

  it('absorbs a duplicate SYN while the NAT is still connecting', () => {
    const sock = TcpSocket.fromSyn(0, LOCAL, REMOTE, synFromPeer(), config());
    sock.process(500, synFromPeer());
    expect(sock.state).to.equal(TcpState.LISTEN);
    expect(drain(sock, 500)).to.deep.equal([]);
    sock.accept(600);
    const [synAck] = drain(sock, 600);
    expect(synAck.ack).to.equal(add(PEER_ISS, 1));
  });

  it('refuse() yields <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK> and closes (RFC 9293 §3.10.7.1)', () => {
    const sock = TcpSocket.fromSyn(0, LOCAL, REMOTE, synFromPeer(), config());
    let closed = 0;
    sock.onClosed = () => closed++;
    const rst = sock.refuse();
    expect(rst.flags).to.equal(F.RST | F.ACK);
    expect(rst.seq).to.equal(0);
    expect(rst.ack).to.equal(add(PEER_ISS, 1));
    expect([rst.srcPort, rst.dstPort]).to.deep.equal([LOCAL.port, REMOTE.port]);
    expect(sock.state).to.equal(TcpState.CLOSED);
    expect(closed).to.equal(1);
  });
});

describe('TCP SYN-RECEIVED', () => {
  it('sends SYN-ACK with our MSS and only the options the SYN offered', () => {
    const sock = TcpSocket.fromSyn(0, LOCAL, REMOTE, synFromPeer(), config({ rcvBuf: 1 << 20 }));
    sock.accept(0);
    expect(sock.state).to.equal(TcpState.SYN_RECEIVED);
    const [synAck] = drain(sock, 0);
    expect(has(synAck, F.SYN | F.ACK)).to.equal(true);
    expect(synAck.seq).to.equal(OUR_ISS);
    expect(synAck.options.mss).to.equal(1460);
    expect(synAck.options.windowScale).to.equal(undefined);
    expect(synAck.options.timestamps).to.equal(undefined);
    expect(synAck.options.sackPermitted).to.equal(undefined);
    expect(synAck.window).to.equal(65535);
  });

  it('offers window scaling, SACK and timestamps back when the SYN had them', () => {
    const sock = TcpSocket.fromSyn(0, LOCAL, REMOTE, synFromPeer({ windowScale: 7, sackPermitted: true, timestamps: { tsVal: 99, tsEcr: 0 } }), config({ rcvBuf: 1 << 20 }));
    sock.accept(0);
    const [synAck] = drain(sock, 0);
    expect(synAck.options.windowScale).to.equal(5); // 2^20 >> 5 fits 16 bits
    expect(synAck.options.sackPermitted).to.equal(true);
    expect(synAck.options.timestamps?.tsEcr).to.equal(99);
  });

  it('enters ESTABLISHED on the ACK of the SYN-ACK and calls onEstablished', () => {
    const sock = TcpSocket.fromSyn(0, LOCAL, REMOTE, synFromPeer(), config());
    let est = 0;
    sock.onEstablished = () => est++;
    sock.accept(0);
    drain(sock, 0);
    sock.process(5, seg({ seq: add(PEER_ISS, 1), ack: add(OUR_ISS, 1) }));
    expect(sock.state).to.equal(TcpState.ESTABLISHED);
    expect(est).to.equal(1);
    expect(sock.pollAt()).to.equal(Infinity);
  });

  it('retransmits the SYN-ACK on timeout and again for a retransmitted SYN', () => {
    const sock = TcpSocket.fromSyn(0, LOCAL, REMOTE, synFromPeer(), config());
    sock.accept(0);
    drain(sock, 0);
    expect(sock.pollAt()).to.equal(1000); // RFC 6298 §2.1 initial RTO
    const again = drain(sock, 1000);
    expect(again).to.have.length(1);
    expect(has(again[0], F.SYN | F.ACK)).to.equal(true);
    sock.process(1100, synFromPeer());
    const third = drain(sock, 1100);
    expect(third).to.have.length(1);
    expect(third[0].seq).to.equal(OUR_ISS);
  });

  it('establishes cleanly when a retransmitted SYN and the ACK of our SYN-ACK arrive in one batch', () => {
    // Both ends time out at 1 s: our second SYN-ACK crosses the peer's second
    // SYN. The SYN rewinds SND.NXT to resend the SYN-ACK; the peer's ACK (with
    // its first data) lands before we dispatch. Once the SYN is acknowledged
    // there is nothing to resend below SND.UNA.
    const sock = TcpSocket.fromSyn(0, LOCAL, REMOTE, synFromPeer(), config());
    let closed = 0;
    sock.onClosed = () => closed++;
    sock.accept(0);
    drain(sock, 0); // the first SYN-ACK, lost
    drain(sock, 1000); // the timeout's SYN-ACK
    sock.process(1010, synFromPeer());
    sock.process(1010, seg({ seq: add(PEER_ISS, 1), ack: add(OUR_ISS, 1), flags: F.ACK | F.PSH, payload: Buffer.from('0123456789abcdef') }));
    expect(sock.state).to.equal(TcpState.ESTABLISHED);
    const out = drain(sock, 1010);
    out.push(...drain(sock, sock.pollAt())); // the delayed ACK of the data
    expect(closed, 'the socket closed').to.equal(0);
    expect(out.every((s) => s.payload.length === 0 && !has(s, F.SYN) && !has(s, F.RST)), 'only ACKs go out').to.equal(true);
    expect(out.some((s) => s.ack === add(PEER_ISS, 17)), 'the data is acknowledged').to.equal(true);
    expect(sock.read()?.toString()).to.equal('0123456789abcdef');
    sock.send(Buffer.from('reply'));
    const [data] = drain(sock, 1020);
    expect(data.seq).to.equal(add(OUR_ISS, 1));
    expect(data.payload.toString()).to.equal('reply');
  });

  it('answers an ACK that does not acknowledge our SYN with <SEQ=SEG.ACK><CTL=RST>', () => {
    const sock = TcpSocket.fromSyn(0, LOCAL, REMOTE, synFromPeer(), config());
    sock.accept(0);
    drain(sock, 0);
    sock.process(5, seg({ seq: add(PEER_ISS, 1), ack: add(OUR_ISS, 77) }));
    expect(sock.state).to.equal(TcpState.SYN_RECEIVED);
    const [rst] = drain(sock, 5);
    expect(rst.flags).to.equal(F.RST);
    expect(rst.seq).to.equal(add(OUR_ISS, 77));
  });

  it('gives up after maxSynRetries and reports a reset', () => {
    const sock = TcpSocket.fromSyn(0, LOCAL, REMOTE, synFromPeer(), config({ maxSynRetries: 2 }));
    let resets = 0;
    sock.onReset = () => resets++;
    sock.accept(0);
    let now = 0;
    let sent = 0;
    while (sock.state !== TcpState.CLOSED && now < 1e6) {
      sent += drain(sock, now).filter((s) => has(s, F.SYN)).length;
      now = sock.pollAt();
    }
    expect(sent).to.equal(3);
    expect(sock.closeReason).to.equal('timeout');
    expect(resets).to.equal(1);
  });
});

describe('TCP SYN-SENT', () => {
  it('sends a SYN offering MSS, window scale, SACK and timestamps', () => {
    const sock = TcpSocket.connect(0, LOCAL, REMOTE, config({ rcvBuf: 256 * 1024 }));
    expect(sock.state).to.equal(TcpState.SYN_SENT);
    const [syn] = drain(sock, 0);
    expect(syn.flags).to.equal(F.SYN);
    expect(syn.seq).to.equal(OUR_ISS);
    // 2^18 >> 2 is 65536, one too many for 16 bits, so the shift is 3 (RFC 7323 §2.3).
    expect(syn.options).to.include({ mss: 1460, windowScale: 3, sackPermitted: true });
    expect(syn.options.timestamps).to.not.equal(undefined);
  });

  it('completes on SYN-ACK, acks it, and calls onEstablished', () => {
    const sock = TcpSocket.connect(0, LOCAL, REMOTE, config());
    let est = 0;
    sock.onEstablished = () => est++;
    drain(sock, 0);
    sock.process(20, seg({ seq: PEER_ISS, ack: add(OUR_ISS, 1), flags: F.SYN | F.ACK, options: { mss: 1000 } }));
    expect(sock.state).to.equal(TcpState.ESTABLISHED);
    expect(est).to.equal(1);
    const [ack] = drain(sock, 20);
    expect(ack.flags).to.equal(F.ACK);
    expect(ack.ack).to.equal(add(PEER_ISS, 1));
    expect(ack.seq).to.equal(add(OUR_ISS, 1));
    expect(sock.sendMss).to.equal(1000);
  });

  it('reports refusal on an RST with an acceptable ACK', () => {
    const sock = TcpSocket.connect(0, LOCAL, REMOTE, config());
    let resets = 0;
    sock.onReset = () => resets++;
    drain(sock, 0);
    sock.process(5, seg({ seq: 0, ack: add(OUR_ISS, 1), flags: F.RST | F.ACK }));
    expect(sock.state).to.equal(TcpState.CLOSED);
    expect(sock.closeReason).to.equal('reset');
    expect(resets).to.equal(1);
  });

  it('ignores an RST whose ACK does not cover our SYN (blind reset)', () => {
    const sock = TcpSocket.connect(0, LOCAL, REMOTE, config());
    drain(sock, 0);
    sock.process(5, seg({ seq: 0, ack: add(OUR_ISS, 9), flags: F.RST | F.ACK }));
    sock.process(5, seg({ seq: 0, ack: 0, flags: F.RST }));
    expect(sock.state).to.equal(TcpState.SYN_SENT);
    expect(drain(sock, 5)).to.deep.equal([]);
  });

  it('resets a SYN-ACK that acknowledges something we never sent', () => {
    const sock = TcpSocket.connect(0, LOCAL, REMOTE, config());
    drain(sock, 0);
    sock.process(5, seg({ seq: PEER_ISS, ack: add(OUR_ISS, 5), flags: F.SYN | F.ACK }));
    expect(sock.state).to.equal(TcpState.SYN_SENT);
    const [rst] = drain(sock, 5);
    expect(rst.flags).to.equal(F.RST);
    expect(rst.seq).to.equal(add(OUR_ISS, 5));
  });

  it('goes through SYN-RECEIVED on a simultaneous open', () => {
    const sock = TcpSocket.connect(0, LOCAL, REMOTE, config());
    drain(sock, 0);
    sock.process(5, seg({ seq: PEER_ISS, flags: F.SYN }));
    expect(sock.state).to.equal(TcpState.SYN_RECEIVED);
    const [synAck] = drain(sock, 5);
    expect(has(synAck, F.SYN | F.ACK)).to.equal(true);
    expect(synAck.seq).to.equal(OUR_ISS);
    sock.process(9, seg({ seq: add(PEER_ISS, 1), ack: add(OUR_ISS, 1) }));
    expect(sock.state).to.equal(TcpState.ESTABLISHED);
  });

  it('backs off SYN retransmissions exponentially (RFC 6298 §5.5)', () => {
    const sock = TcpSocket.connect(0, LOCAL, REMOTE, config());
    const times: number[] = [];
    let now = 0;
    for (let i = 0; i < 4; i++) {
      if (drain(sock, now).length) times.push(now);
      now = sock.pollAt();
    }
    expect(times).to.deep.equal([0, 1000, 3000, 7000]);
  });

  it('queues data and a FIN given before the handshake completes', () => {
    const sock = TcpSocket.connect(0, LOCAL, REMOTE, config());
    drain(sock, 0);
    sock.send(Buffer.from('early'));
    sock.shutdownWrite();
    sock.process(20, seg({ seq: PEER_ISS, ack: add(OUR_ISS, 1), flags: F.SYN | F.ACK }));
    expect(sock.state).to.equal(TcpState.FIN_WAIT_1);
    const out = drain(sock, 20);
    expect(out).to.have.length(1);
    expect(out[0].payload.toString()).to.equal('early');
    expect(has(out[0], F.FIN)).to.equal(true);
  });
});

describe('TCP segments to no connection (RFC 9293 §3.10.7.1)', () => {
  it('answers an ACK-bearing segment with <SEQ=SEG.ACK><CTL=RST>', () => {
    const rst = rstForUnexpected(seg({ seq: 10, ack: 777, flags: F.ACK, payload: Buffer.from('x') }));
    expect(rst).to.include({ seq: 777, flags: F.RST, srcPort: LOCAL.port, dstPort: REMOTE.port });
  });

  it('answers a SYN with <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>', () => {
    const rst = rstForUnexpected(seg({ seq: 0xffffffff, flags: F.SYN, payload: Buffer.from('ab') }));
    expect(rst).to.include({ seq: 0, ack: 2, flags: F.RST | F.ACK });
  });

  it('never answers an RST', () => {
    expect(rstForUnexpected(seg({ flags: F.RST }))).to.equal(null);
    expect(rstForUnexpected(seg({ flags: F.RST | F.ACK }))).to.equal(null);
  });
});

describe('TCP configuration shared by many sockets', () => {
  it('resolves the defaults once per config object, yet gives every connection its own ISS and timestamp offset', () => {
    const shared = { mss: 1460, rcvBuf: 65536, sndBuf: 65536 };
    expect(resolveConfig(shared), 'one resolved object per config').to.equal(resolveConfig(shared));
    const synAcks = [1, 2, 3].map(() => {
      const sock = TcpSocket.fromSyn(0, LOCAL, REMOTE, synFromPeer({ timestamps: { tsVal: 7, tsEcr: 0 } }), shared);
      sock.accept(0);
      return drain(sock, 0)[0];
    });
    const isses = new Set(synAcks.map((s) => s.seq));
    const tsVals = new Set(synAcks.map((s) => s.options.timestamps?.tsVal));
    expect(isses.size, 'RFC 6528: an unpredictable ISS per connection').to.equal(3);
    expect(tsVals.size, 'RFC 7323 §5.4: a TSval offset per connection').to.equal(3);
  });
});
