/**
 * The gateway's own services wired to the stack: DHCP on UDP 67 and DNS on
 * UDP and TCP 53 (DESIGN §1). DHCP replies go straight to the client's MAC
 * (it may not own its address yet, RFC 2131 §4.1); DNS answers are async, so
 * the query bytes are copied out of the frame first. DNS over TCP is a
 * GatewayService: one Duplex per guest connection, framed per RFC 7766 §8.
 * Local DNS records follow config.json while the daemon runs: `hnet alias
 * add --name` and DNS record edits persist there first (DESIGN §4), so before
 * answering a query the file's mtime is checked, at most every
 * RECORDS_CHECK_MS; a changed file is re-read, and one that does not load
 * keeps the records we have (counted as dns_config_unreadable).
 */
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Duplex } from 'node:stream';
import type { Counters } from '../counters.js';
import { parseIpv4 } from '../wire/addr.js';
import type { Interface, GuestUdp } from '../iface/interface.js';
import type { StackConfig } from '../iface/config.js';
import type { GatewayService } from '../nat/tcp.js';
import { loadConfig, type HnetConfig } from './config.js';
import { DhcpServer } from '../services/dhcp/server.js';
import { LeaseStore } from '../services/dhcp/lease-store.js';
import { DnsServer, type DnsRecord } from '../services/dns/server.js';
import { DnsTcpFramer } from '../services/dns/tcp-framer.js';
import { readHostResolvConf } from '../services/dns/resolv-conf.js';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const DNS_PORT = 53;
const LEASE_TIME_S = 3600;
/** How often config.json's mtime is checked for changed DNS records (ms). */
export const RECORDS_CHECK_MS = 1000;

export interface ServicesOptions {
  cfg: StackConfig;
  config: HnetConfig;
  leasesFile: string | null;
  /** --dns-upstream: replaces the host's nameservers for forwarded types. */
  dnsUpstreams?: Array<{ host: string; port: number }>;
  /** HOME/config.json, re-read for DNS records when it changes; derived from leasesFile (HOME/state/leases.json) if not given. */
  configFile?: string | null;
}

/** config.json DNS records plus `NAME.hnet.internal` for named aliases. */
export function dnsRecordsOf(config: HnetConfig): DnsRecord[] {
  const records: DnsRecord[] = [];
  for (const r of config.dnsRecords) {
    if (r.type === 'A' || r.type === 'AAAA' || r.type === 'CNAME' || r.type === 'TXT') records.push({ name: r.name, type: r.type, value: r.value });
  }
  for (const a of config.aliases) if (a.name) records.push({ name: `${a.name}.hnet.internal`, type: 'A', value: a.ip });
  return records;
}

export class GatewayServices {
  readonly dhcp: DhcpServer;
  readonly dns: DnsServer;
  private readonly configFile: string | null;
  private recordsCheckedAt = -Infinity;
  private configMtime = -1;

  constructor(
    private readonly iface: Interface,
    private readonly counters: Counters,
    opts: ServicesOptions,
  ) {
    const { cfg } = opts;
    const search = ['hnet.internal', ...readHostResolvConf().search.filter((s) => s !== 'hnet.internal')];
    this.dhcp = new DhcpServer(
      {
        subnet: cfg.subnet,
        gateway: cfg.gateway,
        hostIp: cfg.hostIp,
        poolStart: cfg.poolStart,
        poolEnd: cfg.poolEnd,
        dns: [cfg.gateway],
        domainSearch: search,
        mtu: cfg.mtu,
        leaseTimeS: LEASE_TIME_S,
        staticLeases: opts.config.staticLeases,
      },
      new LeaseStore(opts.leasesFile),
      counters,
    );
    this.dns = new DnsServer({ hostIp: cfg.hostIp, gateway: cfg.gateway, records: dnsRecordsOf(opts.config), upstreams: opts.dnsUpstreams }, counters);
    this.configFile = opts.configFile !== undefined ? opts.configFile : opts.leasesFile ? join(dirname(dirname(opts.leasesFile)), 'config.json') : null;
    this.configMtime = this.mtimeOf();
  }

  private mtimeOf(): number {
    if (!this.configFile) return -1;
    try {
      return statSync(this.configFile).mtimeMs;
    } catch {
      return -1;
    }
  }

  /** Re-read config.json's DNS records (aliases, dnsRecords) if the file changed since we last looked. */
  refreshRecords(now = Date.now()): void {
    if (!this.configFile || now - this.recordsCheckedAt < RECORDS_CHECK_MS) return;
    this.recordsCheckedAt = now;
    const mtime = this.mtimeOf();
    if (mtime === this.configMtime) return;
    this.configMtime = mtime;
    try {
      this.dns.setRecords(dnsRecordsOf(loadConfig(this.configFile)));
      this.counters.inc('dns.records_reloaded');
    } catch {
      this.counters.inc('dns_config_unreadable');
    }
  }

  /** The Interface's gatewayUdp handler: true when a service took the datagram. */
  handleUdp(d: GuestUdp): boolean {
    if (d.dstPort === DHCP_SERVER_PORT) {
      const reply = this.dhcp.handle(Date.now(), d.payload, { mac: d.srcMac, ip: d.src });
      if (reply) this.iface.sendUdp(this.iface.cfg.gateway, DHCP_SERVER_PORT, reply.dstIp, DHCP_CLIENT_PORT, reply.payload, { dstMac: reply.dstMac, port: d.port });
      return true;
    }
    if (d.dstPort === DNS_PORT && d.dst === this.iface.cfg.gateway) {
      const query = Buffer.from(d.payload);
      const { src, srcPort } = d;
      this.refreshRecords();
      void this.dns.handleUdp(query).then((answer) => {
        if (answer) this.iface.sendUdp(this.iface.cfg.gateway, DNS_PORT, src, srcPort, answer);
      });
      return true;
    }
    return false;
  }

  /** DNS over TCP on gateway:53 (RFC 7766): a Duplex per connection for the TCP NAT. */
  dnsOverTcp(): GatewayService {
    return () => {
      const framer = new DnsTcpFramer();
      let pending = 0;
      let ended = false;
      const duplex: Duplex = new Duplex({
        read() {},
        write: (chunk: Buffer, _enc, callback) => {
          let messages: Buffer[];
          try {
            messages = framer.push(chunk);
          } catch {
            this.counters.drop('dns_tcp_malformed');
            duplex.destroy();
            return callback();
          }
          if (messages.length > 0) this.refreshRecords();
          for (const m of messages) {
            pending++;
            void this.dns.handleTcp(m).then((answer) => {
              pending--;
              if (answer && !duplex.destroyed) duplex.push(framer.frame(answer));
              if (ended && pending === 0) duplex.push(null);
            });
          }
          callback();
        },
        final(callback) {
          ended = true;
          if (pending === 0) duplex.push(null);
          callback();
        },
      });
      return duplex;
    };
  }

  leases(): Array<{ mac: string; ip: string; hostname: string | null; expiresAt: string }> {
    return this.dhcp.list().map((l) => ({ mac: l.mac, ip: l.ip, hostname: l.hostname || null, expiresAt: new Date(l.expiresAt).toISOString() }));
  }

  /** Hostname a guest gave in its DHCP request, for status. */
  hostnameOf(mac: string): string | null {
    return this.dhcp.list().find((l) => l.mac === mac)?.hostname || null;
  }
}

/** Parse one --dns-upstream value: IP or IP:PORT (default port 53). */
export function parseDnsUpstream(text: string): { host: string; port: number } | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m || parseIpv4(m[1]) === undefined) return undefined;
  const port = m[2] ? Number(m[2]) : DNS_PORT;
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1], port };
}
