/**
 * TcpNat driven with guest segments directly (no link): a flow to a gateway
 * service is answered at once, so no host socket is involved. Checked: a
 * segment always reaches the flow its 4-tuple names now, also after that
 * 4-tuple's previous flow is gone; and the buffers a flow gets for its link.
 */
import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { TcpFlags } from '../../../src/lib/wire/tcp.js';
import { GUEST, GUEST_2, GUEST_3, SERVICE_PORT, setupNat as setup } from './nat-harness.js';

describe('TcpNat, driven with guest segments', () => {
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

  it('keeps apart flows with the same ports from three guests, and forgets each alone', async () => {
    const { nat, port, scheduler, fromGuest } = setup();
    const guests = [GUEST, GUEST_2, GUEST_3];
    const written: string[] = [];
    nat.services.set(SERVICE_PORT, () => {
      const s = new PassThrough();
      const n = written.push('');
      s.on('data', (b: Buffer) => (written[n - 1] += b.toString()));
      return s;
    });
    try {
      guests.forEach((g, i) => fromGuest({ seq: 1000 * (i + 1), flags: TcpFlags.SYN }, g));
      await tick();
      const synAcks = port.sent.filter((x) => x.flags === (TcpFlags.SYN | TcpFlags.ACK));
      expect(synAcks.map((x) => x.ack), 'each SYN answered by its own flow').to.deep.equal([1001, 2001, 3001]);
      expect(nat.size).to.equal(3);
      const listed = () => [...nat.connections()].map((c) => c.guest.split(':')[0]).sort();
      expect(listed()).to.deep.equal(['192.168.65.2', '192.168.65.3', '192.168.65.4']);
      const send = (i: number, off: number, text: string) => fromGuest({ seq: 1000 * (i + 1) + 1 + off, ack: synAcks[i].seq + 1, payload: Buffer.from(text) }, guests[i]);
      guests.forEach((_, i) => send(i, 0, `g${i}`));
      await tick();
      expect(written, 'each guest\'s bytes reach its own service').to.deep.equal(['g0', 'g1', 'g2']);

      // The flows share one bucket; the middle one (neither first nor last in it) goes.
      fromGuest({ seq: 2003, flags: TcpFlags.RST }, GUEST_2);
      await tick();
      expect(listed()).to.deep.equal(['192.168.65.2', '192.168.65.4']);
      send(0, 2, '!');
      send(2, 2, '?');
      await tick();
      expect(written, 'the other two flows still work').to.deep.equal(['g0!', 'g1', 'g2?']);
    } finally {
      nat.closeAll();
      scheduler.stop();
    }
    expect(nat.size).to.equal(0);
  });

  it('keeps apart flows from one guest port to two ports of the same host (the table key holds both ports)', async () => {
    const { nat, port, scheduler, fromGuest } = setup();
    const OTHER_PORT = 9;
    const written = new Map<number, string>();
    for (const p of [SERVICE_PORT, OTHER_PORT]) {
      nat.services.set(p, () => {
        const s = new PassThrough();
        written.set(p, '');
        s.on('data', (b: Buffer) => written.set(p, written.get(p) + b.toString()));
        return s;
      });
    }
    try {
      fromGuest({ seq: 1000, flags: TcpFlags.SYN, dstPort: SERVICE_PORT });
      fromGuest({ seq: 5000, flags: TcpFlags.SYN, dstPort: OTHER_PORT });
      await tick();
      const synAcks = port.sent.filter((x) => x.flags === (TcpFlags.SYN | TcpFlags.ACK));
      expect(synAcks.map((x) => [x.srcPort, x.ack]), 'each SYN answered by its own flow').to.deep.equal([[SERVICE_PORT, 1001], [OTHER_PORT, 5001]]);
      expect(nat.size).to.equal(2);
      fromGuest({ seq: 1001, ack: synAcks[0].seq + 1, payload: Buffer.from('seven'), dstPort: SERVICE_PORT });
      fromGuest({ seq: 5001, ack: synAcks[1].seq + 1, payload: Buffer.from('nine'), dstPort: OTHER_PORT });
      await tick();
      expect(Object.fromEntries(written), 'each flow\'s bytes reach its own service').to.deep.equal({ [SERVICE_PORT]: 'seven', [OTHER_PORT]: 'nine' });
    } finally {
      nat.closeAll();
      scheduler.stop();
    }
  });

  it('answers small host data at the end of the input that brought it, and bulk data at the end of the turn', async () => {
    const { nat, port, scheduler, fromGuest } = setup();
    let service: PassThrough | null = null;
    nat.services.set(SERVICE_PORT, () => (service = new PassThrough()));
    try {
      fromGuest({ seq: 1000, flags: TcpFlags.SYN });
      await tick();
      const synAck = port.sent.find((x) => x.flags === (TcpFlags.SYN | TcpFlags.ACK))!;
      fromGuest({ seq: 1001, ack: synAck.seq + 1 });
      await tick();
      port.sent = [];
      const dataSent = () => port.sent.reduce((n, x) => n + x.payload.length, 0);

      scheduler.beginInput(); // as a host socket's read callback does
      service!.write(Buffer.alloc(64));
      scheduler.endInput();
      expect(dataSent(), 'a small read: sent when its callback ends').to.equal(64);

      service!.write(Buffer.alloc(32)); // a Duplex host's data event brackets itself
      expect(dataSent(), 'a service\'s small write: sent before write() returns').to.equal(96);

      scheduler.beginInput();
      service!.write(Buffer.alloc(8 * 1024));
      scheduler.endInput();
      expect(dataSent(), 'a bulk read: not yet').to.equal(96);
      await tick();
      expect(dataSent(), 'a bulk read: at the end of the turn').to.equal(96 + 8 * 1024);
    } finally {
      nat.closeAll();
      scheduler.stop();
    }
  });

  // The receive buffer shows in the SYN-ACK's window scale: the smallest shift
  // that fits it in 16 bits (RFC 7323 §2.3): 5 for 1 MiB, 7 for 4 MiB.
  for (const [what, opts, shift] of [
    ['MTU 1500 without offload: 1 MiB', { mtu: 1500 }, 5],
    ['MTU 1500 with offload (super-segments): 4 MiB', { mtu: 1500, tso: true }, 7],
    ['MTU 65520: 4 MiB', { mtu: 65520 }, 7],
  ] as const) {
    it(`sizes a flow's buffers for its link: ${what}`, async () => {
      const { nat, port, scheduler, fromGuest } = setup(opts);
      try {
        fromGuest({ seq: 1000, flags: TcpFlags.SYN, options: { mss: 1460, windowScale: 7 } });
        await tick();
        expect(port.sent[0]?.options.windowScale).to.equal(shift);
      } finally {
        nat.closeAll();
        scheduler.stop();
      }
    });
  }
});
