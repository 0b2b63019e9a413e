/**
 * Host listeners for port forwards, and what a failed bind means for people.
 *
 * Contract:
 * - listenTcp/bindUdp bind exclusively (no port sharing with another process
 *   or cluster worker) and resolve once the port is held.
 * - A bind error becomes a HnetError with a stable code:
 *   EADDRINUSE -> HNET_PORT_IN_USE (naming the holder when `ss` tells),
 *   EACCES on a port below 1024 -> HNET_PORT_PRIVILEGED,
 *   EADDRNOTAVAIL -> HNET_BAD_SPEC (the host IP is not on this machine).
 * - portHolder() asks `ss -H -lnp` (Linux) who listens on a port; undefined
 *   when ss is missing or does not say (another user's process, not root).
 */
import net from 'node:net';
import dgram from 'node:dgram';
import { HnetError, UsageError } from '../errors.js';
import type { Runner } from '../host/exec.js';
import { acceptWithOnread } from './host-rx.js';

export type ForwardProto = 'tcp' | 'udp';

/** Who holds proto hostIp:port, e.g. `nginx (pid 812)`; undefined when unknown. */
export async function portHolder(runner: Runner, proto: ForwardProto, port: number): Promise<string | undefined> {
  try {
    const r = await runner('ss', ['-H', proto === 'tcp' ? '-ltnp' : '-lunp', `sport = :${port}`], { timeoutMs: 2000 });
    if (r.exitCode !== 0) return undefined;
    return parseSsHolder(r.stdout);
  } catch {
    return undefined;
  }
}

/** The first `users:(("name",pid=N,...` of `ss -p` output as `name (pid N)`. */
export function parseSsHolder(text: string): string | undefined {
  const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(text);
  return m ? `${m[1]} (pid ${m[2]})` : undefined;
}

export function bindError(err: NodeJS.ErrnoException, proto: ForwardProto, hostIp: string, port: number, holder?: string): HnetError {
  const where = `${hostIp}:${port}/${proto}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new HnetError('HNET_PORT_IN_USE', `host port ${where} is already in use${holder ? ` by ${holder}` : ''}`, [
        'pick another host port, e.g. hnet ports add 18080:80',
        holder ? `or stop ${holder}` : `see who holds it: ss -ltnp 'sport = :${port}'`,
      ]);
    case 'EACCES':
      return new HnetError('HNET_PORT_PRIVILEGED', `binding ${where} needs privileges (ports below 1024 are reserved)`, [
        'use a host port of 1024 or above, e.g. 8080',
        'or run the daemon as root, or lower net.ipv4.ip_unprivileged_port_start',
      ]);
    case 'EADDRNOTAVAIL':
      return new UsageError('HNET_BAD_SPEC', `${hostIp} is not an address of this machine`, ['use 127.0.0.1 or an address shown by `ip addr`']);
    default:
      return new HnetError('HNET_PORT_BIND_FAILED', `cannot bind ${where}: ${err.message}`);
  }
}

export function listenTcp(hostIp: string, port: number, onConnection: (s: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true }, onConnection);
    server.once('error', reject);
    server.listen({ host: hostIp, port, exclusive: true }, () => {
      server.off('error', reject);
      acceptWithOnread(server); // reads without a fresh buffer each (host-rx.ts)
      resolve(server);
    });
  });
}

export function bindUdp(hostIp: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: 'udp4' });
    const fail = (err: Error) => {
      sock.close();
      reject(err);
    };
    sock.once('error', fail);
    sock.bind({ address: hostIp, port, exclusive: true }, () => {
      sock.off('error', fail);
      resolve(sock);
    });
  });
}
