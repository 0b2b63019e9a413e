import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runQueueWaitMs } from '../../../src/lib/daemon/run-queue-wait.js';

describe('runQueueWaitMs', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'hnet-rqw-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the runqueue wait (ns, the second field) as milliseconds, anew on each call', () => {
    const f = join(dir, 'schedstat');
    writeFileSync(f, '183473523 13274958 369\n');
    const read = runQueueWaitMs(f);
    expect(read).to.be.a('function');
    expect(read!()).to.be.closeTo(13.274958, 1e-9);
    writeFileSync(f, '283473523 21500000 412\n');
    expect(read!(), 'the same descriptor, read again from its start').to.be.closeTo(21.5, 1e-9);
  });

  it('is null where there is no such file or its figures are zeros (no scheduler statistics)', () => {
    expect(runQueueWaitMs(join(dir, 'missing'))).to.equal(null);
    const f = join(dir, 'schedstat');
    writeFileSync(f, '0 0 1\n');
    expect(runQueueWaitMs(f)).to.equal(null);
  });

  it("gives this thread's own wait on Linux, which never goes back", function () {
    if (process.platform !== 'linux') this.skip();
    const read = runQueueWaitMs();
    expect(read, '/proc/thread-self/schedstat is readable').to.be.a('function');
    const a = read!();
    let x = 0;
    for (let i = 0; i < 1e6; i++) x += i; // run a little
    const b = read!();
    expect(x).to.be.greaterThan(0);
    expect(a).to.be.at.least(0);
    expect(b).to.be.at.least(a);
  });
});
