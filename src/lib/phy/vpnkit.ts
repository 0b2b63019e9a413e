/**
 * vpnkit transport (`vpnkit:///abs.sock`, DESIGN §4): hnet plays the vpnkit
 * side of hyperkit's virtio-net-vpnkit device (moby/hyperkit
 * pci_virtio_net_vpnkit.c, moby/vpnkit go/pkg/vmnet), protocol version 22:
 *
 *   client -> hnet   hello, 49 bytes: magic "VMN3T", version u32 LE, commit[40]
 *   hnet -> client   the same hello, with hnet's version and commit
 *   client -> hnet   command, 41 bytes: 1 (= ethernet), VM UUID as 36 ASCII
 *                    characters, requested IPv4 (4 bytes, 0.0.0.0 = any; ignored:
 *                    hnet's DHCP assigns addresses)
 *   hnet -> client   reply, 258 bytes: type 1 (vif) + MTU u16 LE + max packet
 *                    size u16 LE + MAC[6], zero padded; or type 2 (disconnect)
 *                    + reason length u8 + reason text
 *   then both ways   frames, each a 2-byte little-endian length + the frame
 *
 * The MAC is derived from the UUID (stable across reconnects, locally
 * administered unicast, IEEE 802 §8.2), so a rebooted VM keeps its DHCP lease.
 * A wrong magic or version, an unknown command or a malformed UUID is refused:
 * hnet answers its hello and a disconnect reply that says what was wrong, logs
 * it, counts it and closes that connection only. A client that stalls in the
 * handshake is closed after HANDSHAKE_TIMEOUT_MS. After the handshake the
 * connection is a StreamLink (framing.ts): reassembly, oversize drops, no
 * throw on a broken peer.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../daemon/log.js';
import { macToString } from '../wire/addr.js';
import { type Link, type Transport } from './link.js';
import { STDIO_STREAM } from './framing.js';
import { StreamLink, replaceStaleSocket } from './qemu.js';

export const VPNKIT_MAGIC = 'VMN3T';
export const VPNKIT_VERSION = 22;
export const HELLO_LEN = 49;
export const COMMAND_LEN = 41;
export const REPLY_LEN = 258;
export const CMD_ETHERNET = 1;
export const REPLY_VIF = 1;
export const REPLY_DISCONNECT = 2;
export const HANDSHAKE_TIMEOUT_MS = 10_000;
const HNET_COMMIT = 'hnet'.padEnd(40, '0');

export interface VpnkitHello {
  magic: string;
  version: number;
  commit: string;
}

export function encodeHello(h: VpnkitHello = { magic: VPNKIT_MAGIC, version: VPNKIT_VERSION, commit: HNET_COMMIT }): Buffer {
  const b = Buffer.alloc(HELLO_LEN);
  b.write(h.magic.slice(0, 5), 0, 'latin1');
  b.writeUInt32LE(h.version >>> 0, 5);
  b.write(h.commit.slice(0, 40), 9, 'latin1');
  return b;
}

export function parseHello(b: Buffer): VpnkitHello {
  return { magic: b.toString('latin1', 0, 5), version: b.readUInt32LE(5), commit: b.toString('latin1', 9, HELLO_LEN).replace(/\0+$/, '') };
}

/** Why a hello is refused, or null when it speaks our protocol. */
export function helloProblem(h: VpnkitHello): string | null {
  if (h.magic !== VPNKIT_MAGIC) return `bad magic ${JSON.stringify(h.magic)}: expected ${VPNKIT_MAGIC} (is this a vpnkit client?)`;
  if (h.version !== VPNKIT_VERSION) return `unsupported vpnkit protocol version ${h.version}: hnet speaks version ${VPNKIT_VERSION}`;
  return null;
}

export interface EthernetCommand {
  uuid: string;
  /** Requested IPv4 as 4 bytes (0.0.0.0 = no preference). */
  ip: Buffer;
}

export function encodeEthernetCommand(uuid: string, ip: Buffer = Buffer.alloc(4)): Buffer {
  const b = Buffer.alloc(COMMAND_LEN);
  b[0] = CMD_ETHERNET;
  b.write(uuid.slice(0, 36), 1, 'latin1');
  ip.copy(b, 37, 0, 4);
  return b;
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Parse the 41-byte command; a string is the reason it is refused. */
export function parseEthernetCommand(b: Buffer): EthernetCommand | string {
  if (b[0] !== CMD_ETHERNET) return `unsupported command ${b[0]}: hnet only serves ethernet (${CMD_ETHERNET})`;
  const uuid = b.toString('latin1', 1, 37);
  if (!UUID_RE.test(uuid)) return `malformed VM UUID ${JSON.stringify(uuid)}`;
  return { uuid: uuid.toLowerCase(), ip: Buffer.from(b.subarray(37, 41)) };
}

/** A stable, locally administered unicast MAC for a VM UUID. */
export function macForUuid(uuid: string): Buffer {
  const mac = createHash('sha256').update(uuid.toLowerCase()).digest().subarray(0, 6);
  mac[0] = (mac[0] & 0xfc) | 0x02;
  return Buffer.from(mac);
}

export interface VifInfo {
  mtu: number;
  maxPacketSize: number;
  mac: Buffer;
}

export function encodeVifReply(v: VifInfo): Buffer {
  const b = Buffer.alloc(REPLY_LEN);
  b[0] = REPLY_VIF;
  b.writeUInt16LE(v.mtu, 1);
  b.writeUInt16LE(v.maxPacketSize, 3);
  v.mac.copy(b, 5, 0, 6);
  return b;
}

export function encodeDisconnect(reason: string): Buffer {
  const b = Buffer.alloc(REPLY_LEN);
  const text = Buffer.from(reason).subarray(0, 255);
  b[0] = REPLY_DISCONNECT;
  b[1] = text.length;
  text.copy(b, 2);
  return b;
}

export type VpnkitReply = { type: 'vif'; vif: VifInfo } | { type: 'disconnect'; reason: string } | { type: 'unknown'; code: number };

export function parseReply(b: Buffer): VpnkitReply {
  if (b[0] === REPLY_VIF) return { type: 'vif', vif: { mtu: b.readUInt16LE(1), maxPacketSize: b.readUInt16LE(3), mac: Buffer.from(b.subarray(5, 11)) } };
  if (b[0] === REPLY_DISCONNECT) return { type: 'disconnect', reason: b.toString('utf8', 2, 2 + b[1]) };
  return { type: 'unknown', code: b[0] };
}

/** A guest attached over vpnkit: a 2-byte LE framed stream plus what the handshake said. */
export class VpnkitLink extends StreamLink {
  constructor(
    mtu: number,
    sock: Socket,
    readonly uuid: string,
    readonly mac: Buffer,
  ) {
    super('vpnkit', mtu, sock, STDIO_STREAM, uuid);
  }
}

export class VpnkitTransport implements Transport {
  onLink: ((link: Link) => void) | null = null;
  /** Connections refused in the handshake (for status and tests). */
  refused = 0;
  private server: Server | null = null;
  private readonly links = new Set<VpnkitLink>();
  private readonly pending = new Set<Socket>();
  private readonly mtu: number;

  constructor(
    readonly uri: string,
    private readonly path: string,
    private readonly opts: { mtu: number; log?: Logger },
  ) {
    // The frame length is 16 bits.
    this.mtu = Math.min(opts.mtu, 0xffff - 14);
  }

  async start(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    await replaceStaleSocket(this.path);
    const server = createServer((sock) => this.handshake(sock));
    this.server = server;
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(this.path, () => res());
    });
    server.on('error', (err) => this.opts.log?.error('vpnkit transport error', { uri: this.uri, error: err.message }));
    this.opts.log?.info('listening for vpnkit clients', { uri: this.uri, path: this.path });
  }

  private handshake(sock: Socket): void {
    this.pending.add(sock);
    let got: Buffer = Buffer.alloc(0);
    let helloDone = false;
    const timer = setTimeout(() => this.refuse(sock, 'handshake timed out', false), HANDSHAKE_TIMEOUT_MS);
    const cleanup = () => {
      clearTimeout(timer);
      sock.off('data', onData);
      this.pending.delete(sock);
    };
    sock.on('error', () => undefined);
    sock.once('close', cleanup);
    const onData = (chunk: Buffer) => {
      got = got.length === 0 ? chunk : Buffer.concat([got, chunk]);
      if (!helloDone) {
        if (got.length < HELLO_LEN) return;
        const hello = parseHello(got.subarray(0, HELLO_LEN));
        got = got.subarray(HELLO_LEN);
        const problem = helloProblem(hello);
        if (problem) {
          cleanup();
          return this.refuse(sock, problem, true);
        }
        helloDone = true;
        sock.write(encodeHello());
      }
      if (got.length < COMMAND_LEN) return;
      const cmd = parseEthernetCommand(got.subarray(0, COMMAND_LEN));
      const rest = got.subarray(COMMAND_LEN);
      cleanup();
      if (typeof cmd === 'string') return this.refuse(sock, cmd, false);
      const mac = macForUuid(cmd.uuid);
      sock.write(encodeVifReply({ mtu: this.mtu, maxPacketSize: this.mtu + 14, mac }));
      sock.pause();
      if (rest.length > 0) sock.unshift(rest);
      this.attach(sock, cmd.uuid, mac);
    };
    sock.on('data', onData);
  }

  private refuse(sock: Socket, reason: string, sendHello: boolean): void {
    this.refused++;
    this.pending.delete(sock);
    this.opts.log?.warn('vpnkit client refused', { uri: this.uri, reason });
    if (sendHello) sock.write(encodeHello());
    sock.end(encodeDisconnect(`hnet: ${reason}`));
    setTimeout(() => sock.destroy(), 1000).unref();
  }

  private attach(sock: Socket, uuid: string, mac: Buffer): void {
    const link = new VpnkitLink(this.mtu, sock, uuid, mac);
    this.links.add(link);
    // The handshake paused the socket; StreamLink's 'data' listener takes over from here.
    sock.resume();
    sock.once('close', () => {
      this.links.delete(link);
      this.opts.log?.info('vpnkit guest disconnected', { link: link.id, uuid });
    });
    this.opts.log?.info('vpnkit guest connected', { link: link.id, uuid, mac: macToString(mac) });
    if (this.onLink) this.onLink(link);
    else void link.close();
  }

  get activeLinks(): Link[] {
    return [...this.links];
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.pending) s.destroy();
    this.pending.clear();
    await Promise.all([...this.links].map((l) => l.close()));
    if (server) await new Promise<void>((res) => server.close(() => res()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  describe(): string {
    return `vpnkit on ${this.path} (${this.links.size} connected)`;
  }
}
