// Host-side probes of diagnose on the loopback: plain connects and forward probes (reset = the guest refused).
import { expect } from 'chai';
import { createServer, type Server, type Socket } from 'node:net';
import { forwardProbe, tcpProbe } from '../../../src/lib/diagnose/facts.js';

async function listen(onConn: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConn);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

describe('diagnose host probes (facts.ts)', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('tcpProbe: connected to a listener, ECONNREFUSED on a closed port', async () => {
    const { server, port } = await listen((s) => s.end());
    servers.push(server);
    expect(await tcpProbe('127.0.0.1', port, 5000)).to.deep.equal({ ok: true, result: 'connected' });
    server.close();
    await new Promise((r) => server.once('close', r));
    expect(await tcpProbe('127.0.0.1', port, 5000)).to.deep.equal({ ok: false, result: 'ECONNREFUSED' });
  });

  it('forwardProbe: a connection that stays open (the guest answered) is "answered"', async () => {
    const held: Socket[] = [];
    const { server, port } = await listen((s) => held.push(s));
    servers.push(server);
    expect(await forwardProbe('127.0.0.1', port, 5000, 200)).to.deep.equal({ ok: true, result: 'answered' });
    held.forEach((s) => s.destroy());
  });

  it('forwardProbe: a connection the listener resets (the guest refused) is "reset"', async () => {
    const { server, port } = await listen((s) => s.resetAndDestroy());
    servers.push(server);
    expect(await forwardProbe('127.0.0.1', port, 10_000, 5000)).to.deep.equal({ ok: false, result: 'reset' });
  });
});
