/**
 * `--listen URI` parsing and transport construction (DESIGN §4).
 *
 *   qemu:///abs/path.sock      QEMU -netdev stream over a unix socket (hnet listens)
 *   qemu:NAME.sock             the same, at HOME/run/NAME.sock
 *   qemu+tcp://HOST:PORT       the same over TCP; HOST must be loopback unless ?allow-remote=1
 *   vfkit:///abs/path.sock     unix datagram socket, one frame per datagram (also vfkit:NAME.sock)
 *   vpnkit:///abs/path.sock    hyperkit/vpnkit v22 handshake, then 2-byte LE framing (also vpnkit:NAME.sock)
 *   stdio:                     2-byte LE length framing on stdin/stdout
 *   tap:NAME[?netns=NS][&offload=0]  Linux tap device (offload=0: no virtio-net header/TSO)
 *
 * Every rejection is a UsageError (exit 2) with code HNET_BAD_SPEC, naming
 * the URI, what is wrong, and an example that works.
 */
import { isAbsolute, join } from 'node:path';
import { UsageError } from '../errors.js';
import type { Logger } from '../daemon/log.js';
import type { Transport } from './link.js';
import { QemuStreamTransport } from './qemu.js';
import { StdioTransport } from './stdio.js';
import { TapTransport, validIfName, MAX_MTU } from './tap.js';
import { VfkitTransport } from './vfkit.js';
import { VpnkitTransport } from './vpnkit.js';

export type ListenSpec =
  | { kind: 'qemu'; uri: string; path: string }
  | { kind: 'qemu+tcp'; uri: string; host: string; port: number; allowRemote: boolean }
  | { kind: 'vfkit'; uri: string; path: string }
  | { kind: 'vpnkit'; uri: string; path: string }
  | { kind: 'stdio'; uri: string }
  | { kind: 'tap'; uri: string; name: string; netns?: string; offload?: boolean };

const SCHEMES = ['qemu', 'qemu+tcp', 'vfkit', 'vpnkit', 'stdio', 'tap'];
/** sun_path holds 108 bytes including the terminating NUL (unix(7)). */
const MAX_SOCKET_PATH = 107;

function bad(uri: string, problem: string, example: string): UsageError {
  return new UsageError('HNET_BAD_SPEC', `bad --listen ${JSON.stringify(uri)}: ${problem}`, [`for example: --listen ${example}`]);
}

/** Parse the query string of `rest` against the allowed keys. */
function query(uri: string, rest: string, allowed: string[], example: string): [string, Record<string, string>] {
  const q = rest.indexOf('?');
  if (q === -1) return [rest, {}];
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rest.slice(q + 1))) {
    if (!allowed.includes(k)) throw bad(uri, `unknown option "${k}"${allowed.length ? ` (known: ${allowed.join(', ')})` : ''}`, example);
    params[k] = v;
  }
  return [rest.slice(0, q), params];
}

function socketPath(uri: string, scheme: string, rest: string, home: string): string {
  const example = `${scheme}:///tmp/hnet-${scheme}.sock`;
  let path: string;
  if (rest.startsWith('//')) {
    path = rest.slice(2);
    if (path === '') path = join(home, 'run', `${scheme}.sock`);
    else if (!path.startsWith('/')) throw bad(uri, 'the socket path must be absolute (three slashes: scheme:///abs/path)', example);
  } else if (rest !== '' && !rest.includes('/')) {
    path = join(home, 'run', rest);
  } else if (rest === '') {
    path = join(home, 'run', `${scheme}.sock`);
  } else {
    throw bad(uri, 'use scheme:///absolute/path or scheme:NAME for HOME/run/NAME', example);
  }
  if (!isAbsolute(path)) throw bad(uri, 'the socket path must be absolute', example);
  if (path.includes('\0')) throw bad(uri, 'the socket path contains a NUL byte', example);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) throw bad(uri, `the socket path is ${Buffer.byteLength(path)} bytes; unix sockets allow ${MAX_SOCKET_PATH}`, example);
  return path;
}

export function parseListenUri(uri: string, home: string): ListenSpec {
  const colon = uri.indexOf(':');
  const scheme = colon === -1 ? '' : uri.slice(0, colon).toLowerCase();
  if (!SCHEMES.includes(scheme)) {
    throw new UsageError('HNET_BAD_SPEC', `bad --listen ${JSON.stringify(uri)}: unknown transport "${colon === -1 ? uri : scheme}"`, [
      `use one of: ${SCHEMES.map((s) => `${s}:`).join(' ')}`,
      'for example: --listen qemu:///tmp/hnet.sock or --listen tap:hnet0',
    ]);
  }
  const rest = uri.slice(colon + 1);
  switch (scheme) {
    case 'qemu':
    case 'vfkit':
    case 'vpnkit': {
      const [body] = query(uri, rest, [], `${scheme}:///tmp/hnet.sock`);
      return { kind: scheme, uri, path: socketPath(uri, scheme, body, home) };
    }
    case 'qemu+tcp': {
      const example = 'qemu+tcp://127.0.0.1:5555';
      const [body, params] = query(uri, rest, ['allow-remote'], example);
      const m = /^\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(body);
      if (!m) throw bad(uri, 'expected qemu+tcp://HOST:PORT', example);
      const port = Number(m[2]);
      if (port > 65535) throw bad(uri, `port ${port} is out of range 0-65535`, example);
      const host = m[1].replace(/^\[|\]$/g, '');
      const allowRemote = params['allow-remote'] === '1' || params['allow-remote'] === 'true';
      if (!allowRemote && !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host)) {
        throw bad(uri, `${host} is not a loopback address; guests' frames would be reachable from the network`, `${example} (or add ?allow-remote=1 on purpose)`);
      }
      return { kind: 'qemu+tcp', uri, host, port, allowRemote };
    }
    case 'stdio':
      if (rest !== '' && rest !== '//') throw bad(uri, 'stdio takes no options', 'stdio:');
      return { kind: 'stdio', uri };
    case 'tap': {
      const example = 'tap:hnet0?netns=guest1';
      const [name, params] = query(uri, rest.replace(/^\/\//, ''), ['netns', 'offload'], example);
      if (!validIfName(name)) throw bad(uri, `"${name}" is not a valid interface name (1-15 letters, digits, "-", "_", ".")`, example);
      const netns = params.netns;
      if (netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(netns)) throw bad(uri, `"${netns}" is not a valid namespace name`, example);
      const off = params.offload;
      if (off !== undefined && !['0', '1', 'true', 'false'].includes(off)) throw bad(uri, `offload must be 0 or 1, not "${off}"`, 'tap:hnet0?offload=0');
      const spec: ListenSpec = netns === undefined ? { kind: 'tap', uri, name } : { kind: 'tap', uri, name, netns };
      return off === undefined ? spec : { ...spec, offload: off === '1' || off === 'true' };
    }
  }
  throw bad(uri, 'unsupported', 'qemu:///tmp/hnet.sock');
}

/** The listeners a daemon opens when no --listen is given (DESIGN §4). */
export function defaultListenUris(home: string): string[] {
  return [`qemu://${join(home, 'run', 'qemu.sock')}`, `vfkit://${join(home, 'run', 'vfkit.sock')}`];
}

export interface TransportOptions {
  mtu: number;
  log?: Logger;
}

export function createTransport(spec: ListenSpec, opts: TransportOptions): Transport {
  if (opts.mtu > MAX_MTU) throw new UsageError('HNET_BAD_SPEC', `mtu ${opts.mtu} is above ${MAX_MTU}`, [`use --mtu ${MAX_MTU} or less`]);
  switch (spec.kind) {
    case 'qemu':
      return new QemuStreamTransport(spec.uri, { type: 'unix', path: spec.path }, opts);
    case 'qemu+tcp':
      return new QemuStreamTransport(spec.uri, { type: 'tcp', host: spec.host, port: spec.port, allowRemote: spec.allowRemote }, opts);
    case 'vfkit':
      return new VfkitTransport(spec.uri, spec.path, opts);
    case 'stdio':
      return new StdioTransport(opts);
    case 'tap':
      return new TapTransport(spec.uri, { name: spec.name, netns: spec.netns, offload: spec.offload }, opts);
    case 'vpnkit':
      return new VpnkitTransport(spec.uri, spec.path, opts);
  }
}
