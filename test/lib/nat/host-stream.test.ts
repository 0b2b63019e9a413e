/**
 * DuplexHost (host-stream.ts): a port forward's accepted socket (reading
 * through onread) and a plain Duplex (a service) deliver each data event
 * inside the input batch they were given, closed when the event returns.
 */
import { expect } from 'chai';
import net from 'node:net';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { DuplexHost, type HostEvents } from '../../../src/lib/nat/host-stream.js';
import { acceptWithOnread } from '../../../src/lib/nat/host-rx.js';

function bracketed() {
  const r = {
    depth: 0,
    seen: [] as string[],
    batch: { beginInput: () => void r.depth++, endInput: () => void r.depth-- },
    events: {
      data: (buf: Buffer, n: number) => (r.seen.push(`${buf.subarray(0, n).toString()}@${r.depth}`), true),
      drain: () => undefined,
      end: () => undefined,
      error: () => undefined,
      close: () => undefined,
    } as HostEvents,
  };
  return r;
}

describe('a Duplex as the host side of a flow (DuplexHost)', () => {
  it('delivers a plain Duplex\'s data inside its input batch', () => {
    const r = bracketed();
    const d = new PassThrough();
    new DuplexHost(d, r.batch).attach(r.events);
    d.write('hi');
    expect(r.seen).to.deep.equal(['hi@1']);
    expect(r.depth).to.equal(0);
  });

  it('delivers an accepted socket\'s reads (through onread) inside its input batch', async () => {
    const r = bracketed();
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    acceptWithOnread(server);
    const accepted = new Promise<net.Socket>((res) => server.on('connection', res));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    try {
      const s = await accepted;
      new DuplexHost(s, r.batch).attach(r.events);
      client.write('yo');
      for (let i = 0; i < 200 && r.seen.length === 0; i++) await new Promise((res) => setTimeout(res, 5));
      expect(r.seen).to.deep.equal(['yo@1']);
      expect(r.depth).to.equal(0);
      s.destroy();
    } finally {
      client.destroy();
      server.close();
    }
  });
});
