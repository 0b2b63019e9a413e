/**
 * The e2e harness itself: namespaces appear and disappear, the corp network
 * is routed through our own veth and answers ping, host peers answer.
 */
import { expect } from 'chai';
import { createSocket } from 'node:dgram';
import { requireRoot, useCleanup, createNetns, createCorpNetwork, assertRoutedVia, run, udpEchoServer, httpServer, Cleanup } from './harness/index.js';

describe('e2e harness', function () {
  this.timeout(60_000);
  const cleanup = useCleanup();

  before(function () {
    requireRoot(this, ['ip', 'ping']);
  });

  it('creates a namespace with loopback up and deletes it on destroy', async () => {
    const ns = await createNetns('hnth', cleanup);
    expect(ns.name).to.match(/^hnth-[0-9a-f]{6}$/);
    const { stdout } = await ns.exec('ip', ['-o', 'link', 'show', 'lo']);
    expect(stdout).to.match(/state UNKNOWN|UP/);
    expect((await run('ip', ['netns', 'list'])).stdout).to.contain(ns.name);
    await ns.destroy();
    expect((await run('ip', ['netns', 'list'])).stdout).not.to.contain(ns.name);
  });

  it('routes the corp network through its own veth and reaches it', async () => {
    const corp = await createCorpNetwork({ cleanup });
    expect(corp.corpIp).to.match(/^198\.18\.\d+\.2$/);
    await assertRoutedVia(corp.corpIp, corp.hostDev);
    await run('ping', ['-c', '1', '-W', '5', corp.corpIp]);
    await corp.destroy();
    const { stdout } = await run('ip', ['-o', 'link']);
    expect(stdout).not.to.contain(corp.hostDev);
  });

  it('refuses an address that is not routed via the named device', async () => {
    let err: Error | undefined;
    try {
      await assertRoutedVia('127.0.0.1', 'hntnothere0');
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/SAFETY/);
  });

  it('runs every cleanup step even when one fails', async () => {
    const c = new Cleanup();
    const ran: string[] = [];
    c.add('a', () => ran.push('a'));
    c.add('b', () => {
      throw new Error('boom');
    });
    c.add('c', () => ran.push('c'));
    let err: Error | undefined;
    await c.run().catch((e: Error) => (err = e));
    expect(ran).to.deep.equal(['c', 'a']);
    expect(err?.message).to.contain('boom');
  });

  it('serves UDP echo and HTTP on 127.0.0.1', async () => {
    const echo = await udpEchoServer({ cleanup });
    const sock = createSocket('udp4');
    const reply = await new Promise<Buffer>((res) => {
      sock.once('message', (m) => res(m));
      sock.send(Buffer.from('ping-42'), echo.port, '127.0.0.1');
    });
    sock.close();
    expect(reply.toString()).to.equal('ping-42');
    const http = await httpServer({ cleanup });
    const body = await (await fetch(`${http.url}/x`)).text();
    expect(body).to.equal('hello from host GET /x\n');
    expect(http.requests).to.have.length(1);
  });
});
