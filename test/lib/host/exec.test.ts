import { expect } from 'chai';
import { fakeRunner, formatCommand, run } from '../../../src/lib/host/exec.js';
import { HnetError } from '../../../src/lib/errors.js';

describe('host exec wrapper', () => {
  it('returns a non-zero exit code with both streams instead of throwing', async () => {
    expect(await run('sh', ['-c', 'echo out; echo err >&2; exit 3'])).to.deep.equal({ stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
  });

  it('feeds input to stdin', async () => {
    expect((await run('cat', [], { input: 'frame' })).stdout).to.equal('frame');
  });

  it('throws HNET_EXEC_NOT_FOUND only when the program does not exist', async () => {
    const err = await run('hnt-no-such-program', []).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HnetError).with.property('code', 'HNET_EXEC_NOT_FOUND');
  });

  it('quotes arguments for people only where the shell needs it', () => {
    expect(formatCommand('ip', ['addr', 'add', '10.0.0.1/32', 'dev', 'lo'])).to.equal('ip addr add 10.0.0.1/32 dev lo');
    expect(formatCommand('sh', ['-c', "echo it's"])).to.equal(`sh -c 'echo it'\\''s'`);
  });

  it('fake runner answers by exact line or pattern, records calls, and answers 127 otherwise', async () => {
    const r = fakeRunner([{ match: /^ip -j/, result: { stdout: '[]' } }]);
    expect((await r('ip', ['-j', 'route'])).stdout).to.equal('[]');
    expect((await r('netstat', ['-rn'])).exitCode).to.equal(127);
    expect(r.calls).to.deep.equal(['ip -j route', 'netstat -rn']);
  });
});
