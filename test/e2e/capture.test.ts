/**
 * `hnet capture -w FILE --duration S` end to end: while a host client fetches a
 * page from a namespace guest through a port forward, the capture holds the
 * HTTP request as tshark decodes it. Loopback and the test's namespace only.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetns, REPO_ROOT, requireRoot, run, spawnDaemon, useCleanup, type Netns } from './harness/index.js';

const TOOLS = join(dirname(fileURLToPath(import.meta.url)), 'tools');

describe('e2e: hnet capture', function () {
  this.timeout(180_000);
  const cleanup = useCleanup();
  let guest: Netns;
  let home: string;
  let hostPort: number;

  before(async function () {
    requireRoot(this, ['ip', 'ping', 'curl', 'tshark']);
    home = mkdtempSync(join(tmpdir(), 'hnt-cap-home-'));
    const web = mkdtempSync(join(tmpdir(), 'hnt-cap-web-'));
    cleanup.add('temp folders', () => {
      rmSync(home, { recursive: true, force: true });
      rmSync(web, { recursive: true, force: true });
    });
    writeFileSync(join(web, 'captured-page.html'), 'captured\n');
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    hostPort = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    // The forward is restored from config at start: no CLI round trip needed.
    writeFileSync(join(home, 'config.json'), JSON.stringify({ version: 1, ports: [{ proto: 'tcp', hostIp: '127.0.0.1', hostPort, guestPort: 80 }] }));
    guest = await createNetns('hntc', cleanup);
    const server = guest.spawn(process.execPath, [join(TOOLS, 'ports-guest.mjs'), web], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res) => server.stdout!.on('data', (d) => String(d).includes('ready') && res()));
    await spawnDaemon(['--home', home, '--listen', `tap:hntc0?netns=${guest.name}`, '--allow-egress', '127.0.0.0/8'], { cleanup });
    await guest.exec('ip', ['addr', 'add', '192.168.65.2/24', 'dev', 'hntc0']);
    await guest.exec('ip', ['link', 'set', 'hntc0', 'up']);
    await guest.exec('ip', ['route', 'add', 'default', 'via', '192.168.65.1']);
    await guest.exec('ping', ['-c', '1', '-W', '3', '192.168.65.1']);
  });

  it('writes a pcap that tshark reads and that holds the HTTP request made during it', async () => {
    const file = join(home, 'f.pcap');
    const cap = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(REPO_ROOT, 'bin/dev.js'), 'capture', '-w', file, '--duration', '2', '--home', home, '--json'], { cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    cap.stdout.on('data', (d) => (stdout += d));
    cap.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => cap.on('close', r));
    let running = true;
    void exited.then(() => (running = false));
    // The CLI's start-up time varies: fetch until the capture has ended, so some fetch falls inside it.
    // The padded header makes a request of ~3 KiB: toward the guest it goes out without
    // being copied into a frame (GuestPort.sendv), and the capture must still show it.
    const pad = `X-Pad: ${'p'.repeat(3000)}`;
    while (running) {
      await run('curl', ['-sS', '-m', '5', '-o', '/dev/null', '-H', pad, `http://127.0.0.1:${hostPort}/captured-page.html`]);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await exited, stderr).to.equal(0);
    const summary = JSON.parse(stdout) as { file: string; seconds: number; packets: number };
    expect(summary.file).to.equal(file);
    expect(summary.seconds).to.equal(2);
    const { stdout: decoded } = await run('tshark', ['-r', file, '-Y', 'http.request', '-T', 'fields', '-e', 'http.request.uri']);
    expect(decoded.split('\n')).to.include('/captured-page.html');
    const { stdout: count } = await run('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number']);
    expect(count.trim().split('\n')).to.have.length(summary.packets);
    const { stdout: big } = await run('tshark', ['-r', file, '-Y', 'ip.dst == 192.168.65.2 && tcp.len >= 3000', '-T', 'fields', '-e', 'tcp.len']);
    expect(big.trim(), 'the padded request toward the guest, in one segment').to.not.equal('');
  });
});
