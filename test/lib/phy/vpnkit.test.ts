/**
 * vpnkit v22 handshake and framing (moby/hyperkit pci_virtio_net_vpnkit.c):
 * a test client plays hyperkit over a real unix socket.
 */
import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  VpnkitTransport,
  VpnkitLink,
  encodeHello,
  parseHello,
  encodeEthernetCommand,
  parseEthernetCommand,
  parseReply,
  encodeVifReply,
  encodeDisconnect,
  macForUuid,
  HELLO_LEN,
  REPLY_LEN,
  COMMAND_LEN,
  VPNKIT_VERSION,
} from '../../../src/lib/phy/vpnkit.js';
import { Deframer, encodeFrame, STDIO_STREAM } from '../../../src/lib/phy/framing.js';
import type { Link } from '../../../src/lib/phy/link.js';

const UUID = 'c4a2e0f1-1b2c-4d3e-8f90-0123456789ab';

function frame(len: number, fill: number): Buffer {
  const f = Buffer.alloc(len, fill);
  f.writeUInt16BE(0x0800, 12);
  return f;
}

/** Read exactly n bytes from a socket (collects data events). */
function readN(sock: Socket, n: number): Promise<Buffer> {
  return new Promise((res, rej) => {
    let got = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.length >= n) {
        sock.off('data', onData);
        if (got.length > n) sock.unshift(got.subarray(n));
        res(got.subarray(0, n));
      }
    };
    sock.on('data', onData);
    sock.once('close', () => rej(new Error(`closed after ${got.length} of ${n} bytes`)));
  });
}

function dial(path: string): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect(path, () => res(s));
    s.once('error', rej);
  });
}

describe('vpnkit protocol v22 (hyperkit virtio-net-vpnkit)', () => {
  describe('codec', () => {
    it('the hello is 49 bytes: "VMN3T", version u32 LE, 40-byte commit', () => {
      const h = encodeHello();
      expect(h.length).to.equal(49);
      expect(h.subarray(0, 5).toString()).to.equal('VMN3T');
      expect(h.readUInt32LE(5)).to.equal(22);
      expect(parseHello(h)).to.include({ magic: 'VMN3T', version: VPNKIT_VERSION });
    });

    it('the ethernet command is 41 bytes: 1, 36-character UUID, 4-byte IP', () => {
      const c = encodeEthernetCommand(UUID, Buffer.from([192, 168, 65, 9]));
      expect(c.length).to.equal(COMMAND_LEN);
      expect(c[0]).to.equal(1);
      const parsed = parseEthernetCommand(c);
      expect(parsed).to.deep.equal({ uuid: UUID, ip: Buffer.from([192, 168, 65, 9]) });
    });

    it('refuses an unknown command and a malformed UUID, saying which', () => {
      const c = encodeEthernetCommand(UUID);
      c[0] = 7;
      expect(parseEthernetCommand(c)).to.match(/unsupported command 7/);
      expect(parseEthernetCommand(encodeEthernetCommand('not-a-uuid'.padEnd(36, 'x')))).to.match(/malformed VM UUID/);
    });

    it('the reply is 258 bytes: vif (type 1, MTU, max packet size, MAC) or disconnect (type 2, reason)', () => {
      const mac = macForUuid(UUID);
      const r = encodeVifReply({ mtu: 1500, maxPacketSize: 1514, mac });
      expect(r.length).to.equal(REPLY_LEN);
      expect(parseReply(r)).to.deep.equal({ type: 'vif', vif: { mtu: 1500, maxPacketSize: 1514, mac } });
      const d = encodeDisconnect('go away');
      expect(d.length).to.equal(REPLY_LEN);
      expect(parseReply(d)).to.deep.equal({ type: 'disconnect', reason: 'go away' });
    });

    it('derives a stable, locally administered unicast MAC per UUID', () => {
      const a = macForUuid(UUID);
      expect(macForUuid(UUID.toUpperCase())).to.deep.equal(a);
      expect(a[0] & 0x03).to.equal(0x02);
      expect(macForUuid('00000000-0000-0000-0000-000000000000')).to.not.deep.equal(a);
    });
  });

  describe('transport', () => {
    let dir: string;
    let t: VpnkitTransport;
    const sockets: Socket[] = [];

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hnt-vpnkit-'));
      t = new VpnkitTransport(`vpnkit://${dir}/v.sock`, join(dir, 'v.sock'), { mtu: 1500 });
      await t.start();
    });

    afterEach(async () => {
      for (const s of sockets.splice(0)) s.destroy();
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function handshake(hello = encodeHello(), cmd = encodeEthernetCommand(UUID)): Promise<{ sock: Socket; serverHello: Buffer; reply: Buffer }> {
      const sock = await dial(join(dir, 'v.sock'));
      sockets.push(sock);
      sock.write(hello);
      const serverHello = await readN(sock, HELLO_LEN);
      sock.write(cmd);
      const reply = await readN(sock, REPLY_LEN);
      return { sock, serverHello, reply };
    }

    it('completes the handshake and exchanges 2-byte LE framed frames both ways', async () => {
      const linkP = new Promise<Link>((res) => (t.onLink = res));
      const { sock, serverHello, reply } = await handshake();
      expect(parseHello(serverHello)).to.include({ magic: 'VMN3T', version: 22 });
      const r = parseReply(reply);
      expect(r.type).to.equal('vif');
      if (r.type !== 'vif') return;
      expect(r.vif.mtu).to.equal(1500);
      expect(r.vif.mac).to.deep.equal(macForUuid(UUID));
      const link = (await linkP) as VpnkitLink;
      expect(link.kind).to.equal('vpnkit');
      expect(link.uuid).to.equal(UUID);

      const inbound = new Promise<Buffer>((res) => (link.onFrame = (f) => res(Buffer.from(f))));
      const f1 = frame(100, 0xab);
      // Split mid-header and mid-frame: the link reassembles.
      const wire = encodeFrame(STDIO_STREAM, f1);
      sock.write(wire.subarray(0, 1));
      await new Promise((r2) => setTimeout(r2, 10));
      sock.write(wire.subarray(1, 50));
      await new Promise((r2) => setTimeout(r2, 10));
      sock.write(wire.subarray(50));
      expect(await inbound).to.deep.equal(f1);

      const outbound = new Promise<Buffer>((res) => {
        const d = new Deframer(STDIO_STREAM, 2000, (f) => res(Buffer.from(f)), () => undefined);
        sock.on('data', (c: Buffer) => d.push(c));
      });
      const f2 = frame(1514, 0x5a);
      link.send(f2);
      expect(await outbound).to.deep.equal(f2);
    });

    it('accepts frames the client sends right behind its command (pipelined)', async () => {
      // Like the daemon, take the link's frames from the moment it exists.
      const gotP = new Promise<Buffer>((res) => {
        t.onLink = (link) => {
          link.onFrame = (x) => res(Buffer.from(x));
        };
      });
      const sock = await dial(join(dir, 'v.sock'));
      sockets.push(sock);
      const f = frame(64, 0x11);
      sock.write(Buffer.concat([encodeHello(), encodeEthernetCommand(UUID), encodeFrame(STDIO_STREAM, f)]));
      const got = await gotP;
      expect(got).to.deep.equal(f);
    });

    it('drops and counts a frame above MTU + 14, and the connection survives', async () => {
      const linkP = new Promise<Link>((res) => (t.onLink = res));
      const { sock } = await handshake();
      const link = await linkP;
      const got: Buffer[] = [];
      const two = new Promise<void>((res) => (link.onFrame = (f) => (got.push(Buffer.from(f)), got.length === 1 && res())));
      sock.write(Buffer.concat([encodeFrame(STDIO_STREAM, frame(1515, 1)), encodeFrame(STDIO_STREAM, frame(60, 2))]));
      await two;
      expect(got[0][20]).to.equal(2);
      expect(link.stats.drops.rx_oversized).to.equal(1);
    });

    it('refuses a wrong magic with its hello and a disconnect that says why', async () => {
      const bad = encodeHello({ magic: 'VMNET', version: 22, commit: 'x' });
      const sock = await dial(join(dir, 'v.sock'));
      sockets.push(sock);
      sock.write(bad);
      const both = await readN(sock, HELLO_LEN + REPLY_LEN);
      expect(parseHello(both.subarray(0, HELLO_LEN)).version).to.equal(22);
      const r = parseReply(both.subarray(HELLO_LEN));
      expect(r).to.deep.equal({ type: 'disconnect', reason: 'hnet: bad magic "VMNET": expected VMN3T (is this a vpnkit client?)' });
      await new Promise((res) => sock.once('close', res));
      expect(t.refused).to.equal(1);
      expect(t.activeLinks).to.have.length(0);
    });

    it('refuses another protocol version, naming both versions', async () => {
      const sock = await dial(join(dir, 'v.sock'));
      sockets.push(sock);
      sock.write(encodeHello({ magic: 'VMN3T', version: 21, commit: 'x' }));
      const both = await readN(sock, HELLO_LEN + REPLY_LEN);
      const r = parseReply(both.subarray(HELLO_LEN));
      expect(r.type).to.equal('disconnect');
      if (r.type === 'disconnect') expect(r.reason).to.equal('hnet: unsupported vpnkit protocol version 21: hnet speaks version 22');
    });

    it('refuses a malformed UUID after the hello exchange; later clients are still served', async () => {
      const { reply } = await handshake(encodeHello(), encodeEthernetCommand('x'.repeat(36)));
      expect(parseReply(reply).type).to.equal('disconnect');
      const linkP = new Promise<Link>((res) => (t.onLink = res));
      const { reply: ok } = await handshake();
      expect(parseReply(ok).type).to.equal('vif');
      await linkP;
      expect(t.activeLinks).to.have.length(1);
    });

    it('fires onClose when the client goes away and removes the socket file on close', async () => {
      const linkP = new Promise<Link>((res) => (t.onLink = res));
      const { sock } = await handshake();
      const link = await linkP;
      const closed = new Promise<void>((res) => (link.onClose = res));
      sock.destroy();
      await closed;
      expect(t.activeLinks).to.have.length(0);
      await t.close();
      expect(existsSync(join(dir, 'v.sock'))).to.equal(false);
    });
  });
});
