/**
 * Issue 4 acceptance against the real daemon: DHCP and DNS for namespace
 * guests (RFC 2131/2132, RFC 1035, RFC 7766).
 *
 * The daemon runs in a private mount namespace (`unshare -m`, propagation
 * private) where /etc/resolv.conf, /etc/hosts and /etc/nsswitch.conf are
 * bind-mounted test files: the host's getaddrinfo then asks only a test DNS
 * server on 127.0.0.153:53 (zone-dns.ts), which is also the --dns-upstream
 * for forwarded types. The real files are never touched and the machine's
 * nameservers never asked. Two guest namespaces attach by tap; the guests
 * configure themselves with busybox udhcpc and query the gateway with
 * tools/dns-query.mjs and busybox nslookup. --allow-egress is loopback only.
 */
import { expect } from 'chai';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetns, requireRoot, run, spawnDaemon, uniqueSuffix, useCleanup, type DaemonProcess, type Netns } from './harness/index.js';
import { zoneDnsServer, type ZoneDnsServer } from './helpers/zone-dns.js';

const TOOLS = join(dirname(fileURLToPath(import.meta.url)), 'tools');
const GATEWAY = '192.168.65.1';
const HOST = '192.168.65.254';
const ZONE = 'hnt-e2e.test';
const MTU = 4000;
// Answers only: nothing is ever sent to these documentation addresses.
const WWW_A = '192.0.2.10';
const WWW_AAAA = '2001:db8::10';
const HOSTS_ONLY = { name: 'only-in-private-hosts.hnt-e2e-hosts', ip: '192.0.2.77' };
const BIG_TXT = Array.from({ length: 3600 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');

interface DnsResult {
  rcode?: string;
  aa?: boolean;
  tc?: boolean;
  transport?: string;
  udpTruncated?: boolean;
  answers?: Array<{ name: string; type: string; data: unknown }>;
  authorities?: string[];
  error?: string;
}

async function dnsQuery(ns: Netns, name: string, type: string, mode = 'auto', edns = '-'): Promise<DnsResult> {
  const { stdout } = await ns.exec(process.execPath, [join(TOOLS, 'dns-query.mjs'), GATEWAY, name, type, mode, edns, '6000']);
  return JSON.parse(stdout.trim()) as DnsResult;
}

async function counters(home: string): Promise<Record<string, number>> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--no-warnings', 'bin/dev.js', 'status', '--json', '--home', home]);
  return (JSON.parse(stdout) as { counters: Record<string, number> }).counters;
}

describe('e2e: DHCP and DNS for namespace guests through the daemon (issue 4)', function () {
  this.timeout(120_000);
  const cleanup = useCleanup();
  const sfx = uniqueSuffix();
  const taps = [`hd1${sfx}`, `hd2${sfx}`];
  const macs = ['02:00:00:e2:d4:01', '02:00:00:e2:d4:02'];
  let dir: string;
  let home: string;
  let guests: Netns[];
  let zone: ZoneDnsServer;
  let daemon: DaemonProcess;
  const leased: string[] = [];

  const startDaemon = () => {
    const mounts = ['resolv.conf', 'hosts', 'nsswitch.conf'].map((f) => `mount --bind ${join(dir, f)} /etc/${f}`).join(' && ');
    return spawnDaemon(
      ['--home', home, '--mtu', String(MTU), '--listen', `tap:${taps[0]}?netns=${guests[0].name}`, '--listen', `tap:${taps[1]}?netns=${guests[1].name}`, '--dns-upstream', `${zone.host}:${zone.port}`, '--allow-egress', '127.0.0.0/8'],
      { cleanup, wrap: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `${mounts} && exec "$@"`, 'sh'] },
    );
  };

  /** busybox udhcpc on guest i with its fixed MAC; the script applies the lease and records its environment. */
  const udhcpc = async (i: number, hostname: string): Promise<Record<string, string>> => {
    const [ns, tap] = [guests[i], taps[i]];
    await ns.exec('ip', ['link', 'set', tap, 'down']);
    await ns.exec('ip', ['link', 'set', tap, 'address', macs[i]]);
    await ns.exec('ip', ['addr', 'flush', 'dev', tap]);
    await ns.exec('ip', ['link', 'set', tap, 'up']);
    const out = join(dir, `udhcpc-${i}.env`);
    rmSync(out, { force: true });
    await ns.exec('busybox', ['udhcpc', '-i', tap, '-f', '-q', '-n', '-t', '6', '-T', '2', '-O', 'search', '-O', 'mtu', '-x', `hostname:${hostname}`, '-s', join(dir, 'udhcpc.sh')], { timeoutMs: 40_000 });
    return Object.fromEntries(
      readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  };

  before(async function () {
    requireRoot(this, ['ip', 'busybox', 'unshare', 'mount']);
    dir = mkdtempSync(join(tmpdir(), 'hnt-dhcpdns-'));
    home = join(dir, 'home');
    cleanup.add(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'resolv.conf'), `# hnet e2e: the daemon's private resolver\nnameserver 127.0.0.153\nsearch ${ZONE}\noptions timeout:1 attempts:2\n`);
    writeFileSync(join(dir, 'hosts'), `127.0.0.1 localhost\n${HOSTS_ONLY.ip} ${HOSTS_ONLY.name}\n`);
    writeFileSync(join(dir, 'nsswitch.conf'), 'hosts: files dns\n');
    // `udhcpc.env-N` per interface: the script runs inside the guest namespace only.
    writeFileSync(
      join(dir, 'udhcpc.sh'),
      `#!/bin/sh\ncase "$1" in bound|renew)\n  i=$(case "$interface" in ${taps[0]}) echo 0;; *) echo 1;; esac)\n  env > ${dir}/udhcpc-$i.env\n  ip addr flush dev "$interface"\n  ip addr add "$ip/$subnet" dev "$interface"\n  ip route replace default via "$router" dev "$interface"\n;; esac\nexit 0\n`,
    );
    chmodSync(join(dir, 'udhcpc.sh'), 0o755);
    zone = await zoneDnsServer({
      zone: ZONE,
      cleanup,
      records: {
        [ZONE]: { MX: [{ preference: 10, exchange: `mail.${ZONE}` }] },
        [`www.${ZONE}`]: { A: [WWW_A], AAAA: [WWW_AAAA], TXT: ['v=hnet-e2e'] },
        [`v4only.${ZONE}`]: { A: ['192.0.2.11'] },
        [`mail.${ZONE}`]: { A: ['192.0.2.25'] },
        [`_sip._tcp.${ZONE}`]: { SRV: [{ priority: 10, weight: 5, port: 5060, target: `sip.${ZONE}` }] },
        [`big.${ZONE}`]: { TXT: [BIG_TXT] },
      },
    });
    guests = [await createNetns('hntg', cleanup), await createNetns('hntg', cleanup)];
    daemon = await startDaemon();
  });

  describe('DHCP (RFC 2131)', () => {
    it('busybox udhcpc in a guest with no address gets a pool address, router, DNS, MTU and the host search list', async () => {
      const env = await udhcpc(0, 'guest-one');
      const last = Number(env.ip.split('.')[3]);
      expect(env.ip.startsWith('192.168.65.')).to.equal(true);
      expect(last).to.be.within(2, 253);
      expect(env.subnet).to.equal('255.255.255.0');
      expect(env.router).to.equal(GATEWAY);
      expect(env.dns).to.equal(GATEWAY);
      expect(env.mtu).to.equal(String(MTU));
      expect(env.search.split(' ')).to.include.members(['hnet.internal', ZONE]);
      leased[0] = env.ip;
      const { stdout } = await run(process.execPath, ['--import', 'tsx', '--no-warnings', 'bin/dev.js', 'status', '--json', '--home', home]);
      const report = JSON.parse(stdout) as { leases: Array<{ mac: string; ip: string; hostname: string | null }> };
      expect(report.leases.find((l) => l.mac === macs[0])).to.include({ ip: env.ip, hostname: 'guest-one' });
    });

    it('gives a second guest MAC a different address', async () => {
      const env = await udhcpc(1, 'guest-two');
      expect(env.ip.startsWith('192.168.65.')).to.equal(true);
      expect(env.ip).to.not.equal(leased[0]);
      leased[1] = env.ip;
    });

    it('gives the first MAC the same address again after a daemon restart (leases.json)', async () => {
      await daemon.stop();
      expect(existsSync(join(home, 'state', 'leases.json'))).to.equal(true);
      daemon = await startDaemon();
      // Ask for the second guest first: a server that hands out "the next free" address would now give it the first one's.
      expect((await udhcpc(1, 'guest-two')).ip).to.equal(leased[1]);
      expect((await udhcpc(0, 'guest-one')).ip).to.equal(leased[0]);
    });
  });

  describe('DNS from the guest (RFC 1035, RFC 7766)', () => {
    it('answers host.hnet.internal with the host address, to busybox nslookup too', async () => {
      const r = await dnsQuery(guests[0], 'host.hnet.internal', 'A', 'udp');
      expect(r).to.deep.include({ rcode: 'NOERROR', aa: true });
      expect(r.answers).to.deep.equal([{ name: 'host.hnet.internal', type: 'A', data: HOST }]);
      const { stdout } = await guests[0].exec('busybox', ['nslookup', 'host.hnet.internal', GATEWAY]);
      expect(stdout).to.match(new RegExp(`Address:\\s+${HOST.replace(/\./g, '\\.')}`));
    });

    it("answers A and AAAA of the test zone through the host's getaddrinfo, and invents no AAAA", async () => {
      const a = await dnsQuery(guests[0], `www.${ZONE}`, 'A');
      expect(a.rcode).to.equal('NOERROR');
      expect(a.answers!.map((x) => x.data)).to.deep.equal([WWW_A]);
      const aaaa = await dnsQuery(guests[0], `www.${ZONE}`, 'AAAA');
      expect(aaaa.answers!.map((x) => x.data)).to.deep.equal([WWW_AAAA]);
      const none = await dnsQuery(guests[0], `v4only.${ZONE}`, 'AAAA');
      expect(none).to.deep.include({ rcode: 'NOERROR', answers: [] });
      // getaddrinfo asked the test server named in the private resolv.conf
      expect(zone.queries).to.deep.include({ name: `www.${ZONE}`, type: 'AAAA', transport: 'udp' });
    });

    it('forwards MX, TXT and SRV to --dns-upstream and passes the answers through', async () => {
      const mx = await dnsQuery(guests[0], ZONE, 'MX');
      expect(mx.answers).to.deep.equal([{ name: ZONE, type: 'MX', data: { preference: 10, exchange: `mail.${ZONE}` } }]);
      const txt = await dnsQuery(guests[0], `www.${ZONE}`, 'TXT');
      expect(txt.answers).to.deep.equal([{ name: `www.${ZONE}`, type: 'TXT', data: 'v=hnet-e2e' }]);
      const srv = await dnsQuery(guests[0], `_sip._tcp.${ZONE}`, 'SRV');
      expect(srv.answers).to.deep.equal([{ name: `_sip._tcp.${ZONE}`, type: 'SRV', data: { priority: 10, weight: 5, port: 5060, target: `sip.${ZONE}` } }]);
      for (const type of ['MX', 'TXT', 'SRV']) expect(zone.queries.some((q) => q.type === type), type).to.equal(true);
    });

    it('sends a TXT answer over 3 KB truncated over UDP, then whole over TCP', async () => {
      const r = await dnsQuery(guests[0], `big.${ZONE}`, 'TXT', 'auto');
      expect(r).to.deep.include({ rcode: 'NOERROR', udpTruncated: true, transport: 'tcp', tc: false });
      expect(r.answers).to.have.length(1);
      expect(r.answers![0].data).to.equal(BIG_TXT);
      // the daemon itself had to retry its upstream over TCP
      expect(zone.queries).to.deep.include({ name: `big.${ZONE}`, type: 'TXT', transport: 'tcp' });
    });

    it('honours an EDNS0 payload size of 4096: the same TXT arrives whole over UDP (RFC 6891 §6.2.5)', async () => {
      const r = await dnsQuery(guests[1], `big.${ZONE}`, 'TXT', 'udp', '4096');
      expect(r).to.deep.include({ rcode: 'NOERROR', tc: false, transport: 'udp' });
      expect(r.answers!.map((x) => x.data)).to.deep.equal([BIG_TXT]);
    });

    it('resolves a name that only the private /etc/hosts knows, without asking any nameserver', async () => {
      expect(readFileSync('/etc/hosts', 'utf8')).to.not.include(HOSTS_ONLY.name);
      const r = await dnsQuery(guests[1], HOSTS_ONLY.name, 'A');
      expect(r.rcode).to.equal('NOERROR');
      expect(r.answers!.map((x) => x.data)).to.deep.equal([HOSTS_ONLY.ip]);
      expect(zone.queries.some((q) => q.name.startsWith(HOSTS_ONLY.name))).to.equal(false);
    });

    it('keeps NXDOMAIN as NXDOMAIN, for A through getaddrinfo and for forwarded types', async () => {
      for (const type of ['A', 'AAAA', 'MX', 'TXT']) {
        const r = await dnsQuery(guests[0], `missing.${ZONE}`, type);
        expect(r.rcode, type).to.equal('NXDOMAIN');
      }
      expect((await dnsQuery(guests[0], 'nothing.hnet.internal', 'A')).rcode).to.equal('NXDOMAIN');
    });
  });

  describe('garbage to the services', () => {
    it('drops and counts random, truncated and looping DHCP and DNS packets, and still answers', async () => {
      const before = await counters(home);
      const { stdout } = await guests[0].exec(process.execPath, [join(TOOLS, 'service-fuzz.mjs'), GATEWAY, '40', '4242'], { timeoutMs: 60_000 });
      const sent = JSON.parse(stdout) as { dns: Record<string, number>; dhcp: Record<string, number> };
      // The services still answer, which also means every garbage datagram before these was processed.
      const r = await dnsQuery(guests[0], 'host.hnet.internal', 'A', 'udp');
      expect(r.answers).to.deep.equal([{ name: 'host.hnet.internal', type: 'A', data: HOST }]);
      expect((await udhcpc(1, 'guest-two')).ip).to.equal(leased[1]);
      const after = await counters(home);
      const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
      expect(delta('drop.dns_malformed')).to.be.at.least(sent.dns.truncated + sent.dns.loop);
      expect(delta('drop.dhcp_malformed')).to.be.at.least(sent.dhcp.random + sent.dhcp.truncated + sent.dhcp.loop);
      expect(delta('dns_internal_error')).to.equal(0);
      expect(daemon.proc.exitCode).to.equal(null);
    });
  });
});
