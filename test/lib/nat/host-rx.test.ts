/**
 * HostRxSlabs (host-rx.ts): host reads copied into recycled slabs; a view is
 * never overwritten before release() passes its end; the current slab goes
 * back once everything is acknowledged; dispose() frees all.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { DIRECT_READ_MIN, HOST_READ_BUFFER, HostRxSlabs, acceptWithOnread, setReadSink } from '../../../src/lib/nat/host-rx.js';
import { SLAB_SIZE, SlabPool } from '../../../src/lib/socket/tcp/slab-pool.js';

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 7 + i) & 0xff;
  return b;
}

describe('host reads in recycled slabs (HostRxSlabs)', () => {
  it('splits a read across two slabs into two views, never one that straddles', () => {
    const rx = new HostRxSlabs(new SlabPool(4));
    const views: Buffer[] = [];
    rx.copyIn(bytes(SLAB_SIZE - 10, 1), SLAB_SIZE - 10, (v) => views.push(v));
    rx.copyIn(bytes(30, 2), 30, (v) => views.push(v));
    expect(views.map((v) => v.length)).to.deep.equal([SLAB_SIZE - 10, 10, 20]);
    expect(views[1].buffer).to.not.equal(views[2].buffer);
    expect(Buffer.concat(views.slice(1)).equals(bytes(30, 2))).to.equal(true);
  });

  it('returns the current slab once all of it is acknowledged, and takes one from the pool for the next read', () => {
    const pool = new SlabPool(4);
    const rx = new HostRxSlabs(pool);
    const views: Buffer[] = [];
    rx.copyIn(bytes(100, 1), 100, (v) => views.push(v));
    rx.release(99);
    expect(pool.idle, 'one byte still referenced').to.equal(0);
    rx.release(100);
    expect(pool.idle, 'an idle connection pins no slab').to.equal(1);
    rx.copyIn(bytes(5, 2), 5, (v) => views.push(v));
    expect(pool.idle).to.equal(0);
    expect(pool.reused).to.equal(1);
    expect(views[1].equals(bytes(5, 2))).to.equal(true);
    rx.end();
    rx.release(105);
    expect(pool.idle).to.equal(1);
    rx.copyIn(bytes(5, 1), 5, () => expect.fail('no copies after end()'));
  });

  it('dispose() hands every slab back', () => {
    const pool = new SlabPool(8);
    const rx = new HostRxSlabs(pool);
    rx.copyIn(bytes(SLAB_SIZE * 2 + 5, 3), SLAB_SIZE * 2 + 5, () => undefined);
    rx.dispose();
    expect(pool.idle).to.equal(3);
  });

  describe('reads that land in place (nextReadBuffer)', () => {
    const directPool = () => new SlabPool(4, 0, 0, HOST_READ_BUFFER.length);

    it('sends a socket with a queue to a slab, and takes the read that landed there without a copy', () => {
      const rx = new HostRxSlabs(new SlabPool(4), directPool());
      const target = rx.nextReadBuffer(DIRECT_READ_MIN);
      expect(target).to.not.equal(HOST_READ_BUFFER);
      expect(target.length).to.equal(HOST_READ_BUFFER.length);
      bytes(5000, 4).copy(target);
      const views: Buffer[] = [];
      rx.copyIn(target, 5000, (v) => views.push(v));
      expect(views).to.have.length(1);
      expect(views[0].buffer, 'a view of the very memory read into').to.equal(target.buffer);
      expect(views[0].byteOffset).to.equal(target.byteOffset);
      expect(views[0].equals(bytes(5000, 4))).to.equal(true);
      const next = rx.nextReadBuffer(DIRECT_READ_MIN);
      expect(next.buffer, 'the rest of the same slab').to.equal(target.buffer);
      expect(next.byteOffset).to.equal(target.byteOffset + 5000);
    });

    it('moves to a fresh slab when less than DIRECT_READ_MIN is left', () => {
      const rx = new HostRxSlabs(new SlabPool(4), directPool());
      const first = rx.nextReadBuffer(DIRECT_READ_MIN);
      const n = first.length - DIRECT_READ_MIN + 1;
      rx.copyIn(first, n, () => undefined);
      expect(rx.nextReadBuffer(DIRECT_READ_MIN).buffer).to.not.equal(first.buffer);
    });

    it('goes back to the shared buffer after a small read, and frees the slab once acknowledged', () => {
      const pool = directPool();
      const rx = new HostRxSlabs(new SlabPool(4), pool);
      const target = rx.nextReadBuffer(DIRECT_READ_MIN);
      rx.copyIn(target, 100, () => undefined);
      expect(rx.nextReadBuffer(100)).to.equal(HOST_READ_BUFFER);
      rx.release(99);
      expect(pool.idle, 'a byte of it is still unacknowledged').to.equal(0);
      rx.release(100);
      expect(pool.idle).to.equal(1);
    });

    it('copies a read from any other buffer, even one of the same size', () => {
      const rx = new HostRxSlabs(new SlabPool(4), directPool());
      const target = rx.nextReadBuffer(DIRECT_READ_MIN);
      const other = Buffer.from(bytes(300, 6));
      const views: Buffer[] = [];
      rx.copyIn(other, 300, (v) => views.push(v));
      expect(views[0].buffer).to.not.equal(other.buffer);
      expect(views[0].buffer).to.not.equal(target.buffer);
      expect(views[0].equals(other)).to.equal(true);
    });

    it('keeps every unreleased view intact, reads landing where nextReadBuffer says, under random sizes and acknowledgements', () => {
      fc.assert(
        fc.property(fc.array(fc.record({ n: fc.integer({ min: 1, max: HOST_READ_BUFFER.length }), ackShare: fc.double({ min: 0, max: 1, noNaN: true }) }), { minLength: 1, maxLength: 30 }), (steps) => {
          // Pools of two: slabs come back and are reused while the property is checked.
          const rx = new HostRxSlabs(new SlabPool(2), new SlabPool(2, 0, 0, HOST_READ_BUFFER.length));
          const live: Array<{ start: number; view: Buffer; copy: Buffer }> = [];
          let total = 0;
          let acked = 0;
          let last = 0;
          steps.forEach((s, i) => {
            const into = last === 0 ? HOST_READ_BUFFER : rx.nextReadBuffer(last);
            const n = Math.min(s.n, into.length);
            bytes(n, i).copy(into); // the kernel's read
            rx.copyIn(into, n, (view) => {
              live.push({ start: total, view, copy: Buffer.from(view) });
              total += view.length;
            });
            last = n;
            acked = Math.max(acked, Math.floor(total * s.ackShare));
            rx.release(acked);
            for (const l of live) if (l.start + l.view.length > acked) expect(l.view.equals(l.copy), 'an unacknowledged view changed').to.equal(true);
          });
        }),
        { numRuns: 150 },
      );
    });
  });

  it('keeps every unreleased view intact under random reads and acknowledgements', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ n: fc.integer({ min: 1, max: HOST_READ_BUFFER.length }), ackShare: fc.double({ min: 0, max: 1, noNaN: true }) }), { minLength: 1, maxLength: 30 }), (steps) => {
        const rx = new HostRxSlabs(new SlabPool(2));
        const live: Array<{ start: number; view: Buffer; copy: Buffer }> = [];
        let total = 0;
        let acked = 0;
        steps.forEach((s, i) => {
          const data = bytes(s.n, i);
          rx.copyIn(data, s.n, (view) => {
            live.push({ start: total, view, copy: Buffer.from(view) });
            total += view.length;
          });
          acked = Math.max(acked, Math.floor(total * s.ackShare));
          rx.release(acked);
          for (const l of live) if (l.start + l.view.length > acked) expect(l.view.equals(l.copy), 'an unacknowledged view changed').to.equal(true);
        });
      }),
      { numRuns: 150 },
    );
  });
});

describe('accepted sockets reading through onread (acceptWithOnread, setReadSink)', () => {
  // Closed after each test, so a failing one cannot keep the run alive.
  const opened: Array<{ destroy?(): void; close?(): void }> = [];
  afterEach(() => {
    for (const o of opened.splice(0)) (o.destroy ?? o.close)?.call(o);
  });

  it('hands every byte a client sends to the sink, and still emits end and writes back', async () => {
    const net = await import('node:net');
    const got: Buffer[] = [];
    const server = net.createServer();
    opened.push(server);
    await new Promise<void>((res) => server.listen({ host: '127.0.0.1', port: 0 }, () => res()));
    expect(acceptWithOnread(server)).to.equal(true);
    const served = new Promise<void>((res) => {
      server.on('connection', (s: import('node:net').Socket) => {
        expect(setReadSink(s, (n, buf) => (got.push(Buffer.from(buf.subarray(0, n))), true))).to.equal(true);
        opened.push(s);
        s.on('end', () => s.end('bye'));
        s.on('close', () => res());
      });
    });
    const payload = bytes(300_000, 5);
    const client = net.connect({ host: '127.0.0.1', port: (server.address() as import('node:net').AddressInfo).port });
    opened.push(client);
    const reply: Buffer[] = [];
    client.on('data', (d: Buffer) => reply.push(d));
    client.end(payload);
    await served;
    await new Promise<void>((res) => (client.closed ? res() : client.on('close', () => res())));
    server.close();
    expect(Buffer.concat(got).equals(payload)).to.equal(true);
    expect(Buffer.concat(reply).toString()).to.equal('bye');
  });

  it('reads into the buffer the sink\'s chooser names, from the next read on', async () => {
    const net = await import('node:net');
    const mine = Buffer.alloc(64 * 1024);
    const seen: Array<[boolean, string]> = [];
    const server = net.createServer();
    opened.push(server);
    await new Promise<void>((res) => server.listen({ host: '127.0.0.1', port: 0 }, () => res()));
    acceptWithOnread(server);
    const two = new Promise<void>((res) => {
      server.on('connection', (s: import('node:net').Socket) => {
        opened.push(s);
        setReadSink(
          s,
          (n, buf) => {
            seen.push([buf === mine, buf.subarray(0, n).toString()]);
            if (seen.length === 2) res();
            return true;
          },
          () => mine,
        );
      });
    });
    const client = net.connect({ host: '127.0.0.1', port: (server.address() as import('node:net').AddressInfo).port });
    opened.push(client);
    client.write('one');
    await new Promise((r) => setTimeout(r, 50));
    client.write('two');
    await two;
    expect(seen).to.deep.equal([
      [false, 'one'],
      [true, 'two'],
    ]);
  });

  it('refuses a socket that does not read through onread', async () => {
    const net = await import('node:net');
    expect(setReadSink(new net.Socket(), () => true)).to.equal(false);
  });
});
