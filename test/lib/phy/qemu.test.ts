/**
 * QEMU stream transport over unix and TCP sockets: one link per connection,
 * reassembly, oversized frames dropped without killing the connection, peer
 * disconnects, stale socket files.
 */
import { expect } from 'chai';
import { connect, createServer, type Socket } from 'node:net';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QemuStreamTransport } from '../../../src/lib/phy/qemu.js';
import { Deframer, encodeFrame, QEMU_STREAM } from '../../../src/lib/phy/framing.js';
import type { Link } from '../../../src/lib/phy/link.js';
import { recordBatches } from './batch-recorder.js';

function frame(len: number, fill: number): Buffer {
  const f = Buffer.alloc(len, fill);
  f.writeUInt16BE(0x0800, 12);
  return f;
}

function nextLink(t: QemuStreamTransport): Promise<Link> {
  return new Promise((res) => (t.onLink = res));
}

function frames(link: Link, n: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((res) => {
    link.onFrame = (f) => {
      got.push(Buffer.from(f));
      if (got.length === n) res(got);
    };
  });
}

function readFrames(sock: Socket, n: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((res) => {
    const d = new Deframer(QEMU_STREAM, 65535, (f) => {
      got.push(Buffer.from(f));
      if (got.length === n) res(got);
    }, () => undefined);
    sock.on('data', (c: Buffer) => d.push(c));
  });
}

async function dial(path: string): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect(path, () => res(s));
    s.once('error', rej);
  });
}

describe('QEMU stream transport', () => {
  let dir: string;
  let transports: QemuStreamTransport[] = [];
  const sockets: Socket[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hnt-qemu-'));
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const t of transports) await t.close();
    transports = [];
    rmSync(dir, { recursive: true, force: true });
  });

  async function listen(path: string, mtu = 1500): Promise<QemuStreamTransport> {
    const t = new QemuStreamTransport(`qemu://${path}`, { type: 'unix', path }, { mtu });
    transports.push(t);
    await t.start();
    return t;
  }

  /** A transport on `path` and one guest connected to it: the guest's socket and its link. */
  async function connected(path: string, mtu = 1500): Promise<{ t: QemuStreamTransport; a: Socket; link: Link }> {
    const t = await listen(path, mtu);
    const linkP = nextLink(t);
    const a = await dial(path);
    sockets.push(a);
    return { t, a, link: await linkP };
  }

  it('gives one link per connection and reassembles frames written byte by byte', async () => {
    const path = join(dir, 'run', 'qemu.sock');
    const { t, a, link } = await connected(path);
    const got = frames(link, 2);
    const bytes = Buffer.concat([encodeFrame(QEMU_STREAM, frame(60, 1)), encodeFrame(QEMU_STREAM, frame(1514, 2))]);
    for (const b of bytes) a.write(Buffer.from([b]));
    const [f1, f2] = await got;
    expect(f1.equals(frame(60, 1))).to.equal(true);
    expect(f2.equals(frame(1514, 2))).to.equal(true);
    expect(link.stats.rxFrames).to.equal(2);
    expect(link.stats.rxBytes).to.equal(1574);

    const link2P = nextLink(t);
    const b = await dial(path);
    sockets.push(b);
    const link2 = await link2P;
    expect(link2.id).not.to.equal(link.id);
    expect(t.activeLinks).to.have.length(2);
  });

  it('delivers the frames of one read inside the input batch, closed when the read is done', async () => {
    const { a, link } = await connected(join(dir, 'qemu.sock'));
    const got = frames(link, 2);
    const rec = recordBatches(link);
    a.write(Buffer.concat([encodeFrame(QEMU_STREAM, frame(60, 1)), encodeFrame(QEMU_STREAM, frame(70, 2))]));
    await got;
    expect(rec.frames.map((f) => f.split('/')[0]), 'each frame inside a bracket').to.deep.equal(['1', '1']);
    expect(rec.depth, 'closed after the read').to.equal(0);
  });

  it('drops a frame longer than mtu + 14, counts it, and keeps the connection', async () => {
    const { a, link } = await connected(join(dir, 'q.sock'), 1500);
    const got = frames(link, 1);
    a.write(encodeFrame(QEMU_STREAM, frame(1515, 3)));
    a.write(encodeFrame(QEMU_STREAM, frame(100, 4)));
    const [f] = await got;
    expect(f.equals(frame(100, 4))).to.equal(true);
    expect(link.stats.drops).to.deep.equal({ rx_oversized: 1 });
  });

  it('sends frames to the guest with a 4-byte big-endian length, coalesced', async () => {
    const { a, link } = await connected(join(dir, 'q.sock'));
    const got = readFrames(a, 3);
    const scratch = frame(200, 7);
    link.send(scratch);
    scratch.fill(0); // the caller may reuse its buffer right after send()
    link.send(frame(64, 8));
    link.send(frame(1514, 9));
    link.send(frame(1515, 10)); // oversized: dropped
    const out = await got;
    expect(out.map((f) => f.length)).to.deep.equal([200, 64, 1514]);
    expect(out[0].equals(frame(200, 7))).to.equal(true);
    expect(link.stats.txFrames).to.equal(3);
    expect(link.stats.drops).to.deep.equal({ tx_oversized: 1 });
  });

  it('fires onClose when the guest disconnects, then counts sends as dropped', async () => {
    const path = join(dir, 'q.sock');
    const t = await listen(path);
    const linkP = nextLink(t);
    const a = await dial(path);
    const link = await linkP;
    const closed = new Promise<void>((res) => (link.onClose = res));
    a.destroy();
    await closed;
    expect(() => link.send(frame(60, 1))).not.to.throw();
    expect(link.stats.drops.tx_closed).to.equal(1);
    expect(t.activeLinks).to.have.length(0);
  });

  it('replaces a stale socket file and removes it on close', async () => {
    const path = join(dir, 'stale.sock');
    // A daemon that died without cleanup: it bound the socket and was SIGKILLed.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(existsSync(path)).to.equal(true);
    const t = await listen(path);
    const linkP = nextLink(t);
    sockets.push(await dial(path));
    await linkP;
    await t.close();
    expect(existsSync(path)).to.equal(false);
  });

  it('refuses a socket path another process listens on, and a path that is not a socket', async () => {
    const path = join(dir, 'busy.sock');
    const other = createServer();
    await new Promise<void>((res) => other.listen(path, res));
    try {
      const t = new QemuStreamTransport(`qemu://${path}`, { type: 'unix', path }, { mtu: 1500 });
      const err = await t.start().then(() => null, (e: { code?: string }) => e);
      expect(err?.code).to.equal('HNET_SOCKET_IN_USE');
    } finally {
      await new Promise((res) => other.close(res));
    }
    const file = join(dir, 'file');
    writeFileSync(file, 'keep me');
    const t2 = new QemuStreamTransport(`qemu://${file}`, { type: 'unix', path: file }, { mtu: 1500 });
    const err2 = await t2.start().then(() => null, (e: { code?: string }) => e);
    expect(err2?.code).to.equal('HNET_BAD_SOCKET_PATH');
    expect(existsSync(file)).to.equal(true);
  });

  it('listens on TCP loopback and refuses a non-loopback host unless allowed', async () => {
    const t = new QemuStreamTransport('qemu+tcp://127.0.0.1:0', { type: 'tcp', host: '127.0.0.1', port: 0, allowRemote: false }, { mtu: 1500 });
    transports.push(t);
    await t.start();
    const port = Number(t.address()!.split(':').pop());
    const linkP = nextLink(t);
    const a = await new Promise<Socket>((res) => {
      const s = connect(port, '127.0.0.1', () => res(s));
    });
    sockets.push(a);
    const link = await linkP;
    const got = frames(link, 1);
    a.write(encodeFrame(QEMU_STREAM, frame(90, 6)));
    expect((await got)[0].length).to.equal(90);

    const bad = new QemuStreamTransport('qemu+tcp://0.0.0.0:0', { type: 'tcp', host: '0.0.0.0', port: 0, allowRemote: false }, { mtu: 1500 });
    const err = await bad.start().then(() => null, (e: { code?: string }) => e);
    expect(err?.code).to.equal('HNET_BAD_SPEC');
  });
});
