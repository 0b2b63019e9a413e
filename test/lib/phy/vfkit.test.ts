/**
 * vfkit / QEMU dgram transport: unix datagram socket, one frame per datagram,
 * peer learned from its first datagram.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VfkitTransport, bindUnixDgram } from '../../../src/lib/phy/vfkit.js';
import { libc, sockaddrUn, SOCKADDR_UN_SIZE, MSG_DONTWAIT } from '../../../src/lib/phy/libc.js';
import type { Link } from '../../../src/lib/phy/link.js';
import { recordBatches } from './batch-recorder.js';

/** A peer (the "VM") with its own bound datagram socket. */
class Peer {
  readonly fd: number;
  constructor(readonly path: string) {
    this.fd = bindUnixDgram(path);
  }
  sendTo(dest: string, data: Buffer): void {
    const { addr, len } = sockaddrUn(dest);
    expect(libc().sendto(this.fd, data, data.length, 0, addr, len)).to.equal(data.length);
  }
  /** Wait (yielding to the event loop) for the next datagram. */
  async recv(): Promise<Buffer> {
    const buf = Buffer.alloc(65600);
    const a = Buffer.alloc(SOCKADDR_UN_SIZE);
    const al = new Int32Array([SOCKADDR_UN_SIZE]);
    for (;;) {
      const n = libc().recvfrom(this.fd, buf, buf.length, MSG_DONTWAIT, a, al);
      if (n >= 0) return buf.subarray(0, n);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  close(): void {
    libc().close(this.fd);
    try {
      unlinkSync(this.path);
    } catch {
      // gone
    }
  }
}

function frame(len: number, fill: number): Buffer {
  return Buffer.alloc(len, fill);
}

describe('vfkit datagram transport', function () {
  if (process.platform !== 'linux') return;
  let dir: string;
  let t: VfkitTransport;
  const peers: Peer[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hnt-vfk-'));
    t = new VfkitTransport('vfkit://x', join(dir, 'hnet.sock'), { mtu: 1500 });
    await t.start();
  });
  afterEach(async () => {
    for (const p of peers.splice(0)) p.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function nextLink(): Promise<Link> {
    return new Promise((res) => (t.onLink = res));
  }

  it('learns the peer from its first datagram, skips the VFKT greeting, and exchanges frames', async () => {
    const peer = new Peer(join(dir, 'vm.sock'));
    peers.push(peer);
    const got: Buffer[] = [];
    let link: Link | undefined;
    t.onLink = (l) => {
      l.onFrame = (f) => got.push(Buffer.from(f));
      link = l;
    };
    peer.sendTo(join(dir, 'hnet.sock'), Buffer.from('VFKT'));
    peer.sendTo(join(dir, 'hnet.sock'), frame(60, 1));
    peer.sendTo(join(dir, 'hnet.sock'), frame(1514, 2));
    peer.sendTo(join(dir, 'hnet.sock'), frame(1515, 3));
    peer.sendTo(join(dir, 'hnet.sock'), frame(100, 4));
    while (got.length < 3) await new Promise((r) => setTimeout(r, 5));
    expect(got.map((f) => [f.length, f[0]])).to.deep.equal([
      [60, 1],
      [1514, 2],
      [100, 4],
    ]);
    expect(link!.stats.drops).to.deep.equal({ rx_oversized: 1 });
    link!.send(frame(200, 9));
    const back = await peer.recv();
    expect(back.equals(frame(200, 9))).to.equal(true);
    expect(t.describe()).to.contain('vm.sock');
  });

  it('delivers each datagram after the first inside the input batch, closed when its read is done', async () => {
    const peer = new Peer(join(dir, 'vm.sock'));
    peers.push(peer);
    const first = nextLink();
    peer.sendTo(join(dir, 'hnet.sock'), Buffer.from('VFKT'));
    const link = await first;
    link.onFrame = () => undefined;
    const rec = recordBatches(link);
    peer.sendTo(join(dir, 'hnet.sock'), frame(60, 1));
    peer.sendTo(join(dir, 'hnet.sock'), frame(70, 2));
    while (rec.frames.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(rec.frames.map((f) => f.split('/')[0])).to.deep.equal(['1', '1']);
    expect(rec.depth).to.equal(0);
  });

  it('closes the link when the peer goes away and accepts the next peer', async () => {
    const a = new Peer(join(dir, 'a.sock'));
    const first = nextLink();
    a.sendTo(join(dir, 'hnet.sock'), frame(60, 1));
    const la = await first;
    const closed = new Promise<void>((res) => (la.onClose = res));
    a.close();
    la.send(frame(60, 2));
    await closed;
    expect(la.stats.drops.tx_peer_gone).to.equal(1);

    const b = new Peer(join(dir, 'b.sock'));
    peers.push(b);
    const second = nextLink();
    b.sendTo(join(dir, 'hnet.sock'), frame(70, 3));
    const lb = await second;
    expect(lb.id).not.to.equal(la.id);
    lb.send(frame(80, 4));
    expect((await b.recv()).length).to.equal(80);
  });

  it('removes its socket file on close', async () => {
    expect(existsSync(join(dir, 'hnet.sock'))).to.equal(true);
    await t.close();
    expect(existsSync(join(dir, 'hnet.sock'))).to.equal(false);
  });
});
