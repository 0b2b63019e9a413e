/**
 * The guest-facing proxy end to end (issue 7): a namespace guest's curl goes
 * through http.hnet.internal:3128 to a REAL tinyproxy on loopback that
 * requires Basic auth, which hnet adds; guests never see the password.
 * Destinations are host addresses only: the host side of the test's corp veth
 * (a local address of this machine), 127.0.0.1, and the corp namespace.
 * Daemons get --allow-egress limited to loopback and the corp /24.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:tls';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCorpNetwork, createNetns, requireRoot, run, spawnDaemon, useCleanup, REPO_ROOT, type Cleanup, type CorpNetwork, type DaemonProcess, type Netns } from './harness/index.js';

const GATEWAY = '192.168.65.1';
const GUEST = '192.168.65.2';
const PASSWORD = 'Upstr3amPa55word';
const PASSWORD_B = 'Second8Pa55word';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

interface Tinyproxy {
  port: number;
  log(): string;
}

/** A real tinyproxy on 127.0.0.1:random that requires Basic user:password. */
async function startTinyproxy(dir: string, name: string, password: string, cleanup: Cleanup): Promise<Tinyproxy> {
  const port = await freePort();
  const logFile = join(dir, `${name}.log`);
  const conf = join(dir, `${name}.conf`);
  writeFileSync(conf, [`Port ${port}`, 'Listen 127.0.0.1', 'Timeout 30', `LogFile "${logFile}"`, 'LogLevel Info', 'MaxClients 50', `BasicAuth hnetuser ${password}`, 'Allow 127.0.0.1', ''].join('\n'));
  const proc: ChildProcess = spawn('tinyproxy', ['-d', '-c', conf], { stdio: 'ignore' });
  cleanup.add(`tinyproxy ${name}`, () => {
    proc.kill('SIGKILL');
  });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((res) => {
      const c = net.connect(port, '127.0.0.1', () => (c.destroy(), res(true)));
      c.on('error', () => res(false));
    });
    if (up) return { port, log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tinyproxy ${name} did not listen on ${port}`);
}

/** Run an hnet command class from source (tools/hnet-command.mjs) with a controlled environment. */
async function hnet(file: string, args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(REPO_ROOT, 'test/e2e/tools/hnet-command.mjs'), file, ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => (code === 0 ? resolve({ stdout: out }) : reject(new Error(`${file} ${args.join(' ')} exited ${code}: ${err}${out}`))));
  });
  return stdout;
}

/** Give a guest namespace a resolv.conf naming the gateway (ip netns exec bind-mounts /etc/netns/NAME/). */
function guestResolver(ns: Netns, cleanup: Cleanup): void {
  const dir = `/etc/netns/${ns.name}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'resolv.conf'), `nameserver ${GATEWAY}\n`);
  cleanup.add(`resolver ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
}

async function attachGuest(ns: Netns, tap: string): Promise<void> {
  await ns.exec('ip', ['addr', 'add', `${GUEST}/24`, 'dev', tap]);
  await ns.exec('ip', ['link', 'set', tap, 'up']);
  await ns.exec('ip', ['route', 'add', 'default', 'via', GATEWAY]);
}

function listen(server: Server | net.Server, host: string, port = 0): Promise<number> {
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => res((server.address() as AddressInfo).port));
  });
}

describe('e2e: guest-facing proxy on gateway:3128 chained to tinyproxy with Basic auth', function () {
  this.timeout(120_000);
  const cleanup = useCleanup();
  let dir: string;
  let guest: Netns;
  let corp: CorpNetwork;
  let daemon: DaemonProcess;
  let tpA: Tinyproxy;
  let tpB: Tinyproxy;
  let web: Server;
  let webPort: number;
  let directPort: number;
  let tlsPort: number;
  const seen: string[] = [];
  let releaseSlow: (() => void) | null = null;
  let envA: Record<string, string>;

  const curl = (args: string[]) => guest.exec('curl', ['-sS', '--max-time', '20', ...args], { timeoutMs: 30_000 });

  before(async function () {
    requireRoot(this, ['ip', 'curl', 'tinyproxy', 'openssl']);
    dir = mkdtempSync(join(tmpdir(), 'hnt-proxy-'));
    cleanup.add('temp dir', () => rmSync(dir, { recursive: true, force: true }));
    corp = await createCorpNetwork({ cleanup });
    tpA = await startTinyproxy(dir, 'a', PASSWORD, cleanup);
    tpB = await startTinyproxy(dir, 'b', PASSWORD_B, cleanup);
    // Web servers on the host side of the corp veth: a local address, not in any no_proxy.
    web = createHttpServer((req, res: ServerResponse) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === '/slow') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first half;');
        releaseSlow = () => res.end('second half\n');
        return;
      }
      res.end(`hello ${req.url}\n`);
    });
    cleanup.add('web', () => (web.closeAllConnections(), new Promise((r) => web.close(r))));
    webPort = await listen(web, corp.hostIp);
    const direct = createHttpServer((req, res) => res.end(`direct ${req.url}\n`));
    cleanup.add('direct web', () => (direct.closeAllConnections(), new Promise((r) => direct.close(r))));
    directPort = await listen(direct, corp.hostIp);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=corp.test', '-addext', `subjectAltName=IP:${corp.hostIp}`], { stdio: 'ignore' });
    const tls = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (s) => {
      s.on('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-length: 12\r\nconnection: close\r\n\r\nhello tls!!\n'));
    });
    cleanup.add('tls', () => new Promise((r) => tls.close(r)));
    tlsPort = await listen(tls, corp.hostIp);

    guest = await createNetns('hntpx', cleanup);
    guestResolver(guest, cleanup);
    const home = join(dir, 'home');
    envA = {
      HOME: dir,
      HTTP_PROXY: `http://hnetuser:${PASSWORD}@127.0.0.1:${tpA.port}`,
      HTTPS_PROXY: `http://hnetuser:${PASSWORD}@127.0.0.1:${tpA.port}`,
      NO_PROXY: `${corp.hostIp}:${directPort}`,
    };
    // No daemon yet: sync saves for the next start.
    const out = await hnet('src/commands/proxy/sync.ts', ['--home', home], envA);
    expect(out).to.contain('saved; applied at next start');
    expect(out).not.to.contain(PASSWORD);
    daemon = await spawnDaemon(['--home', home, '--listen', `tap:hnt0?netns=${guest.name}`, '--allow-egress', '127.0.0.0/8', '--allow-egress', `${corp.hostIp}/24`], { cleanup });
    await attachGuest(guest, 'hnt0');
  });

  it('serves a guest curl through http.hnet.internal:3128, via tinyproxy with the credentials hnet adds', async () => {
    const { stdout } = await curl(['-x', 'http://http.hnet.internal:3128', `http://${corp.hostIp}:${webPort}/via-a`]);
    expect(stdout).to.equal('hello /via-a\n');
    expect(tpA.log()).to.contain(`GET http://${corp.hostIp}:${webPort}/via-a`);
  });

  it('tunnels CONNECT to a host TLS server through tinyproxy', async () => {
    const { stdout } = await curl(['-x', `http://${GATEWAY}:3128`, '--cacert', join(dir, 'cert.pem'), `https://${corp.hostIp}:${tlsPort}/`]);
    expect(stdout).to.equal('hello tls!!\n');
    expect(tpA.log()).to.contain(`CONNECT ${corp.hostIp}:${tlsPort}`);
  });

  it('sends a no_proxy destination direct: tinyproxy never sees it', async () => {
    const { stdout } = await curl(['-x', `http://${GATEWAY}:3128`, `http://${corp.hostIp}:${directPort}/bypassed`]);
    expect(stdout).to.equal('direct /bypassed\n');
    expect(tpA.log()).not.to.contain('/bypassed');
    expect(tpB.log()).not.to.contain('/bypassed');
  });

  it('after proxy sync, the next request uses the new upstream while a connection opened before keeps working', async () => {
    const slow = guest.spawn('curl', ['-sS', '--max-time', '30', '-x', `http://${GATEWAY}:3128`, `http://${corp.hostIp}:${webPort}/slow`]);
    let slowOut = '';
    slow.stdout!.on('data', (d) => (slowOut += d));
    const slowDone = new Promise<number | null>((r) => slow.once('exit', (code) => r(code)));
    for (let i = 0; i < 100 && !releaseSlow; i++) await new Promise((r) => setTimeout(r, 100));
    expect(releaseSlow, 'the slow request reached the web server').to.not.equal(null);
    expect(tpA.log()).to.contain('/slow');
    const out = await hnet('src/commands/proxy/sync.ts', ['--home', daemon.home], { ...envA, HTTP_PROXY: `http://hnetuser:${PASSWORD_B}@127.0.0.1:${tpB.port}` });
    expect(out).to.contain('saved and applied');
    expect(out).to.match(/http: http:\/\/\*\*\*@127\.0\.0\.1:\d+ -> http:\/\/\*\*\*@127\.0\.0\.1:\d+/);
    const { stdout } = await curl(['-x', `http://${GATEWAY}:3128`, `http://${corp.hostIp}:${webPort}/via-b`]);
    expect(stdout).to.equal('hello /via-b\n');
    expect(tpB.log()).to.contain('/via-b');
    expect(tpA.log()).not.to.contain('/via-b');
    releaseSlow!();
    expect(await slowDone).to.equal(0);
    expect(slowOut).to.equal('first half;second half\n');
  });

  it('answers 502 with a reason when the upstream is unreachable', async () => {
    const dead = await freePort();
    const env = { ...envA, HTTP_PROXY: `http://hnetuser:${PASSWORD}@127.0.0.1:${dead}` };
    await hnet('src/commands/proxy/sync.ts', ['--home', daemon.home], env);
    const { stdout } = await curl(['-x', `http://${GATEWAY}:3128`, '-w', '\n%{http_code}', `http://${corp.hostIp}:${webPort}/dead`]);
    expect(stdout).to.match(/cannot reach upstream proxy http:\/\/\*\*\*@127\.0\.0\.1:\d+ \(ECONNREFUSED\)\n\n502$/);
  });

  it('shows the upstream password nowhere: status --json, proxy show --json, proxy env, the daemon log', async () => {
    const env = { ...envA, HNET_HOME: daemon.home };
    const [status, show, penv] = await Promise.all([
      run(process.execPath, ['--import', 'tsx', '--no-warnings', join(REPO_ROOT, 'bin/dev.js'), 'status', '--json', '--home', daemon.home]),
      hnet('src/commands/proxy/show.ts', ['--json'], env),
      hnet('src/commands/proxy/env.ts', [], env),
    ]);
    expect(JSON.parse(show).effective.authenticated).to.equal(true);
    // What the running daemon applies (the dead upstream synced just before), redacted.
    expect(JSON.parse(show).applied.http).to.match(/^http:\/\/\*\*\*@127\.0\.0\.1:\d+/);
    expect(penv).to.contain('http://http.hnet.internal:3128');
    for (const [what, text] of [['status', status.stdout], ['proxy show', show], ['proxy env', penv], ['daemon log', daemon.stderr() + daemon.stdout()]]) {
      expect(text, what).not.to.contain(PASSWORD);
      expect(text, what).not.to.contain(PASSWORD_B);
      expect(text, what).not.to.contain(Buffer.from(`hnetuser:${PASSWORD}`).toString('base64'));
    }
    expect(readFileSync(join(daemon.home, 'config.json'), 'utf8')).to.contain(PASSWORD); // kept for the daemon, in a 0600 file
    expect(statSync(join(daemon.home, 'config.json')).mode & 0o777).to.equal(0o600);
  });
});

describe('e2e: start --transparent-proxy', function () {
  this.timeout(120_000);
  const cleanup = useCleanup();
  let guest: Netns;
  let corp: CorpNetwork;
  let tp: Tinyproxy;

  before(async function () {
    requireRoot(this, ['ip', 'curl', 'tinyproxy']);
    const dir = mkdtempSync(join(tmpdir(), 'hnt-tproxy-'));
    cleanup.add('temp dir', () => rmSync(dir, { recursive: true, force: true }));
    corp = await createCorpNetwork({ cleanup });
    tp = await startTinyproxy(dir, 't', PASSWORD, cleanup);
    // A web server on port 80 inside the corp namespace.
    const server = corp.ns.spawn(process.execPath, ['-e', `require('http').createServer((q,s)=>s.end('corp '+q.url+'\\n')).listen(80,'${corp.corpIp}',()=>console.log('up'))`]);
    await new Promise<void>((res, rej) => {
      server.stdout!.once('data', () => res());
      server.once('exit', (c) => rej(new Error(`corp web server exited ${c}`)));
    });
    const home = join(dir, 'home');
    await hnet('src/commands/proxy/sync.ts', ['--home', home], { HOME: dir, HTTP_PROXY: `http://hnetuser:${PASSWORD}@127.0.0.1:${tp.port}`, HTTPS_PROXY: `http://hnetuser:${PASSWORD}@127.0.0.1:${tp.port}` });
    guest = await createNetns('hnttp', cleanup);
    await spawnDaemon(['--home', home, '--transparent-proxy', '--listen', `tap:hnt1?netns=${guest.name}`, '--allow-egress', '127.0.0.0/8', '--allow-egress', `${corp.corpIp}/32`], { cleanup });
    await attachGuest(guest, 'hnt1');
  });

  it('sends a guest curl to a corp web server on port 80, with no proxy variables, through tinyproxy', async () => {
    const { stdout } = await guest.exec('env', ['-i', 'PATH=/usr/bin:/bin', 'curl', '-sS', '--max-time', '20', `http://${corp.corpIp}/transparent`], { timeoutMs: 30_000 });
    expect(stdout).to.equal('corp /transparent\n');
    expect(tp.log()).to.contain(`GET http://${corp.corpIp}/transparent`);
  });
});
