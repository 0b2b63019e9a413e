/**
 * The bench's connection tool (bench/tools/conn-tool.mjs) on loopback: its
 * two echo servers and the rate client. Which side closed first is read
 * from the kernel: the side that closes first keeps the TIME-WAIT socket.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, sh, start } from '../../bench/lib/proc.js';

const TOOL = join(dirname(fileURLToPath(import.meta.url)), '../../bench/tools/conn-tool.mjs');

/** TIME-WAIT sockets on 127.0.0.1 whose local port is `port`. */
function timeWaitFrom(port: number): number {
  const out = execFileSync('ss', ['-Htan', 'state', 'time-wait', 'sport', `= :${port}`]).toString();
  return out.split('\n').filter((l) => l.trim()).length;
}

async function rate(port: number, extra: string[]): Promise<{ connections: number; errors: number }> {
  const out = await sh(process.execPath, [TOOL, 'rate', '127.0.0.1', String(port), '1', '4', ...extra]);
  return JSON.parse(out.trim().split('\n').pop()!) as { connections: number; errors: number };
}

describe('bench connection tool', function () {
  this.timeout(30_000);

  for (const [what, serverArgs, rateArgs, serverClosesFirst] of [
    ['the echo server: the client closes first', [], [], false],
    ['`server ... close` with `rate ... host-closes`: the server closes first', ['close'], ['host-closes'], true],
  ] as const) {
    it(what, async () => {
      const [port] = await freePorts(1);
      const srv = await start(process.execPath, [TOOL, 'server', '127.0.0.1', String(port), ...serverArgs], { ready: /listening/ });
      try {
        const r = await rate(port!, [...rateArgs]);
        expect(r.errors).to.equal(0);
        expect(r.connections).to.be.greaterThan(50);
        const held = timeWaitFrom(port!);
        if (serverClosesFirst) expect(held, 'TIME-WAIT on the server\'s port').to.be.greaterThan(r.connections / 2);
        else expect(held, 'TIME-WAIT on the server\'s port').to.equal(0);
      } finally {
        await srv.stop();
      }
    });
  }
});
