// Each diagnose check passing and failing (or skipping) on fake facts built from fixtures.
import { expect } from 'chai';
import { daemonRunning } from '../../../src/lib/diagnose/checks/daemon.js';
import { daemonTransports } from '../../../src/lib/diagnose/checks/transports.js';
import { daemonGuests } from '../../../src/lib/diagnose/checks/guests.js';
import { dnsNames } from '../../../src/lib/diagnose/checks/dns-names.js';
import { dnsName } from '../../../src/lib/diagnose/checks/dns-name.js';
import { networkTarget } from '../../../src/lib/diagnose/checks/target.js';
import { proxySync } from '../../../src/lib/diagnose/checks/proxy-sync.js';
import { proxyUpstream } from '../../../src/lib/diagnose/checks/proxy-upstream.js';
import { portsForwards } from '../../../src/lib/diagnose/checks/ports.js';
import { aliasesPresent } from '../../../src/lib/diagnose/checks/aliases.js';
import { vpnInterfacesCheck } from '../../../src/lib/diagnose/checks/vpn-interfaces.js';
import { vpnTunnel } from '../../../src/lib/diagnose/checks/vpn-tunnel.js';
import { vpnOverlap } from '../../../src/lib/diagnose/checks/vpn-overlap.js';
import { vpnMtu } from '../../../src/lib/diagnose/checks/vpn-mtu.js';
import { vpnDns } from '../../../src/lib/diagnose/checks/vpn-dns.js';
import { defaultConfig } from '../../../src/lib/daemon/config.js';
import { HnetError } from '../../../src/lib/errors.js';
import { resolversFromResolvConf } from '../../../src/lib/host/dns-config.js';
import { parseProxyUrl } from '../../../src/lib/host/proxy/types.js';
import { diagFixture } from './fixtures.js';
import { fakeFacts, status, vpnHost } from './fake-facts.js';

const opts = (o: Partial<{ vpn: boolean; name: string; target: { host: string; port: number } }>) => ({ vpn: true, timeoutMs: 2000, ...o });

describe('diagnose: daemon checks', () => {
  it('daemon.running passes with the pid and fails naming hnet start --home', async () => {
    expect((await daemonRunning.run(fakeFacts())).status).to.equal('pass');
    const out = await daemonRunning.run(fakeFacts({ running: false }));
    expect(out.status).to.equal('fail');
    expect(out.next![0]).to.equal('start it: hnet start --home /tmp/h');
  });

  it('daemon.transports passes with a transport, fails with none, skips without a daemon', async () => {
    expect((await daemonTransports.run(fakeFacts())).status).to.equal('pass');
    expect((await daemonTransports.run(fakeFacts({ running: status({ transports: [] }) }))).status).to.equal('fail');
    expect((await daemonTransports.run(fakeFacts({ running: false }))).status).to.equal('skip');
  });

  it('daemon.guests passes when every guest has a lease, warns for a guest without one', async () => {
    expect((await daemonGuests.run(fakeFacts())).status).to.equal('pass');
    const out = await daemonGuests.run(fakeFacts({ running: status({ leases: [] }) }));
    expect(out.status).to.equal('warn');
    expect(out.detail).to.contain('02:00:00:00:00:02 (192.168.65.2)');
    expect((await daemonGuests.run(fakeFacts({ running: status({ guests: [] }) }))).status).to.equal('warn');
  });
});

describe('diagnose: DNS and target checks', () => {
  it("dns.names passes when the daemon answers hnet's names and fails on a wrong answer", async () => {
    expect((await dnsNames.run(fakeFacts({ daemonResolve: async (n) => [n.startsWith('host') ? '192.168.65.254' : '192.168.65.1'] }))).status).to.equal('pass');
    const out = await dnsNames.run(fakeFacts({ daemonResolve: async () => ['10.0.0.1'] }));
    expect(out.status).to.equal('fail');
    expect(out.detail).to.contain('expected 192.168.65.254');
    expect((await dnsNames.run(fakeFacts())).status).to.equal('skip');
  });

  it('dns.name skips without --name, fails when the host cannot resolve, fails when host and daemon differ', async () => {
    expect((await dnsName.run(fakeFacts({ options: opts({}) }))).status).to.equal('skip');
    const nx = Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    const f1 = await dnsName.run(fakeFacts({ options: opts({ name: 'db.corp.example' }), hostLookup: () => Promise.reject(nx) }));
    expect(f1.status).to.equal('fail');
    expect(f1.detail).to.contain('ENOTFOUND');
    const f2 = await dnsName.run(fakeFacts({ options: opts({ name: 'db.corp.example' }), daemonResolve: async () => ['198.51.100.9'] }));
    expect(f2.status).to.equal('fail');
    expect(f2.data).to.deep.equal({ host: ['203.0.113.10'], daemon: ['198.51.100.9'] });
    const ok = await dnsName.run(fakeFacts({ options: opts({ name: 'db.corp.example' }), daemonResolve: async () => ['203.0.113.10'] }));
    expect(ok.status).to.equal('pass');
  });

  it('network.target skips without --target, fails when the host is refused, passes when it connects', async () => {
    expect((await networkTarget.run(fakeFacts({ options: opts({}) }))).status).to.equal('skip');
    const t = opts({ target: { host: '127.0.0.1', port: 9 } });
    const refused = await networkTarget.run(fakeFacts({ options: t, tcpConnect: async () => ({ ok: false, result: 'ECONNREFUSED' }) }));
    expect(refused.status).to.equal('fail');
    expect(refused.detail).to.contain('ECONNREFUSED');
    expect((await networkTarget.run(fakeFacts({ options: t }))).status).to.equal('pass');
    const stack = await networkTarget.run(fakeFacts({ options: t, daemonConnect: async () => ({ ok: false, result: 'timeout' }) }));
    expect(stack.status).to.equal('fail');
  });
});

describe('diagnose: proxy, ports and aliases checks', () => {
  const corp = parseProxyUrl('http://proxy.corp.example:3128')!;

  it('proxy.sync passes when host and daemon agree, warns naming hnet proxy sync when they differ', async () => {
    const same = fakeFacts({ hostProxy: async () => ({ source: 'env', http: corp, https: corp, noProxy: [] }), daemonProxy: async () => ({ http: 'http://proxy.corp.example:3128', https: 'http://proxy.corp.example:3128', noProxy: [], source: 'env' }) });
    expect((await proxySync.run(same)).status).to.equal('pass');
    const differ = await proxySync.run(fakeFacts({ hostProxy: async () => ({ source: 'env', http: corp, noProxy: [] }) }));
    expect(differ.status).to.equal('warn');
    expect(differ.next).to.include('hnet proxy sync');
    const old = fakeFacts({ daemonProxy: () => Promise.reject(new HnetError('HNET_UNSUPPORTED', 'not yet')) });
    expect((await proxySync.run(old)).status).to.equal('skip');
    expect((await proxySync.run(fakeFacts({ running: false }))).status).to.equal('skip');
  });

  it('proxy.upstream skips without a proxy, fails when the proxy does not answer, passes when it does', async () => {
    expect((await proxyUpstream.run(fakeFacts())).status).to.equal('skip');
    const withProxy = { hostProxy: async () => ({ source: 'env' as const, http: corp, https: corp, noProxy: [] }) };
    const bad = await proxyUpstream.run(fakeFacts({ ...withProxy, tcpConnect: async () => ({ ok: false, result: 'ETIMEDOUT' }) }));
    expect(bad.status).to.equal('fail');
    expect(bad.detail).to.contain('proxy.corp.example:3128 (ETIMEDOUT)');
    expect((await proxyUpstream.run(fakeFacts(withProxy))).status).to.equal('pass');
  });

  it('ports.forwards passes when listeners accept, fails when one is down or a configured forward is missing', async () => {
    const fwd = { proto: 'tcp' as const, hostIp: '127.0.0.1', hostPort: 8080, guestIp: '192.168.65.2', guestPort: 80 };
    expect((await portsForwards.run(fakeFacts())).status).to.equal('skip');
    expect((await portsForwards.run(fakeFacts({ running: status({ ports: [fwd] }) }))).status).to.equal('pass');
    const down = await portsForwards.run(fakeFacts({ running: status({ ports: [fwd] }), forwardProbe: async () => ({ ok: false, result: 'ECONNREFUSED' }) }));
    expect(down.status).to.equal('fail');
    const refused = await portsForwards.run(fakeFacts({ running: status({ ports: [fwd] }), forwardProbe: async () => ({ ok: false, result: 'reset' }) }));
    expect(refused.detail).to.contain('refused by the guest');
    expect(refused.next![0]).to.equal('check that the guest listens on 192.168.65.2:80 (inside the guest: ss -ltn)');
    const config = { ...defaultConfig(), ports: [{ proto: 'tcp' as const, hostIp: '127.0.0.1', hostPort: 9090, guestPort: 90 }] };
    const missing = await portsForwards.run(fakeFacts({ config }));
    expect(missing.status).to.equal('fail');
    expect(missing.detail).to.contain('127.0.0.1:9090/tcp configured but not active');
  });

  it('aliases.present passes when every configured alias is on the loopback, fails naming the add command', async () => {
    const config = { ...defaultConfig(), aliases: [{ ip: '10.200.10.1', prefix: 32, name: 'db.local' }] };
    expect((await aliasesPresent.run(fakeFacts())).status).to.equal('skip');
    const gone = await aliasesPresent.run(fakeFacts({ config }));
    expect(gone.status).to.equal('fail');
    expect(gone.next).to.deep.equal(['sudo hnet alias add 10.200.10.1/32 --name db.local']);
    expect((await aliasesPresent.run(fakeFacts({ config, loopbackAliases: async () => [{ ip: '10.200.10.1', prefix: 32 }] }))).status).to.equal('pass');
  });
});

describe('diagnose: VPN checks (--vpn)', () => {
  it('vpn.interfaces lists cscotun0 with its address and MTU', async () => {
    const out = await vpnInterfacesCheck.run(fakeFacts(vpnHost()));
    expect(out.status).to.equal('pass');
    expect(out.detail).to.contain('cscotun0 10.77.0.5/24 mtu 1390');
    expect((await vpnInterfacesCheck.run(fakeFacts())).detail).to.contain('no VPN interface');
  });

  it('vpn.tunnel says split for the cscotun0 table', async () => {
    expect((await vpnTunnel.run(fakeFacts(vpnHost()))).data).to.deep.include({ mode: 'split', via: 'cscotun0' });
  });

  it('vpn.overlap fails on 192.168.65.0/25 with a next step naming --subnet, passes on a plain host', async () => {
    const out = await vpnOverlap.run(fakeFacts(vpnHost()));
    expect(out.status).to.equal('fail');
    expect(out.next![0]).to.contain('--subnet 192.168.66.0/24');
    expect((await vpnOverlap.run(fakeFacts())).status).to.equal('pass');
    expect((await vpnOverlap.run(fakeFacts({ ...vpnHost(), running: status({ subnet: '192.168.66.0/24' }) }))).status).to.equal('pass');
  });

  it('vpn.mtu warns with --mtu 1390 for a 1500 guest, passes for a 1390 guest', async () => {
    const out = await vpnMtu.run(fakeFacts(vpnHost()));
    expect(out.status).to.equal('warn');
    expect(out.next![0]).to.contain('--mtu 1390');
    expect((await vpnMtu.run(fakeFacts({ ...vpnHost(), running: status({ mtu: 1390 }) }))).status).to.equal('pass');
  });

  it("vpn.dns names the nameserver routed through the VPN", async () => {
    const out = await vpnDns.run(fakeFacts({ ...vpnHost(), resolvers: async () => resolversFromResolvConf(diagFixture('linux-resolv-conf-vpn.txt')) }));
    expect(out.data).to.deep.equal({ servers: [{ server: '10.77.1.53', via: 'cscotun0', domain: null }] });
    expect((await vpnDns.run(fakeFacts())).status).to.equal('skip');
  });
});
