/**
 * Port-forward source ports (TcpNat.openToGuest): a connection the daemon
 * closed first sits in TIME-WAIT, and its source port is taken again for a
 * new forward only once it has been there a second (TIME_WAIT_REUSE_MS);
 * before that a forward with every port taken is refused and counted.
 * Driven with guest segments and a clock the test moves, one port in range.
 */
import { expect } from 'chai';
import type net from 'node:net';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { TcpFlags, type TcpRepr } from '../../../src/lib/wire/tcp.js';
import { GUEST, setupNat } from './nat-harness.js';

const GUEST_PORT = 80;
const FORWARD_PORT = 50000;

/** A host connection as the forward sees one: a Duplex with the two net.Socket calls it makes. */
function hostSocket(): PassThrough & net.Socket {
  const d = new PassThrough() as PassThrough & net.Socket;
  Object.assign(d, { setNoDelay: () => d, resetAndDestroy: () => d.destroy() });
  return d;
}

function setup() {
  const h = setupNat({ nat: { forwardPorts: [FORWARD_PORT, FORWARD_PORT] }, manualClock: true, toHost: true });
  const fromGuest = (fields: Partial<TcpRepr>) => h.fromGuest({ srcPort: GUEST_PORT, dstPort: FORWARD_PORT, ...fields });
  return { ...h, fromGuest };
}

describe('TcpNat port-forward source ports', () => {
  it('takes a port in TIME-WAIT for a new forward once it has been there a second, not before', async () => {
    const { nat, port, scheduler, counters, fromGuest, advance } = setup();
    try {
      const host = hostSocket();
      expect(nat.openToGuest(GUEST, GUEST_PORT, host)).to.equal(true);
      await tick();
      const syn = port.sent.find((s) => s.flags === TcpFlags.SYN);
      expect(syn?.srcPort, 'the SYN comes from the one forward port').to.equal(FORWARD_PORT);
      fromGuest({ seq: 7000, ack: syn!.seq + 1, flags: TcpFlags.SYN | TcpFlags.ACK });
      await tick();
      // The host side ends first: the daemon sends its FIN, the guest acknowledges it and closes too.
      port.sent = [];
      host.push(null);
      host.resume();
      await tick();
      await tick();
      const fin = port.sent.find((s) => s.flags & TcpFlags.FIN);
      expect(fin, 'the host end reaches the guest as a FIN').to.not.equal(undefined);
      fromGuest({ seq: 7001, ack: fin!.seq + 1, flags: TcpFlags.FIN | TcpFlags.ACK });
      await tick();
      expect([...nat.connections()].map((c) => c.state)).to.deep.equal(['TIME-WAIT']);

      advance(500);
      expect(nat.openToGuest(GUEST, GUEST_PORT, hostSocket()), 'half a second in TIME-WAIT: the port is not free').to.equal(false);
      expect(counters.snapshot()['drop.tcp_forward_no_port']).to.equal(1);

      advance(600);
      port.sent = [];
      expect(nat.openToGuest(GUEST, GUEST_PORT, hostSocket()), 'over a second: the port is taken again').to.equal(true);
      expect(counters.snapshot()['tcp.time_wait_reused']).to.equal(1);
      await tick();
      expect(port.sent.filter((s) => s.flags === TcpFlags.SYN).map((s) => s.srcPort)).to.deep.equal([FORWARD_PORT]);
      expect([...nat.connections()].map((c) => c.state)).to.deep.equal(['SYN-SENT']);
    } finally {
      nat.closeAll();
      scheduler.stop();
    }
  });
});
