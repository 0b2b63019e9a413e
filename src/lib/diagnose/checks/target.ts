/**
 * network.target (--target HOST:PORT): outbound TCP from the host, and
 * through the daemon's stack when this daemon offers a probe. Skips without
 * --target. Host refusal or timeout fails: guests cannot do better than the host.
 */
import type { Check, TcpProbe } from '../types.js';
import { probeUnsupported } from './common.js';

export const networkTarget: Check = {
  id: 'network.target',
  title: 'outbound TCP to --target',
  group: 'network',
  async run(f) {
    const t = f.options.target;
    if (!t) return { status: 'skip', detail: 'no --target given', next: ['hnet diagnose --target example.com:443'] };
    const where = `${t.host}:${t.port}`;
    const host = await f.tcpConnect(t.host, t.port);
    if (!host.ok) {
      return { status: 'fail', detail: `the host cannot connect to ${where} (${host.result})`, next: ['check the host first: curl -v telnet://' + where, 'on a VPN-only network, check that the VPN is connected; behind a proxy, use the proxy'], data: { host: host.result } };
    }
    const d = await f.daemon();
    if (!d.running || !f.daemonConnect) {
      return { status: 'pass', detail: `host → ${where}: connected; through the daemon: not tested (${d.running ? 'this daemon offers no connect probe' : 'no daemon running'})`, data: { host: host.result } };
    }
    let via: TcpProbe;
    try {
      // Guests reach the host's loopback through the host address (.254), never 127/8 itself.
      via = await f.daemonConnect(/^127\./.test(t.host) ? d.status.hostIp : t.host, t.port);
    } catch (err) {
      if (!probeUnsupported(err)) throw err;
      return { status: 'pass', detail: `host → ${where}: connected; through the daemon: not tested (this daemon offers no connect probe)`, data: { host: host.result } };
    }
    if (!via.ok) return { status: 'fail', detail: `host → ${where} connects, through the daemon it does not (${via.result})`, next: ['check --allow-egress of the running daemon', 'look at hnet status: drops by reason'], data: { host: host.result, daemon: via.result } };
    return { status: 'pass', detail: `${where} connects from the host and through the daemon`, data: { host: host.result, daemon: via.result } };
  },
};
