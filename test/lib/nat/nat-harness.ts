/**
 * A TcpNat for tests, driven with guest segments directly (no link), on a
 * FakePort that keeps what the stack sends toward the guest. Flows to the
 * gateway's SERVICE_PORT reach a gateway service (a PassThrough unless the
 * test sets another), so no host socket is involved. `clock` moves only when
 * the test calls advance(); without one the scheduler's real clock runs.
 * `toHost`: guest segments go to the host address (a port forward's flows)
 * instead of the gateway.
 */
import { PassThrough } from 'node:stream';
import { Counters } from '../../../src/lib/counters.js';
import { Interface } from '../../../src/lib/iface/interface.js';
import { FakePort } from './fake-port.js';
import { buildStackConfig } from '../../../src/lib/iface/config.js';
import { TcpNat, type TcpNatOptions } from '../../../src/lib/nat/tcp.js';
import { Scheduler } from '../../../src/lib/daemon/scheduler.js';
import { parseIpv4, parseMac } from '../../../src/lib/wire/addr.js';
import { IpProtocol, Ipv4Repr } from '../../../src/lib/wire/ipv4.js';
import { TcpFlags, type TcpRepr } from '../../../src/lib/wire/tcp.js';

export const GUEST = parseIpv4('192.168.65.2')!;
export const GUEST_2 = parseIpv4('192.168.65.3')!;
export const GUEST_3 = parseIpv4('192.168.65.4')!;
export const GATEWAY = parseIpv4('192.168.65.1')!;
export const GUEST_PORT = 40000;
export const SERVICE_PORT = 7;

export function setupNat(opts: { tso?: boolean; mtu?: number; nat?: TcpNatOptions; manualClock?: boolean; toHost?: boolean } = {}) {
  let now = 1000;
  const counters = new Counters();
  const cfg = buildStackConfig({ mtu: opts.mtu });
  const dst = opts.toHost ? cfg.hostIp : GATEWAY;
  const iface = new Interface(cfg, counters);
  const port = new FakePort(opts.tso);
  iface.attach(port);
  iface.neighbors.learn(GUEST, parseMac('52:54:00:12:34:56')!, port, 0);
  iface.neighbors.learn(GUEST_2, parseMac('52:54:00:12:34:57')!, port, 0);
  iface.neighbors.learn(GUEST_3, parseMac('52:54:00:12:34:58')!, port, 0);
  const scheduler = opts.manualClock ? new Scheduler(() => now) : new Scheduler();
  const nat = new TcpNat(iface, counters, scheduler, opts.nat);
  nat.services.set(SERVICE_PORT, () => new PassThrough());
  const datagram = Buffer.alloc(40);
  new Ipv4Repr({ src: GUEST, dst, protocol: IpProtocol.TCP, payloadLen: 20 }).emit(datagram, 0);
  const fromGuest = (fields: Partial<TcpRepr>, src = GUEST) =>
    nat.handle(scheduler.now(), {
      src,
      dst,
      datagram,
      seg: { srcPort: GUEST_PORT, dstPort: SERVICE_PORT, seq: 0, ack: 0, flags: TcpFlags.ACK, window: 65535, urgent: 0, options: { mss: 1460 }, payload: Buffer.alloc(0), ...fields },
    });
  return { nat, port, scheduler, counters, fromGuest, advance: (ms: number) => (now += ms) };
}
