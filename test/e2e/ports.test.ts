/**
 * `hnet ports` end to end (issue 6): a namespace guest serves HTTP on :80 and
 * a UDP echo on :53535; host clients on 127.0.0.1 reach them through
 * forwards made with the real CLI. Everything stays on loopback and inside
 * the test's namespace; the daemon's egress is limited to 127.0.0.0/8.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetns, freePorts, REPO_ROOT, requireRoot, run, spawnDaemon, useCleanup, type DaemonProcess, type Netns } from './harness/index.js';

const TOOLS = join(dirname(fileURLToPath(import.meta.url)), 'tools');
const GATEWAY = '192.168.65.1';
const GUEST = '192.168.65.2';
const BIG = 256 * 1024 * 1024;

interface CliJson {
  status?: string;
  message?: string;
  daemon?: string;
  error?: { code: string };
  ports?: Array<{ proto: string; hostIp: string; hostPort: number; guestIp?: string; guestPort: number; active?: boolean; saved?: boolean }>;
}

/** The real CLI, asynchronously; --json output parsed. */
function hnetCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; json: CliJson }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(REPO_ROOT, 'bin/dev.js'), ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => {
      let json: CliJson = {};
      try {
        json = JSON.parse(stdout) as CliJson;
      } catch {
        /* not JSON: the tests' deep equals fail with the text in stdout */
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

function get(port: number, path: string, onData?: (b: Buffer) => void): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => (onData ? onData(c) : chunks.push(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function udpAsk(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setInterval(() => s.send(text, port, '127.0.0.1'), 500);
    const done = (e?: Error, v?: string) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      s.close();
      if (e) reject(e);
      else resolve(v!);
    };
    const giveUp = setTimeout(() => done(new Error('no UDP echo within 10 s')), 10_000);
    s.on('message', (m) => done(undefined, m.toString()));
    s.send(text, port, '127.0.0.1');
  });
}

describe('e2e: hnet ports (forwards from the host to a namespace guest)', function () {
  this.timeout(300_000);
  const cleanup = useCleanup();
  const tap = 'hntp0';
  let guest: Netns;
  let home: string;
  let web: string;
  let daemon: DaemonProcess;
  let bigSha: string;
  const ports: Record<string, number> = {};

  async function startDaemon(): Promise<void> {
    daemon = await spawnDaemon(['--home', home, '--listen', `tap:${tap}?netns=${guest.name}`, '--allow-egress', '127.0.0.0/8'], { cleanup });
    await guest.exec('ip', ['addr', 'replace', `${GUEST}/24`, 'dev', tap]);
    await guest.exec('ip', ['link', 'set', tap, 'up']);
    await guest.exec('ip', ['route', 'replace', 'default', 'via', GATEWAY]);
    // The guest speaks once, so the daemon knows "the only guest".
    await guest.exec('ping', ['-c', '1', '-W', '3', GATEWAY]);
  }

  before(async function () {
    requireRoot(this, ['ip', 'ping', 'curl']);
    home = mkdtempSync(join(tmpdir(), 'hnt-ports-home-'));
    web = mkdtempSync(join(tmpdir(), 'hnt-ports-web-'));
    cleanup.add('temp folders', () => {
      rmSync(home, { recursive: true, force: true });
      rmSync(web, { recursive: true, force: true });
    });
    writeFileSync(join(web, 'index.html'), '<h1>hello from the guest</h1>\n');
    const hash = createHash('sha256');
    const fd = openSync(join(web, 'big.bin'), 'w');
    for (let done = 0; done < BIG; done += 1 << 20) {
      const chunk = randomBytes(1 << 20);
      hash.update(chunk);
      writeSync(fd, chunk);
    }
    closeSync(fd);
    bigSha = hash.digest('hex');
    guest = await createNetns('hntp', cleanup);
    await guest.exec('ip', ['link', 'set', 'lo', 'up']);
    const server = guest.spawn(process.execPath, [join(TOOLS, 'ports-guest.mjs'), web], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res, rej) => {
      server.stdout!.on('data', (d) => String(d).includes('ready') && res());
      server.once('exit', (c) => rej(new Error(`guest server exited ${c}`)));
    });
    const roles = ['http', 'udp', 'closed', 'taken', 'offline'];
    (await freePorts(roles.length)).forEach((p, i) => (ports[roles[i]] = p));
    await startDaemon();
  });

  it('ports add 8080:80: the guest page answers on 127.0.0.1 (curl)', async () => {
    const r = await hnetCli(['ports', 'add', `${ports.http}:80`, '--home', home, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json).to.deep.include({ status: 'applied' });
    expect(r.json.ports).to.deep.equal([{ proto: 'tcp', hostIp: '127.0.0.1', hostPort: ports.http, guestPort: 80 }]);
    const { stdout } = await run('curl', ['-sS', '-m', '20', `http://127.0.0.1:${ports.http}/index.html`]);
    expect(stdout).to.equal('<h1>hello from the guest</h1>\n');
  });

  it('carries a 256 MiB download through the forward, sha256-exact', async () => {
    const hash = createHash('sha256');
    let size = 0;
    const r = await get(ports.http, '/big.bin', (c) => {
      size += c.length;
      hash.update(c);
    });
    expect(r.status).to.equal(200);
    expect(size).to.equal(BIG);
    expect(hash.digest('hex')).to.equal(bigSha);
  });

  it('serves 200 parallel clients, every one complete', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, () => get(ports.http, '/index.html')));
    expect(results.filter((r) => r.status === 200 && r.body.toString() === '<h1>hello from the guest</h1>\n')).to.have.length(200);
  });

  it('echoes through a UDP forward (/udp)', async () => {
    const r = await hnetCli(['ports', 'add', `${ports.udp}:53535/udp`, '--home', home, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(await udpAsk(ports.udp, 'hello-udp')).to.equal('hello-udp');
  });

  it('resets the host client when the guest port is closed', async () => {
    const r = await hnetCli(['ports', 'add', `${ports.closed}:81`, '--home', home, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const err = await get(ports.closed, '/').then(() => null, (e: NodeJS.ErrnoException) => e);
    expect(err?.code).to.equal('ECONNRESET');
  });

  it('ports remove frees the host port at once: a new listener binds it', async () => {
    const r = await hnetCli(['ports', 'remove', String(ports.closed), '--home', home, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.ports?.map((p) => p.hostPort)).to.deep.equal([ports.closed]);
    const s = net.createServer();
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.listen(ports.closed, '127.0.0.1', res);
    });
    s.close();
  });

  it('fails with HNET_PORT_IN_USE and exit 1 when another process holds the port', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(ports.taken, '127.0.0.1', r));
    try {
      const r = await hnetCli(['ports', 'add', `${ports.taken}:80`, '--home', home, '--json']);
      expect(r.code).to.equal(1);
      expect(r.json.error?.code).to.equal('HNET_PORT_IN_USE');
      const saved = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as { ports: Array<{ hostPort: number }> };
      expect(saved.ports.map((p) => p.hostPort)).to.not.include(ports.taken);
    } finally {
      holder.close();
    }
  });

  it('with the daemon stopped, ports add saves; the next start applies it and restores the others', async () => {
    await daemon.stop();
    const r = await hnetCli(['ports', 'add', `${ports.offline}:80`, '--home', home, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.status).to.equal('saved');
    expect(r.json.message).to.contain('applied at next start');
    await startDaemon();
    for (const p of [ports.http, ports.offline]) {
      const res = await get(p, '/index.html');
      expect(res.body.toString()).to.equal('<h1>hello from the guest</h1>\n');
    }
    expect(await udpAsk(ports.udp, 'again')).to.equal('again');
  });

  it('ports list --json shows the saved forwards as active, and stdout holds only JSON', async () => {
    const r = await hnetCli(['ports', 'list', '--home', home, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.daemon).to.equal('running');
    const rows = (r.json.ports ?? []).map((p) => [p.proto, p.hostPort, p.active, p.saved, p.guestIp]);
    expect(rows).to.deep.equal([
      ['tcp', ports.http, true, true, GUEST],
      ['udp', ports.udp, true, true, GUEST],
      ['tcp', ports.offline, true, true, GUEST],
    ]);
  });
});
