/**
 * `hnet run [--] CMD` (DESIGN §4): CMD runs in a fresh namespace networked by
 * hnet, its output and exit status come through, and no namespace, tap or
 * /etc/netns entry is left behind. Guest flows may only reach 127.0.0.0/8;
 * DNS forwarding goes to a dead loopback port (host.hnet.internal is local).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot, useCleanup, httpServer, run, REPO_ROOT, type TestHttpServer } from './harness/index.js';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function hnetRun(args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(REPO_ROOT, 'bin/dev.js'), 'run', '--allow-egress', '127.0.0.0/8', '--dns-upstream', '127.0.0.1:9', ...args], { cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function leftovers(): Promise<string[]> {
  const ns = (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith('hnet-run-'));
  const links = (await run('ip', ['-o', 'link'])).stdout.split('\n').filter((l) => /: hnr[0-9a-z]+[:@]/.test(l));
  const etc = existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.startsWith('hnet-run-')) : [];
  return [...ns, ...links, ...etc];
}

describe('e2e: hnet run', function () {
  this.timeout(120_000);
  const cleanup = useCleanup();
  let host: TestHttpServer;
  let before0: string[];

  before(async function () {
    requireRoot(this, ['ip', 'curl']);
    host = await httpServer({ cleanup });
    before0 = await leftovers();
  });

  after(() => cleanup.run());

  it('runs curl against host.hnet.internal, prints the host server\'s answer and exits 0', async () => {
    const r = await hnetRun(['--', 'curl', '-s', '--max-time', '20', `http://host.hnet.internal:${host.port}/from-run`]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('hello from host GET /from-run\n');
    expect(host.requests.map((q) => q.url)).to.include('/from-run');
  });

  it('gives the namespace the gateway as its only nameserver, through a private resolv.conf', async () => {
    const hostResolv = (await run('cat', ['/etc/resolv.conf'])).stdout;
    const r = await hnetRun(['--', 'cat', '/etc/resolv.conf']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^nameserver 192\.168\.65\.1$/m);
    expect((await run('cat', ['/etc/resolv.conf'])).stdout).to.equal(hostResolv);
  });

  it('exits with the command\'s status: false gives 1, sh -c "exit 7" gives 7', async () => {
    expect((await hnetRun(['--', 'false'])).code).to.equal(1);
    expect((await hnetRun(['--', 'sh', '-c', 'exit 7'])).code).to.equal(7);
  });

  it('honours --mtu on the guest interface', async () => {
    const r = await hnetRun(['--mtu', '9000', '--', 'sh', '-c', 'ip -o link | grep hnr']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/mtu 9000/);
  });

  it('leaves no namespace, tap or /etc/netns entry behind', async () => {
    expect(await leftovers()).to.deep.equal(before0);
  });
});
