/**
 * RawTcpHost (raw-tcp.ts) against real loopback servers: connect and refusal,
 * bytes both ways, half-close kept both ways, back-pressure (pause/resume and
 * pendingBytes/drain), a host reset as an error, and destroy() closing once.
 */
import { expect } from 'chai';
import net from 'node:net';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { RawTcpHost } from '../../../src/lib/nat/raw-tcp.js';
import type { HostEvents } from '../../../src/lib/nat/host-stream.js';
import { forceGc } from '../../helpers/force-gc.js';

interface Recorder extends HostEvents {
  bytes: Buffer[];
  log: string[];
  pauseNext: boolean;
}

function recorder(): Recorder {
  const r: Recorder = {
    bytes: [],
    log: [],
    pauseNext: false,
    data(buf, n) {
      r.bytes.push(Buffer.from(buf.subarray(0, n)));
      if (r.pauseNext) {
        r.pauseNext = false;
        return false;
      }
      return true;
    },
    drain: () => r.log.push('drain'),
    end: () => r.log.push('end'),
    error: (code) => r.log.push(`error:${code}`),
    close: () => r.log.push('close'),
  };
  return r;
}

async function server(onConn: (s: net.Socket) => void): Promise<{ port: number; close(): void }> {
  const srv = net.createServer(onConn);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

function connect(port: number): Promise<{ host: RawTcpHost; err: string | null; closed: () => number }> {
  return new Promise((resolve) => {
    let closes = 0;
    const host: RawTcpHost = new RawTcpHost('127.0.0.1', port, {
      connected: (err) => resolve({ host, err, closed: () => closes }),
      handleClosed: () => closes++,
    });
  });
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond(), what).to.equal(true);
}

describe('host TCP without net.Socket (RawTcpHost)', () => {
  it('reports a refused connect by name and closes its handle', async () => {
    const probe = await server(() => undefined);
    probe.close(); // a port that was just free: nothing listens there now
    const { host, err, closed } = await connect(probe.port);
    expect(err).to.equal('ECONNREFUSED');
    await until(() => closed() === 1, 'handle closed once');
    expect(host.closed).to.equal(true);
  });

  it('can be destroyed while its connect hangs (the relay\'s connect timeout), closing once and never reporting the connect', async function () {
    // A listener that never accepts: once its queue is full, Linux drops further SYNs and a connect stays pending.
    const py = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)']);
    try {
      const [line] = (await once(py.stdout!, 'data')) as [Buffer];
      const port = Number(line.toString().trim());
      const fillers: net.Socket[] = [];
      for (let i = 0; i < 3; i++) fillers.push(net.connect(port, '127.0.0.1').on('error', () => undefined));
      await new Promise((r) => setTimeout(r, 100));
      const reports: Array<string | null> = [];
      let closes = 0;
      const host = new RawTcpHost('127.0.0.1', port, { connected: (err) => reports.push(err), handleClosed: () => closes++ });
      await new Promise((r) => setTimeout(r, 200));
      expect(reports, 'still connecting').to.deep.equal([]);
      host.destroy();
      await until(() => closes === 1, 'handle closed');
      await new Promise((r) => setTimeout(r, 50));
      expect(reports, 'a destroyed connect is not reported').to.deep.equal([]);
      expect(closes).to.equal(1);
      for (const f of fillers) f.destroy();
    } finally {
      py.kill();
    }
  });

  it('moves bytes both ways and keeps a half-close: the host still reads after our FIN', async () => {
    let got = Buffer.alloc(0);
    const srv = await server((s) => {
      s.on('data', (b) => (got = Buffer.concat([got, b])));
      s.on('end', () => s.end(`echo:${got.toString()}`));
    });
    const { host, err, closed } = await connect(srv.port);
    expect(err).to.equal(null);
    const r = recorder();
    host.attach(r);
    host.write([Buffer.from('he'), Buffer.from('llo')]);
    host.end();
    await until(() => r.log.includes('close'), 'closed after both FINs');
    expect(Buffer.concat(r.bytes).toString()).to.equal('echo:hello');
    expect(r.log).to.deep.equal(['end', 'close']);
    expect(host.readEnded).to.equal(true);
    expect(closed()).to.equal(1);
    srv.close();
  });

  it('runs its connect completion and every read inside its input batch', async () => {
    const srv = await server((s) => s.end('hello'));
    let depth = 0;
    let begins = 0;
    const seen: string[] = [];
    const batch = {
      beginInput: () => void (depth++, begins++),
      endInput: () => void depth--,
    };
    const r = recorder();
    const data = r.data;
    r.data = (buf, n) => {
      seen.push(`data@${depth}`);
      return data(buf, n);
    };
    r.end = () => seen.push(`end@${depth}`);
    const host = await new Promise<RawTcpHost>((resolve) => {
      const h: RawTcpHost = new RawTcpHost('127.0.0.1', srv.port, {
        connected: (err) => {
          seen.push(`connected@${depth}:${err}`);
          h.attach(r);
          resolve(h);
        },
        batch,
      });
    });
    await until(() => seen.some((x) => x.startsWith('end')), 'the host FIN');
    host.destroy();
    expect(seen[0]).to.equal('connected@1:null');
    expect(seen.slice(1)).to.include('data@1').and.include('end@1');
    expect(depth, 'every bracket closed').to.equal(0);
    expect(begins).to.be.greaterThan(1);
    srv.close();
  });

  it('reads into the buffer readBuffer names, from the next read on', async () => {
    const srv = await server((s) => {
      s.write('one');
      setTimeout(() => s.end('two'), 50);
    });
    const { host } = await connect(srv.port);
    const mine = Buffer.alloc(64 * 1024);
    const seen: Array<[boolean, string]> = [];
    const r = recorder();
    r.data = (buf, n) => (seen.push([buf === mine, buf.subarray(0, n).toString()]), true);
    r.readBuffer = () => mine;
    host.attach(r);
    await until(() => r.log.includes('end'), 'the host FIN');
    host.destroy();
    expect(seen).to.deep.equal([
      [false, 'one'],
      [true, 'two'],
    ]);
    srv.close();
  });

  it('stays open after the host FIN until we end too (host half-close)', async () => {
    let serverSide: net.Socket | null = null;
    let got = '';
    const srv = await server((s) => {
      serverSide = s;
      s.on('data', (b) => (got += b.toString()));
      s.end('bye');
    });
    const { host } = await connect(srv.port);
    const r = recorder();
    host.attach(r);
    await until(() => r.log.includes('end'), 'host FIN seen');
    expect(host.closed, 'open for writing after the host FIN').to.equal(false);
    host.write([Buffer.from('late')]);
    await until(() => got === 'late', 'written after the host FIN');
    host.end();
    await until(() => r.log.includes('close'), 'closed once both ended');
    expect(serverSide).to.not.equal(null);
    srv.close();
  });

  it('pauses reading when data() returns false and resumes on resume()', async () => {
    const srv = await server((s) => {
      s.write('first');
      setTimeout(() => s.end('second'), 50);
    });
    const { host } = await connect(srv.port);
    const r = recorder();
    r.pauseNext = true;
    host.attach(r);
    await until(() => r.bytes.length === 1, 'first read');
    await new Promise((res) => setTimeout(res, 150));
    expect(Buffer.concat(r.bytes).toString(), 'nothing read while paused').to.equal('first');
    expect(r.log).to.deep.equal([]);
    host.resume();
    await until(() => r.log.includes('end'), 'rest read after resume');
    expect(Buffer.concat(r.bytes).toString()).to.equal('firstsecond');
    host.destroy();
    srv.close();
  });

  it('counts bytes the kernel has not taken as pending and says drain when they are gone', async () => {
    let serverSide: net.Socket | null = null;
    let received = 0;
    const srv = await server((s) => {
      serverSide = s;
      s.pause(); // the host stops reading: our writes back up
      s.on('data', (b) => (received += b.length));
    });
    const { host } = await connect(srv.port);
    const r = recorder();
    host.attach(r);
    const chunk = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < 16 && host.pendingBytes === 0; i++) host.write([chunk]);
    expect(host.pendingBytes, 'a write that did not complete at once').to.be.greaterThan(0);
    await until(() => serverSide !== null, 'accepted');
    serverSide!.resume();
    await until(() => r.log.includes('drain'), 'drain');
    expect(host.pendingBytes).to.equal(0);
    host.end();
    serverSide!.on('end', () => serverSide!.end());
    await until(() => r.log.includes('close'), 'closed');
    expect(received % chunk.length).to.equal(0);
    expect(received).to.be.greaterThan(chunk.length);
    srv.close();
  });

  it('keeps each write that waits in the kernel apart: every byte counted until taken, one drain at the end', async () => {
    let serverSide: net.Socket | null = null;
    let received = 0;
    const srv = await server((s) => {
      serverSide = s;
      s.pause();
      s.on('data', (b) => (received += b.length));
    });
    const { host } = await connect(srv.port);
    const r = recorder();
    host.attach(r);
    const small = Buffer.alloc(100, 1);
    host.write([small]); // taken at once
    expect(host.pendingBytes).to.equal(0);
    const chunk = Buffer.alloc(1024 * 1024, 7);
    let written = small.length;
    for (let i = 0; i < 16 && host.pendingBytes === 0; i++) {
      host.write([chunk]);
      written += chunk.length;
    }
    const firstQueued = host.pendingBytes;
    expect(firstQueued, 'a write that did not complete at once').to.be.greaterThan(0);
    for (let i = 0; i < 3; i++) host.write([chunk]); // queued behind it, each with its own request
    written += 3 * chunk.length;
    expect(host.pendingBytes).to.equal(firstQueued + 3 * chunk.length);
    await until(() => serverSide !== null, 'accepted');
    serverSide!.resume();
    await until(() => r.log.includes('drain'), 'drain');
    expect(host.pendingBytes).to.equal(0);
    await until(() => received === written, 'every queued byte at the host');
    host.write([small]); // after them, with the kernel's buffer empty: taken at once again
    expect(host.pendingBytes).to.equal(0);
    written += small.length;
    await until(() => received === written, 'the last write at the host');
    expect(r.log.filter((e) => e === 'drain')).to.have.length(1);
    host.destroy();
    srv.close();
  });

  it('sends its FIN only after the writes still queued when end() is called', async () => {
    let serverSide: net.Socket | null = null;
    let received = 0;
    let endedAt = -1;
    const srv = await server((s) => {
      serverSide = s;
      s.pause();
      s.on('data', (b) => (received += b.length));
      s.on('end', () => {
        endedAt = received;
        s.end();
      });
    });
    const { host } = await connect(srv.port);
    const r = recorder();
    host.attach(r);
    const chunk = Buffer.alloc(1024 * 1024, 3);
    let written = 0;
    for (let i = 0; i < 16 && host.pendingBytes === 0; i++, written += chunk.length) host.write([chunk]);
    expect(host.pendingBytes, 'writes queued').to.be.greaterThan(0);
    host.end();
    await until(() => serverSide !== null, 'accepted');
    serverSide!.resume();
    await until(() => r.log.includes('close'), 'closed');
    expect(endedAt, 'FIN after every byte').to.equal(written);
    srv.close();
  });

  it('reports a host reset as an error, then closes', async () => {
    // Reset only once the connection is up: a reset before the connect completes is a failed connect.
    const srv = await server((s) => s.write('x', () => setTimeout(() => s.resetAndDestroy(), 20)));
    const { host, err } = await connect(srv.port);
    expect(err).to.equal(null);
    const r = recorder();
    host.attach(r);
    await until(() => r.log.includes('close'), 'closed');
    expect(Buffer.concat(r.bytes).toString()).to.equal('x');
    expect(r.log).to.deep.equal(['error:ECONNRESET', 'close']);
    expect(host.readEnded).to.equal(false);
    srv.close();
  });

  it('destroy() closes once, drops later calls, and fires close last', async () => {
    const srv = await server(() => undefined);
    const { host, closed } = await connect(srv.port);
    const r = recorder();
    host.attach(r);
    host.destroy();
    host.destroy();
    host.write([Buffer.from('ignored')]);
    host.end();
    await until(() => closed() === 1, 'handle closed');
    await new Promise((res) => setTimeout(res, 20));
    expect(r.log).to.deep.equal(['close']);
    expect(closed()).to.equal(1);
    srv.close();
  });

  it('drops its events object (the flow behind it) once closed', async () => {
    // Node frees a closed handle only at a full GC; through it, a flow's whole
    // object graph was copied and promoted by every young-generation GC.
    const srv = await server(() => undefined);
    const { host, closed } = await connect(srv.port);
    let ref: WeakRef<HostEvents> | null = null;
    (() => {
      const r = recorder();
      host.attach(r);
      ref = new WeakRef(r);
    })();
    host.destroy();
    await until(() => closed() === 1, 'handle closed');
    await forceGc();
    expect(ref!.deref(), 'the events object was collected').to.equal(undefined);
    expect(host.closed).to.equal(true);
    srv.close();
  });
});
