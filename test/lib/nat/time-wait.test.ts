/**
 * TIME-WAIT toward the guest as compact entries (nat/time-wait.ts), through
 * TcpNat driven with guest segments: a gateway service that writes "bye" and
 * ends at once closes first, so the daemon ends in TIME-WAIT. Checked: the
 * flow gives way to an entry only once the host has every byte; what an entry
 * answers (RFC 9293 §3.10.7.4), reopens (RFC 1122 §4.2.2.13, RFC 6191) and
 * how it ends (expiry, restart on a FIN, RST, the cap).
 */
import { expect } from 'chai';
import { Duplex, PassThrough } from 'node:stream';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { TcpFlags, type TcpRepr } from '../../../src/lib/wire/tcp.js';
import type { TcpNatOptions } from '../../../src/lib/nat/tcp.js';
import { GUEST_PORT, SERVICE_PORT, setupNat } from './nat-harness.js';

const F = TcpFlags;
const ISN = 1000;

/** A service that says "bye" and closes its side at once. */
function closesFirst(): PassThrough {
  const d = new PassThrough();
  d.end('bye');
  return d;
}

/**
 * A connection from GUEST_PORT + `i` that the service closes first, taken to
 * TIME-WAIT: SYN, ACK, then the guest acknowledges "bye" and our FIN with its
 * own FIN. Returns our SND.NXT after the FIN.
 */
async function toTimeWait(h: ReturnType<typeof setupNat>, i = 0, opts: { ts?: number } = {}): Promise<number> {
  const srcPort = GUEST_PORT + i;
  const ts = (v: number) => (opts.ts === undefined ? {} : { timestamps: { tsVal: opts.ts + v, tsEcr: 0 } });
  h.port.sent = [];
  h.fromGuest({ srcPort, seq: ISN, flags: F.SYN, options: { mss: 1460, ...ts(0) } });
  await tick();
  const synAck = h.port.sent.find((s) => s.flags === (F.SYN | F.ACK) && s.dstPort === srcPort)!;
  h.fromGuest({ srcPort, seq: ISN + 1, ack: synAck.seq + 1, options: ts(1) });
  await tick();
  await tick();
  const fin = h.port.sent.find((s) => s.flags & F.FIN && s.dstPort === srcPort);
  expect(fin, 'the service closed first: our FIN').to.not.equal(undefined);
  const sndNxt = (fin!.seq + fin!.payload.length + 1) >>> 0;
  h.fromGuest({ srcPort, seq: ISN + 1, ack: sndNxt, flags: F.FIN | F.ACK, options: ts(2) });
  await tick();
  return sndNxt;
}

function setup(nat: TcpNatOptions = {}, manualClock = false) {
  const h = setupNat({ nat, manualClock });
  h.nat.services.set(SERVICE_PORT, closesFirst);
  return h;
}

/** Run `body` on a fresh NAT (setup), then close it, whatever happened. */
async function withNat(body: (h: ReturnType<typeof setupNat>) => Promise<void>, nat: TcpNatOptions = {}, manualClock = false): Promise<ReturnType<typeof setupNat>> {
  const h = setup(nat, manualClock);
  try {
    await body(h);
  } finally {
    h.nat.closeAll();
    h.scheduler.stop();
  }
  return h;
}

const acks = (sent: TcpRepr[]) => sent.filter((s) => s.flags === F.ACK).map((s) => [s.seq, s.ack]);

describe('TcpNat TIME-WAIT toward the guest', () => {
  it('keeps a connection the daemon closed first as a TIME-WAIT entry, not as a flow', async () => {
    const closed = await withNat(async (h) => {
      const sndNxt = await toTimeWait(h);
      expect(acks(h.port.sent), 'the guest\'s FIN is acknowledged').to.deep.equal([[sndNxt, ISN + 2]]);
      expect(h.nat.size, 'no flow left').to.equal(0);
      expect(h.nat.timeWaitCount).to.equal(1);
      expect([...h.nat.connections()]).to.deep.equal([{ proto: 'tcp', guest: `192.168.65.2:${GUEST_PORT}`, remote: `192.168.65.1:${SERVICE_PORT}`, state: 'TIME-WAIT', bytesIn: 3, bytesOut: 0 }]);
    });
    expect(closed.nat.timeWaitCount, 'closeAll clears it').to.equal(0);
  });

  it('answers a retransmitted FIN, stale data and a stale SYN with <SEQ=SND.NXT><ACK=RCV.NXT>, and a bare ACK with nothing', async () => {
    await withNat(async (h) => {
      const sndNxt = await toTimeWait(h);
      h.port.sent = [];
      h.fromGuest({ seq: ISN + 1, ack: sndNxt, flags: F.FIN | F.ACK });
      h.fromGuest({ seq: ISN + 1, ack: sndNxt, flags: F.ACK | F.PSH, payload: Buffer.from('late') });
      h.fromGuest({ seq: ISN - 500, flags: F.SYN });
      expect(acks(h.port.sent)).to.deep.equal([[sndNxt, ISN + 2], [sndNxt, ISN + 2], [sndNxt, ISN + 2]]);
      h.port.sent = [];
      h.fromGuest({ seq: ISN + 2, ack: sndNxt });
      expect(h.port.sent, 'a bare ACK at RCV.NXT').to.deep.equal([]);
      expect(h.nat.size, 'the stale SYN opened nothing').to.equal(0);
      expect(h.counters.get('tcp.time_wait_acks')).to.equal(3);
    });
  });

  it('is ended by an RST at RCV.NXT only; then the 4-tuple is unknown and reset', async () => {
    await withNat(async (h) => {
      const sndNxt = await toTimeWait(h);
      h.fromGuest({ seq: ISN + 7, flags: F.RST });
      expect(h.nat.timeWaitCount, 'an RST off RCV.NXT is dropped').to.equal(1);
      h.fromGuest({ seq: ISN + 2, flags: F.RST });
      expect(h.nat.timeWaitCount).to.equal(0);
      expect(h.counters.get('tcp.time_wait_reset')).to.equal(1);
      h.port.sent = [];
      h.fromGuest({ seq: ISN + 2, ack: sndNxt, flags: F.FIN | F.ACK });
      expect(h.port.sent.map((s) => [s.flags, s.seq]), 'no connection: RST').to.deep.equal([[F.RST, sndNxt]]);
    });
  });

  it('reopens on a newer SYN at once, with an ISS past everything the old connection sent', async () => {
    await withNat(async (h) => {
      const sndNxt = await toTimeWait(h);
      h.port.sent = [];
      h.fromGuest({ seq: ISN + 90_000, flags: F.SYN });
      await tick();
      expect(h.nat.timeWaitCount).to.equal(0);
      expect(h.nat.size).to.equal(1);
      expect(h.port.sent.map((s) => [s.flags, s.seq, s.ack])).to.deep.equal([[F.SYN | F.ACK, (sndNxt + 0x10002) >>> 0, ISN + 90_001]]);
      expect(h.counters.get('tcp.time_wait_reopened')).to.equal(1);
    });
  });

  it('with timestamps, judges a SYN by its TSval (RFC 6191) and stamps its ACKs', async () => {
    await withNat(async (h) => {
      const sndNxt = await toTimeWait(h, 0, { ts: 5000 });
      h.port.sent = [];
      h.fromGuest({ seq: ISN + 90_000, flags: F.SYN, options: { timestamps: { tsVal: 4000, tsEcr: 0 } } });
      expect(acks(h.port.sent), 'an older TSval is stale, whatever its sequence number').to.deep.equal([[sndNxt, ISN + 2]]);
      expect(h.port.sent[0].options.timestamps?.tsEcr, 'the ACK echoes the last TSval').to.equal(5002);
      h.port.sent = [];
      h.fromGuest({ seq: ISN - 90_000, flags: F.SYN, options: { timestamps: { tsVal: 5003, tsEcr: 0 } } });
      await tick();
      expect(h.port.sent.map((s) => s.flags), 'a newer TSval reopens, whatever its sequence number').to.deep.equal([F.SYN | F.ACK]);
      expect(h.nat.size).to.equal(1);
    });
  });

  it('expires after 2*MSL, and a retransmitted FIN restarts the wait', async () => {
    await withNat(async (h) => {
      const until = async (ok: () => boolean) => {
        for (let i = 0; i < 200 && !ok(); i++) await sleep(10);
        return ok();
      };
      const sndNxt = await toTimeWait(h);
      h.advance(40);
      h.fromGuest({ seq: ISN + 1, ack: sndNxt, flags: F.FIN | F.ACK });
      h.advance(20);
      await sleep(120); // the expiry timer (armed for 50 ms) has run at t = 60
      expect(h.nat.timeWaitCount, 'restarted at t = 40, due at 90').to.equal(1);
      h.advance(40);
      expect(await until(() => h.nat.timeWaitCount === 0), 'gone after t = 90').to.equal(true);
      await toTimeWait(h, 1);
      h.advance(60);
      expect(await until(() => h.nat.timeWaitCount === 0), 'an entry without a restart goes at 50').to.equal(true);
    }, { timeWaitMs: 50 }, true);
  });

  it('lists, across turns, the entries of the moment the listing began', async () => {
    await withNat(async (h) => {
      for (let i = 0; i < 3; i++) await toTimeWait(h, i);
      const listing = h.nat.connections();
      const first = listing.next();
      expect(first.done).to.equal(false);
      h.advance(60);
      for (let i = 0; i < 200 && h.nat.timeWaitCount > 0; i++) await sleep(10);
      expect(h.nat.timeWaitCount, 'all three expired while the listing was open').to.equal(0);
      const rest = [...listing].map((c) => c.guest);
      expect([first.value!.guest, ...rest]).to.deep.equal([0, 1, 2].map((i) => `192.168.65.2:${GUEST_PORT + i}`));
      expect([...h.nat.connections()], 'a new listing sees none').to.deep.equal([]);
    }, { timeWaitMs: 50 }, true);
  });

  it('lists only the states asked for', async () => {
    await withNat(async (h) => {
      await toTimeWait(h, 0);
      await toTimeWait(h, 1);
      const states = (only: string[]) => [...h.nat.connections(new Set(only))].map((c) => c.state);
      expect(states(['ESTABLISHED'])).to.deep.equal([]);
      expect(states(['ESTABLISHED', 'TIME-WAIT'])).to.deep.equal(['TIME-WAIT', 'TIME-WAIT']);
    });
  });

  it('keeps at most maxTimeWait entries, the oldest going first', async () => {
    await withNat(async (h) => {
      const first = await toTimeWait(h, 0);
      await toTimeWait(h, 1);
      await toTimeWait(h, 2);
      expect(h.nat.timeWaitCount).to.equal(2);
      expect(h.counters.get('tcp.time_wait_overflow')).to.equal(1);
      expect([...h.nat.connections()].map((c) => c.guest)).to.deep.equal([`192.168.65.2:${GUEST_PORT + 1}`, `192.168.65.2:${GUEST_PORT + 2}`]);
      h.port.sent = [];
      h.fromGuest({ seq: ISN + 1, ack: first, flags: F.FIN | F.ACK });
      expect(h.port.sent.map((s) => s.flags), 'the evicted one is unknown').to.deep.equal([F.RST]);
    }, { maxTimeWait: 2 });
  });

  it('keeps the whole flow while the host has not taken the guest\'s last bytes', async () => {
    await withNat(async (h) => {
      const taken: string[] = [];
      const held: Array<() => void> = [];
      h.nat.services.set(SERVICE_PORT, () => {
        // Writes complete only when the test says so; reads: "bye", then the end.
        const d = new Duplex({
          highWaterMark: 1,
          read() {},
          write(chunk: Buffer, _enc, done) {
            taken.push(chunk.toString());
            held.push(done);
          },
        });
        d.push('bye');
        d.push(null);
        return d;
      });
      h.fromGuest({ seq: ISN, flags: F.SYN });
      await tick();
      const synAck = h.port.sent.find((s) => s.flags === (F.SYN | F.ACK))!;
      h.fromGuest({ seq: ISN + 1, ack: synAck.seq + 1 });
      await tick();
      await tick();
      const fin = h.port.sent.find((s) => s.flags & F.FIN)!;
      const sndNxt = (fin.seq + fin.payload.length + 1) >>> 0;
      h.fromGuest({ seq: ISN + 1, ack: sndNxt, flags: F.ACK | F.PSH, payload: Buffer.from('one') });
      await tick();
      h.fromGuest({ seq: ISN + 4, ack: sndNxt, flags: F.ACK | F.PSH, payload: Buffer.from('two') });
      h.fromGuest({ seq: ISN + 7, ack: sndNxt, flags: F.FIN | F.ACK });
      await tick();
      expect([...h.nat.connections()].map((c) => c.state), 'in TIME-WAIT with "two" not written').to.deep.equal(['TIME-WAIT']);
      expect(h.nat.size).to.equal(1);
      expect(h.nat.timeWaitCount).to.equal(0);
      for (let i = 0; i < 5 && h.nat.size > 0; i++) {
        held.shift()?.();
        await tick();
        await tick();
      }
      expect(taken.join(''), 'every byte reached the host').to.equal('onetwo');
      expect(h.nat.size).to.equal(0);
      expect(h.nat.timeWaitCount).to.equal(1);
    });
  });
});
