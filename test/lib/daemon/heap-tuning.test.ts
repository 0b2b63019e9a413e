/**
 * Young-generation growth (heap-tuning.ts): with the daemon's growth factor
 * set at run time, the same allocation grows V8's young generation further
 * than with V8's default factor. Each case runs in a child node.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The young generation's size (MiB) after 2 million small objects, 50 000 of them alive at a time. */
async function youngGenerationMiB(tuned: boolean): Promise<number> {
  const script = `
    import v8 from 'node:v8';
    import { tuneYoungGeneration } from './src/lib/daemon/heap-tuning.ts';
    if (${tuned}) tuneYoungGeneration();
    let keep = [];
    for (let i = 0; i < 2e6; i++) { keep.push({ i }); if (keep.length > 50000) keep = []; }
    console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
  `;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd() });
  return Number(stdout.trim()) / 1048576;
}

describe('young generation growth', () => {
  it('grows further for the same survivors with the daemon growth factor', async function () {
    this.timeout(30_000);
    const [plain, tuned] = await Promise.all([youngGenerationMiB(false), youngGenerationMiB(true)]);
    expect(tuned, `tuned ${tuned} MiB against ${plain}`).to.be.greaterThan(plain);
  });
});
