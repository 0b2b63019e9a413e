/**
 * The vpnkit transport end to end (issue 5): this test plays hyperkit. It
 * does the v22 handshake with the encoders of src/lib/phy/vpnkit.ts, gives
 * the tap in a test namespace the MAC the daemon assigned, then relays frames
 * between that tap and the socket with 2-byte little-endian framing. The
 * namespace's kernel pings the gateway and curls a host HTTP server on
 * 127.0.0.1 through .254. A client with a wrong magic or version gets hnet's
 * hello and a disconnect reply whose reason says what was wrong; the daemon
 * keeps serving the attached guest and accepts new clients.
 *
 * Safety: --allow-egress 127.0.0.0/8 only; the namespace routes everything
 * to the tap (checked with ip route get).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { requireRoot, useCleanup, createNetns, spawnDaemon, httpServer, assertRoutedVia, uniqueSuffix, type Netns, type DaemonProcess, type TestHttpServer } from './harness/index.js';
import { bridgeLinks, connectUnix, openNetnsTap, readExactly, streamLink, vpnkitClientHandshake } from './helpers/tap-bridge.js';
import { STDIO_STREAM } from '../../src/lib/phy/framing.js';
import { HELLO_LEN, REPLY_LEN, VPNKIT_MAGIC, VPNKIT_VERSION, encodeHello, macForUuid, parseHello, parseReply } from '../../src/lib/phy/vpnkit.js';
import { macToString } from '../../src/lib/wire/addr.js';

const GATEWAY = '192.168.65.1';
const HOST = '192.168.65.254';
const GUEST = '192.168.65.2';

/** Send a hello and read everything the daemon answers until it closes. */
async function refusedHello(path: string, hello: { magic: string; version: number; commit: string }): Promise<{ helloMagic: string; reply: ReturnType<typeof parseReply>; closed: boolean }> {
  const s = await connectUnix(path);
  try {
    const closed = new Promise<boolean>((res) => s.once('close', () => res(true)));
    s.on('error', () => undefined);
    s.write(encodeHello(hello));
    const h = await readExactly(s, HELLO_LEN);
    const r = await readExactly(s, REPLY_LEN);
    expect(r.length, 'a full 258-byte reply').to.equal(REPLY_LEN);
    s.resume(); // read on to the daemon's end of stream
    return { helloMagic: parseHello(h).magic, reply: parseReply(r), closed: await closed };
  } finally {
    s.destroy();
  }
}

describe('e2e: vpnkit transport with a namespace behind a hyperkit-like client', function () {
  this.timeout(90_000);
  const cleanup = useCleanup();
  let dir: string;
  let path: string;
  let daemon: DaemonProcess;
  let ns: Netns;
  let web: TestHttpServer;
  let client: Socket;
  const tap = `hntv${uniqueSuffix()}`;
  const uuid = randomUUID();

  before(async function () {
    requireRoot(this, ['ip', 'ping', 'curl']);
    dir = mkdtempSync(join(tmpdir(), 'hnt-vpnkit-'));
    cleanup.add('vpnkit dir', () => rmSync(dir, { recursive: true, force: true }));
    path = join(dir, 'vpnkit.sock');
    web = await httpServer({ cleanup });
    daemon = await spawnDaemon(['--listen', `vpnkit://${path}`, '--subnet', '192.168.65.0/24', '--allow-egress', '127.0.0.0/8', '--dns-upstream', '127.0.0.1:9'], { cleanup });
    ns = await createNetns('hntvk', cleanup);
  });

  it('handshakes (hello, ethernet command, vif reply with the UUID MAC) and carries the namespace: ping gateway, curl host', async () => {
    client = await connectUnix(path);
    cleanup.add('vpnkit client', () => client.destroy());
    const hs = await vpnkitClientHandshake(client, uuid);
    expect(hs.serverHello.magic).to.equal(VPNKIT_MAGIC);
    expect(hs.serverHello.version).to.equal(VPNKIT_VERSION);
    expect(hs.reply.type).to.equal('vif');
    if (hs.reply.type !== 'vif') return;
    expect(hs.reply.vif.mtu).to.equal(1500);
    expect(hs.reply.vif.maxPacketSize).to.equal(1514);
    expect(macToString(hs.reply.vif.mac)).to.equal(macToString(macForUuid(uuid)));

    const tapLink = await openNetnsTap(tap, ns.name, hs.reply.vif.mtu);
    cleanup.add('vpnkit tap', () => tapLink.close());
    // The VM's NIC takes the MAC vpnkit handed out.
    await ns.exec('ip', ['link', 'set', 'dev', tap, 'address', macToString(hs.reply.vif.mac)]);
    const counts = bridgeLinks(streamLink(client, STDIO_STREAM, hs.reply.vif.mtu), tapLink);
    client.resume();
    await ns.exec('ip', ['addr', 'add', `${GUEST}/24`, 'dev', tap]);
    await ns.exec('ip', ['route', 'add', 'default', 'via', GATEWAY]);
    await assertRoutedVia(HOST, tap, ns);

    const ping = await ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', GATEWAY]);
    expect(ping.stdout).to.match(/3 received/);
    const { stdout } = await ns.exec('curl', ['-sS', '--max-time', '20', `http://${HOST}:${web.port}/vpnkit`]);
    expect(stdout).to.equal('hello from host GET /vpnkit\n');
    expect(web.requests.at(-1)?.remoteAddress).to.match(/127\.0\.0\.1$/);
    expect(counts.aToB.frames).to.be.greaterThan(0);
    expect(daemon.stderr()).to.contain(`vpnkit guest connected link=vpnkit`);
  });

  it('refuses a wrong magic with its hello and a disconnect that names the magic', async () => {
    const r = await refusedHello(path, { magic: 'XXXXX', version: VPNKIT_VERSION, commit: 'test' });
    expect(r.helloMagic).to.equal(VPNKIT_MAGIC);
    expect(r.reply.type).to.equal('disconnect');
    if (r.reply.type !== 'disconnect') return;
    expect(r.reply.reason).to.equal('hnet: bad magic "XXXXX": expected VMN3T (is this a vpnkit client?)');
    expect(r.closed).to.equal(true);
    await daemon.waitFor(/vpnkit client refused[^\n]*bad magic/, 5_000);
  });

  it('refuses another protocol version, saying which one it speaks', async () => {
    const r = await refusedHello(path, { magic: VPNKIT_MAGIC, version: 21, commit: 'test' });
    expect(r.reply.type).to.equal('disconnect');
    if (r.reply.type !== 'disconnect') return;
    expect(r.reply.reason).to.equal(`hnet: unsupported vpnkit protocol version 21: hnet speaks version ${VPNKIT_VERSION}`);
    expect(r.closed).to.equal(true);
  });

  it('keeps serving after the refusals: the guest still reaches the host, and a new client gets a vif', async () => {
    const { stdout } = await ns.exec('curl', ['-sS', '--max-time', '20', `http://${HOST}:${web.port}/after`]);
    expect(stdout).to.equal('hello from host GET /after\n');
    const second = await connectUnix(path);
    try {
      const hs = await vpnkitClientHandshake(second, randomUUID());
      expect(hs.reply.type).to.equal('vif');
    } finally {
      second.destroy();
    }
  });
});
