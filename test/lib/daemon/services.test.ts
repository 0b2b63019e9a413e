/**
 * GatewayServices glue: DNS records follow config.json while the daemon runs
 * (DESIGN §4: mutating commands persist first, then apply), and the
 * --dns-upstream parser. The DNS answers themselves are tested in
 * test/lib/services/dns.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { Counters } from '../../../src/lib/counters.js';
import { updateConfig } from '../../../src/lib/daemon/config.js';
import { GatewayServices, parseDnsUpstream, RECORDS_CHECK_MS } from '../../../src/lib/daemon/services.js';
import { buildStackConfig } from '../../../src/lib/iface/config.js';
import type { Interface } from '../../../src/lib/iface/interface.js';
import { defaultConfig } from '../../../src/lib/daemon/config.js';

async function resolveA(s: GatewayServices, name: string): Promise<{ rcode: string | undefined; data: string[] }> {
  const q = dnsPacket.encode({ id: 7, type: 'query', flags: 0x0100, questions: [{ name, type: 'A' }] });
  const reply = dnsPacket.decode((await s.dns.handleUdp(q))!) as unknown as { rcode: string; answers?: Array<{ data: string }> };
  return { rcode: reply.rcode, data: (reply.answers ?? []).map((a) => a.data) };
}

describe('GatewayServices: DNS records follow config.json', () => {
  let home: string;
  let config: string;
  let counters: Counters;
  let services: GatewayServices;
  let t0: number;

  beforeEach(() => {
    t0 = Date.now();
    home = mkdtempSync(join(tmpdir(), 'hnt-services-'));
    config = join(home, 'config.json');
    counters = new Counters();
    services = new GatewayServices({} as Interface, counters, { cfg: buildStackConfig({}), config: defaultConfig(), leasesFile: null, configFile: config, dnsUpstreams: [] });
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('answers an alias name added to config.json after start, once the check interval has passed', async () => {
    expect((await resolveA(services, 'db.hnet.internal')).rcode).to.equal('NXDOMAIN');
    updateConfig(config, (c) => void c.aliases.push({ ip: '10.200.10.9', prefix: 32, name: 'db' }));
    services.refreshRecords(t0 + RECORDS_CHECK_MS + 1);
    expect(await resolveA(services, 'db.hnet.internal')).to.deep.equal({ rcode: 'NOERROR', data: ['10.200.10.9'] });
    expect(counters.get('dns.records_reloaded')).to.equal(1);
  });

  it('does not look at the file again within the check interval', async () => {
    services.refreshRecords(t0 + RECORDS_CHECK_MS + 1);
    updateConfig(config, (c) => void c.aliases.push({ ip: '10.200.10.9', prefix: 32, name: 'db' }));
    services.refreshRecords(t0 + RECORDS_CHECK_MS + 2);
    expect((await resolveA(services, 'db.hnet.internal')).rcode).to.equal('NXDOMAIN');
  });

  it('drops the name when the alias is removed from config.json', async () => {
    updateConfig(config, (c) => void c.aliases.push({ ip: '10.200.10.9', prefix: 32, name: 'db' }));
    services.refreshRecords(t0 + RECORDS_CHECK_MS + 1);
    updateConfig(config, (c) => void (c.aliases = []));
    utimesSync(config, new Date(), new Date(Date.now() + 5000)); // a distinct mtime even on coarse clocks
    services.refreshRecords(t0 + 2 * RECORDS_CHECK_MS + 2);
    expect((await resolveA(services, 'db.hnet.internal')).rcode).to.equal('NXDOMAIN');
  });

  it('keeps the records it has when config.json does not load, and counts it', async () => {
    updateConfig(config, (c) => void c.aliases.push({ ip: '10.200.10.9', prefix: 32, name: 'db' }));
    services.refreshRecords(t0 + RECORDS_CHECK_MS + 1);
    writeFileSync(config, '{ not json');
    utimesSync(config, new Date(), new Date(Date.now() + 10000));
    services.refreshRecords(t0 + 2 * RECORDS_CHECK_MS + 2);
    expect(counters.get('dns_config_unreadable')).to.equal(1);
    expect((await resolveA(services, 'db.hnet.internal')).data).to.deep.equal(['10.200.10.9']);
  });
});

describe('parseDnsUpstream (--dns-upstream IP[:PORT])', () => {
  const table: Array<[string, { host: string; port: number } | undefined]> = [
    ['10.0.0.53', { host: '10.0.0.53', port: 53 }],
    ['127.0.0.1:5353', { host: '127.0.0.1', port: 5353 }],
    [' 127.0.0.153:53 ', { host: '127.0.0.153', port: 53 }],
    ['127.0.0.1:0', undefined],
    ['127.0.0.1:65536', undefined],
    ['300.0.0.1', undefined],
    ['dns.example', undefined],
    ['::1', undefined],
  ];
  for (const [text, want] of table) it(`${JSON.stringify(text)} -> ${JSON.stringify(want)}`, () => expect(parseDnsUpstream(text)).to.deep.equal(want));
});
