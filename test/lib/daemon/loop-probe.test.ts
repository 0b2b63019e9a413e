import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { loopReadyProbe, epollWatching } from '../../../src/lib/daemon/loop-probe.js';

const turn = () => new Promise<void>((r) => setTimeout(r, 5));

describe('loop probe (Linux)', function () {
  before(function () {
    if (process.platform !== 'linux') this.skip();
  });

  it('finds the main loop epoll instance, says "nothing ready" when idle and "ready" once a datagram waits, without consuming it', async () => {
    const probe = loopReadyProbe();
    expect(probe, 'created on Linux').to.not.equal(null);
    await turn(); // libuv registers the beacon on its next poll
    probe!.ready(); // the lookup
    expect(probe!.usable).to.equal(true);
    const rx = dgram.createSocket('udp4');
    const got: string[] = [];
    rx.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
    try {
      await turn();
      expect(probe!.ready(), 'idle loop').to.equal(false);
      // Sent by another process, synchronously: nothing in this loop moves until we yield.
      execFileSync('bash', ['-c', `printf hello > /dev/udp/127.0.0.1/${rx.address().port}`]);
      let seen = false;
      const t0 = Date.now();
      while (!seen && Date.now() - t0 < 2000) seen = probe!.ready();
      expect(seen, 'the waiting datagram is seen without turning the loop').to.equal(true);
      expect(got, 'and not delivered yet').to.deep.equal([]);
      await turn();
      expect(got, 'looking consumed nothing: the loop still delivers it').to.deep.equal(['hello']);
    } finally {
      rx.close();
    }
  });

  it('reports no epoll instance for an fd nobody watches', () => {
    expect(epollWatching(0x7fff)).to.equal(-1);
  });
});
