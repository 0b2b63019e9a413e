/**
 * ChurnMap (churn-map.ts): the Map operations, and what it is for: values
 * churned through a table that lives in the old generation are not promoted by
 * the young-generation GC once deleted. The GC part runs in a child node with
 * `--trace-gc-nvp` and sums the bytes each scavenge promoted, against the same
 * churn through a plain Map (which shows the setup does make V8 rehash an old
 * table: if a plain Map stops promoting there, this workaround may be obsolete).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ChurnMap } from '../../src/lib/churn-map.js';

const run = promisify(execFile);

/** Bytes promoted by scavenges while 50 000 values of ~8 KB pass through a table holding 16 at a time. */
async function promotedBytes(kind: 'Map' | 'ChurnMap'): Promise<number> {
  const script = `
    import { ChurnMap } from './src/lib/churn-map.ts';
    const table = new ${kind}();
    globalThis.gc(); // a full GC moves the table (and its successors) to the old generation
    for (let i = 0; i < 50_000; i++) {
      table.set(i, new Array(1024).fill(i));
      table.delete(i - 16);
    }
    console.log('size', table.size);
  `;
  const { stdout } = await run(process.execPath, ['--expose-gc', '--trace-gc-nvp', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), maxBuffer: 64 << 20 });
  expect(stdout).to.match(/^size 16$/m);
  let promoted = 0;
  for (const m of stdout.matchAll(/ gc=s .*? promoted=(\d+)/g)) promoted += Number(m[1]);
  return promoted;
}

describe('ChurnMap', () => {
  it('gets, sets, replaces, deletes and lists like a Map', () => {
    const m = new ChurnMap<number, string>();
    expect(m.set(1, 'a').set(2, 'b').set(3, 'c').size).to.equal(3);
    expect(m.get(2)).to.equal('b');
    expect(m.has(3)).to.equal(true);
    m.set(2, 'B');
    expect([...m.values()], 'insertion order, replaced in place').to.deep.equal(['a', 'B', 'c']);
    expect(m.delete(2)).to.equal(true);
    expect(m.delete(2)).to.equal(false);
    expect(m.get(2)).to.equal(undefined);
    expect(m.has(2)).to.equal(false);
    expect(m.size).to.equal(2);
    m.set(2, 'again');
    expect([...m.values()]).to.deep.equal(['a', 'c', 'again']);
    m.clear();
    expect(m.size).to.equal(0);
    expect([...m.values()]).to.deep.equal([]);
  });

  it('lets the young-generation GC free deleted values that a plain Map leaves to be promoted', async function () {
    this.timeout(60_000);
    const [plain, churn] = await Promise.all([promotedBytes('Map'), promotedBytes('ChurnMap')]);
    expect(plain, 'the plain Map promotes deleted values (the setup works)').to.be.greaterThan(20 << 20);
    expect(churn, `ChurnMap promoted ${churn} bytes against ${plain}`).to.be.lessThan(plain / 4);
  });
});
