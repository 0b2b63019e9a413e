/**
 * TcpNat's flow table, driven with guest segments directly (no link): a flow
 * to a gateway service is answered at once, so no host socket is involved.
 * What is checked is that a segment always reaches the flow its 4-tuple
 * names now, also after that 4-tuple's previous flow is gone.
 */
import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { Counters } from '../../../src/lib/counters.js';
import { Interface, type GuestPort } from '../../../src/lib/iface/interface.js';
import { buildStackConfig } from '../../../src/lib/iface/config.js';
import { TcpNat } from '../../../src/lib/nat/tcp.js';
import { Scheduler } from '../../../src/lib/daemon/scheduler.js';
import { parseIpv4, parseMac } from '../../../src/lib/wire/addr.js';
import { EthernetFrame } from '../../../src/lib/wire/ethernet.js';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from '../../../src/lib/wire/ipv4.js';
import { TcpFlags, TcpPacket, parseTcp, type TcpRepr } from '../../../src/lib/wire/tcp.js';

const GUEST = parseIpv4('192.168.65.2')!;
const GATEWAY = parseIpv4('192.168.65.1')!;
const GUEST_PORT = 40000;
const SERVICE_PORT = 7;

class FakePort implements GuestPort {
  readonly id = 'fake:1';
  sent: TcpRepr[] = [];
  send(frame: Buffer): void {
    const ip = Ipv4Packet.checked(EthernetFrame.checked(frame).payload);
    if (ip.protocol === IpProtocol.TCP) this.sent.push(parseTcp(TcpPacket.checked(Buffer.from(ip.payload), ip.src, ip.dst)));
  }
}

function setup() {
  const counters = new Counters();
  const iface = new Interface(buildStackConfig({}), counters);
  const port = new FakePort();
  iface.attach(port);
  iface.neighbors.learn(GUEST, parseMac('52:54:00:12:34:56')!, port, 0);
  const scheduler = new Scheduler();
  const nat = new TcpNat(iface, counters, scheduler);
  nat.services.set(SERVICE_PORT, () => new PassThrough());
  const datagram = Buffer.alloc(40);
  new Ipv4Repr({ src: GUEST, dst: GATEWAY, protocol: IpProtocol.TCP, payloadLen: 20 }).emit(datagram, 0);
  const fromGuest = (fields: Partial<TcpRepr>) =>
    nat.handle(scheduler.now(), {
      src: GUEST,
      dst: GATEWAY,
      datagram,
      seg: { srcPort: GUEST_PORT, dstPort: SERVICE_PORT, seq: 0, ack: 0, flags: TcpFlags.ACK, window: 65535, urgent: 0, options: { mss: 1460 }, payload: Buffer.alloc(0), ...fields },
    });
  return { nat, port, scheduler, fromGuest };
}

describe('TcpNat: flow table', () => {
  it('gives a 4-tuple reused after its flow was reset a new flow, answered from the new SYN', async () => {
    const { nat, port, scheduler, fromGuest } = setup();
    try {
      fromGuest({ seq: 1000, flags: TcpFlags.SYN });
      await tick();
      const synAck = port.sent.find((s) => s.flags === (TcpFlags.SYN | TcpFlags.ACK));
      expect(synAck?.ack, 'the first SYN is answered').to.equal(1001);
      fromGuest({ seq: 1001, ack: synAck!.seq + 1 });
      fromGuest({ seq: 1001, flags: TcpFlags.RST });
      await tick();
      expect(nat.size, 'the reset flow is gone').to.equal(0);

      port.sent = [];
      fromGuest({ seq: 5000, flags: TcpFlags.SYN });
      await tick();
      expect(nat.size).to.equal(1);
      expect(
        port.sent.map((s) => [s.flags, s.ack]),
        'the second SYN gets its own SYN-ACK',
      ).to.deep.equal([[TcpFlags.SYN | TcpFlags.ACK, 5001]]);
    } finally {
      nat.closeAll();
      scheduler.stop();
    }
  });
});
