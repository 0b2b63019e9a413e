/**
 * `hnet start --transparent-proxy`: guest TCP to ports 80 and 443 goes through
 * the upstream proxy without the guest knowing about any proxy.
 *
 * Contract (the TcpNat intercept hook, consulted for each guest SYN to a
 * non-gateway address that egress rules allow):
 * - Port 80 is claimed when an http upstream is set: the connection is served
 *   by the HttpProxy as origin-form HTTP, each request routed by its Host
 *   header (RFC 9110 §7.2), direct to the original address when no_proxy matches.
 * - Port 443 is claimed when an https upstream is set: the ClientHello's SNI
 *   (RFC 6066 §3) names the CONNECT target; without SNI the original address
 *   is used. no_proxy is checked against the name and the address; a match
 *   goes direct to the original address.
 * - Anything else, or no upstream set right now: not claimed; the NAT connects
 *   to the destination itself as usual.
 * - A claimed flow's handshake completes before the upstream is reached, so a
 *   failure reaches the guest as a 502 answer (port 80) or a reset (port 443),
 *   not as a refused SYN.
 */
import type { Duplex } from 'node:stream';
import type { Counters } from '../../counters.js';
import type { Logger } from '../../daemon/log.js';
import type { ProxyState } from '../../daemon/proxy-state.js';
import type { GatewayService, InterceptTarget } from '../../nat/tcp.js';
import { duplexPair } from './duplex-pair.js';
import { parseSni } from './sni.js';
import { ProxyFailure, splice } from './tunnel.js';
import type { HttpProxy } from './server.js';

const MAX_HELLO = 16 * 1024 + 5;
const HELLO_TIMEOUT_MS = 10_000;

export interface TransparentOptions {
  proxy: HttpProxy;
  state: ProxyState;
  counters: Counters;
  log: Logger;
}

/** The TcpNat intercept: a GatewayService for flows it claims, else undefined. */
export function transparentIntercept(opts: TransparentOptions): (dst: InterceptTarget) => GatewayService | undefined {
  return (dst) => {
    if (dst.port === 80 && opts.state.hasUpstream('http')) {
      return ({ guest }) => {
        opts.counters.inc('proxy.transparent_http');
        const [nat, mine] = duplexPair();
        mine.remoteAddress = guest;
        opts.proxy.accept(mine, { address: dst.address, port: dst.port });
        return nat;
      };
    }
    if (dst.port === 443 && opts.state.hasUpstream('connect')) {
      return () => {
        opts.counters.inc('proxy.transparent_tls');
        const [nat, mine] = duplexPair();
        tunnelTls(mine, dst, opts);
        return nat;
      };
    }
    return undefined;
  };
}

/** Wait for the ClientHello, pick the target by SNI, open the tunnel, replay the bytes, splice. */
function tunnelTls(guest: Duplex, dst: InterceptTarget, opts: TransparentOptions): void {
  let buf = Buffer.alloc(0);
  let decided = false;
  const timer = setTimeout(() => decide(undefined), HELLO_TIMEOUT_MS);
  const onData = (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    const sni = parseSni(buf);
    if (sni.status === 'sni') decide(sni.name);
    else if (sni.status === 'none' || buf.length >= MAX_HELLO) decide(undefined);
  };
  guest.on('data', onData);
  guest.on('error', () => undefined);
  guest.once('end', () => decide(undefined));
  function decide(name: string | undefined): void {
    if (decided) return;
    decided = true;
    clearTimeout(timer);
    guest.off('data', onData);
    guest.pause();
    const host = name ?? dst.address;
    opts.proxy
      .openTunnel(host, dst.port, { address: dst.address, port: dst.port })
      .then(({ socket, head, via }) => {
        opts.log.debug('transparent tunnel', { host, via });
        if (guest.destroyed) return socket.destroy();
        if (buf.length > 0) socket.write(buf);
        if (head.length > 0) guest.write(head);
        splice(guest, socket);
        guest.resume();
      })
      .catch((err: Error) => {
        const reason = err instanceof ProxyFailure ? err.reason : err.message;
        opts.counters.inc('proxy.transparent_failures');
        opts.log.info('transparent tunnel failed', { host, reason });
        guest.destroy();
      });
  }
}
