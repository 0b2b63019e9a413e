/**
 * Real DHCP clients against DhcpServer (RFC 2131 end to end), Linux + root.
 *
 * A throwaway namespace hntd-<hex> holds a tap device whose fd this process
 * owns; busybox udhcpc and ISC dhclient run inside the namespace on that tap,
 * and every frame they send reaches only this test, which answers DHCP from
 * the gateway address with minimal Ethernet/IPv4/UDP framing written here.
 * Nothing is routed anywhere: the namespace has no other link. The clients
 * run with their own scripts (-s / -sf) that only write their environment to
 * a file, so the host's resolv.conf is never touched. Namespace, tap and
 * processes are removed in `after`, also on failure.
 */
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counters } from '../../../../src/lib/counters.js';
import { openTapFd, TapLink } from '../../../../src/lib/phy/tap.js';
import { LeaseStore } from '../../../../src/lib/services/dhcp/lease-store.js';
import { DhcpServer } from '../../../../src/lib/services/dhcp/server.js';
import { parseCidr, parseIpv4, parseMac } from '../../../../src/lib/wire/addr.js';
import { requireRoot, uniqueSuffix, which, skipUnless } from '../../../e2e/harness/env.js';

const GW = parseIpv4('192.168.65.1')!;
const GW_MAC = parseMac('02:68:6e:65:74:01')!;

function sum16(buf: Buffer, start: number, end: number, acc = 0): number {
  for (let i = start; i + 1 < end; i += 2) acc += buf.readUInt16BE(i);
  if ((end - start) & 1) acc += buf[end - 1] << 8;
  return acc;
}
const fold = (s: number): number => {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
};

/** Ethernet + IPv4 + UDP(67 -> 68) around a DHCP payload. */
function frame(dstMac: Buffer, dstIp: number, payload: Buffer): Buffer {
  const f = Buffer.alloc(14 + 20 + 8 + payload.length);
  dstMac.copy(f, 0);
  GW_MAC.copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  const ip = 14;
  f[ip] = 0x45;
  f.writeUInt16BE(20 + 8 + payload.length, ip + 2);
  f[ip + 8] = 64;
  f[ip + 9] = 17;
  f.writeUInt32BE(GW, ip + 12);
  f.writeUInt32BE(dstIp >>> 0, ip + 16);
  f.writeUInt16BE(fold(sum16(f, ip, ip + 20)), ip + 10);
  const udp = ip + 20;
  f.writeUInt16BE(67, udp);
  f.writeUInt16BE(68, udp + 2);
  f.writeUInt16BE(8 + payload.length, udp + 4);
  payload.copy(f, udp + 8);
  // UDP checksum over the pseudo header (RFC 768)
  const pseudo = sum16(f, ip + 12, ip + 20) + 17 + 8 + payload.length;
  const c = fold(sum16(f, udp, f.length, pseudo));
  f.writeUInt16BE(c === 0 ? 0xffff : c, udp + 6);
  return f;
}

function readEnv(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

async function waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  for (let t = 0; t < ms; t += 50) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('DHCP with real clients in a network namespace (RFC 2131)', function () {
  const sfx = uniqueSuffix();
  const ns = `hntd-${sfx}`;
  const tap = `hntdt${sfx}`;
  let dir = '';
  let link: TapLink | undefined;
  let nsMade = false;
  const children: ChildProcess[] = [];
  let server: DhcpServer;
  const counters = new Counters();

  before(function () {
    requireRoot(this, ['ip', 'busybox']);
    skipUnless(this, existsSync('/dev/net/tun') ? [] : ['needs /dev/net/tun']);
    dir = mkdtempSync(join(tmpdir(), 'hnt-dhcp-e2e-'));
    execFileSync('ip', ['netns', 'add', ns]);
    nsMade = true;
    link = new TapLink(tap, ns, openTapFd(tap, ns), 1500, true);
    execFileSync('ip', ['-n', ns, 'link', 'set', tap, 'address', '02:00:00:00:d0:01', 'up']);
    server = new DhcpServer(
      {
        subnet: parseCidr('192.168.65.0/24')!,
        gateway: GW,
        hostIp: parseIpv4('192.168.65.254')!,
        poolStart: parseIpv4('192.168.65.2')!,
        poolEnd: parseIpv4('192.168.65.253')!,
        dns: [GW],
        domainSearch: ['hnet.internal', 'corp.example.com'],
        mtu: 4000,
        leaseTimeS: 3600,
        staticLeases: [],
      },
      new LeaseStore(join(dir, 'leases.json')),
      counters,
    );
    const l = link;
    l.onFrame = (f) => {
      if (f.length < 42 || f.readUInt16BE(12) !== 0x0800 || f[23] !== 17) return;
      const ihl = (f[14] & 0xf) * 4;
      const udp = 14 + ihl;
      if (f.readUInt16BE(udp + 2) !== 67) return;
      const payload = f.subarray(udp + 8, udp + f.readUInt16BE(udp + 4));
      const reply = server.handle(Date.now(), payload, { mac: f.subarray(6, 12), ip: f.readUInt32BE(26) });
      if (reply) l.send(frame(reply.dstMac, reply.dstIp, reply.payload));
    };
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGKILL');
    await link?.close().catch(() => undefined);
    if (nsMade) execFileSync('ip', ['netns', 'del', ns]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('busybox udhcpc gets address, router, DNS, search list and MTU', async () => {
    const out = join(dir, 'udhcpc.env');
    const script = join(dir, 'udhcpc.sh');
    writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && env > ${out}\nexit 0\n`);
    chmodSync(script, 0o755);
    const c = spawn('ip', ['netns', 'exec', ns, 'busybox', 'udhcpc', '-i', tap, '-f', '-q', '-n', '-t', '5', '-T', '1', '-O', 'search', '-O', 'mtu', '-x', 'hostname:hntguest', '-s', script], { stdio: 'ignore' });
    children.push(c);
    const code = await new Promise<number | null>((r) => c.on('exit', r));
    expect(code).to.equal(0);
    const env = readEnv(out);
    expect(env.ip).to.equal('192.168.65.2');
    expect(env.subnet).to.equal('255.255.255.0');
    expect(env.router).to.equal('192.168.65.1');
    expect(env.dns).to.equal('192.168.65.1');
    expect(env.serverid).to.equal('192.168.65.1');
    expect(env.lease).to.equal('3600');
    expect(env.mtu).to.equal('4000');
    expect(env.search).to.equal('hnet.internal corp.example.com');
    expect(env.domain).to.equal('hnet.internal');
    const lease = server.list().find((l) => l.mac === '02:00:00:00:d0:01')!;
    expect(lease.ip).to.equal('192.168.65.2');
    expect(lease.hostname).to.equal('hntguest');
  });

  it('ISC dhclient binds the same address again (stable per MAC, init-reboot or selecting)', async function () {
    if (!which('dhclient')) skipUnless(this, ['needs dhclient (apt-get install isc-dhcp-client)']);
    const out = join(dir, 'dhclient.env');
    const script = join(dir, 'dhclient.sh');
    writeFileSync(script, `#!/bin/sh\n[ "$reason" = BOUND ] || [ "$reason" = REBOOT ] && env > ${out}\nexit 0\n`);
    chmodSync(script, 0o755);
    const c = spawn('ip', ['netns', 'exec', ns, 'dhclient', '-d', '-1', '-lf', join(dir, 'dhclient.leases'), '-pf', join(dir, 'dhclient.pid'), '-sf', script, tap], { stdio: 'ignore' });
    children.push(c);
    await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').includes('new_ip_address'), 'dhclient to bind');
    c.kill('SIGKILL');
    const env = readEnv(out);
    expect(env.new_ip_address).to.equal('192.168.65.2');
    expect(env.new_routers).to.equal('192.168.65.1');
    expect(env.new_domain_search).to.equal('hnet.internal. corp.example.com.');
    expect(env.new_interface_mtu).to.equal('4000');
    expect(env.new_dhcp_lease_time).to.equal('3600');
    expect(counters.get('drop.dhcp_malformed')).to.equal(0);
  });
});
