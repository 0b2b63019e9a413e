/**
 * The gateway's DHCP server (RFC 2131 §4.3, options per RFC 2132/3397).
 * Sans-IO: the stack hands it the UDP payload of a datagram to port 67 with
 * the sender's MAC and IP and the current time (ms); it returns the reply to
 * send from gateway:67 to dstIp:68 (dstMac at L2), or null. It never throws
 * on guest input: bad packets are counted as `drop.dhcp_malformed`, a pool
 * with nothing free as `dhcp_pool_exhausted`.
 *
 * Addresses are stable per MAC: static leases first, then the MAC's recorded
 * address (even if expired), then the requested address, then the first pool
 * address nobody ever had, then the longest-expired record of another MAC.
 * Relays (giaddr) are not supported: such requests are dropped and counted.
 */
import type { Counters } from '../../counters.js';
import {
  BROADCAST_MAC,
  cidrContains,
  ipv4ToString,
  macToString,
  parseIpv4,
  parseMac,
  prefixMask,
  type Ipv4,
  type Ipv4Cidr,
} from '../../wire/addr.js';
import type { LeaseStore } from './lease-store.js';
import {
  BOOTREPLY,
  BOOTREQUEST,
  FLAG_BROADCAST,
  MsgType,
  Opt,
  WireError,
  emitDhcp,
  encodeDomainSearch,
  ipOption,
  ipsValue,
  messageType,
  parseDhcp,
  u16Value,
  u32Value,
  type DhcpMessage,
} from './message.js';

export interface DhcpConfig {
  subnet: Ipv4Cidr;
  gateway: Ipv4;
  hostIp: Ipv4;
  poolStart: Ipv4;
  poolEnd: Ipv4;
  dns: Ipv4[];
  domainSearch: string[];
  mtu: number;
  leaseTimeS: number;
  staticLeases: Array<{ mac: string; ip: string; hostname?: string }>;
}

export interface DhcpReply {
  payload: Buffer;
  dstIp: Ipv4;
  dstMac: Buffer;
  broadcast: boolean;
}

/** How long an OFFER holds its address for the client (ms). */
export const OFFER_HOLD_MS = 60_000;
/** How long a DECLINEd address stays out of the pool (ms); RFC 2131 §4.3.3 leaves it to us. */
export const DECLINE_HOLD_MS = 10 * 60_000;

const BROADCAST_IP = 0xffffffff;

/** Options offered when the client sends no parameter request list (RFC 2131 §4.3.1). */
const DEFAULT_PARAMS = [Opt.SubnetMask, Opt.Router, Opt.DnsServer, Opt.DomainName, Opt.BroadcastAddress, Opt.DomainSearch];

export class DhcpServer {
  private readonly statics = new Map<string, { ip: Ipv4; hostname: string }>();
  private readonly staticIps = new Set<Ipv4>();
  private readonly offers = new Map<string, { ip: Ipv4; until: number }>();
  private readonly declined = new Map<Ipv4, number>();

  constructor(
    private readonly cfg: DhcpConfig,
    private readonly leases: LeaseStore,
    private readonly counters: Counters,
  ) {
    for (const s of cfg.staticLeases) {
      const mac = parseMac(s.mac);
      const ip = parseIpv4(s.ip);
      if (!mac || ip === undefined) continue; // config validation reports these
      this.statics.set(macToString(mac), { ip, hostname: s.hostname ?? '' });
      this.staticIps.add(ip);
    }
  }

  /** Leases for status / GET /v1/leases. */
  list(): Array<{ mac: string; ip: string; hostname: string; expiresAt: number }> {
    return this.leases.list();
  }

  handle(now: number, payload: Buffer, _from: { mac: Buffer; ip: Ipv4 }): DhcpReply | null {
    let msg: DhcpMessage;
    try {
      msg = parseDhcp(payload);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.counters.drop('dhcp_malformed');
      return null;
    }
    const type = messageType(msg);
    if (msg.op !== BOOTREQUEST || msg.htype !== 1 || msg.hlen !== 6 || type === undefined) {
      this.counters.drop('dhcp_malformed');
      return null;
    }
    if (msg.giaddr !== 0) {
      this.counters.drop('dhcp_relayed');
      return null;
    }
    this.counters.inc(`dhcp.rx.${type}`);
    this.prune(now);
    switch (type) {
      case MsgType.Discover:
        return this.discover(now, msg);
      case MsgType.Request:
        return this.request(now, msg);
      case MsgType.Decline:
        return this.decline(now, msg);
      case MsgType.Release:
        return this.release(now, msg);
      case MsgType.Inform:
        return this.inform(msg);
      default:
        this.counters.drop('dhcp_unexpected_type');
        return null;
    }
  }

  /** Forget offers and declines whose hold has passed, so neither map grows without bound. */
  private prune(now: number): void {
    for (const [mac, o] of this.offers) if (o.until <= now) this.offers.delete(mac);
    for (const [ip, until] of this.declined) if (until <= now) this.declined.delete(ip);
  }

  // --- address selection -------------------------------------------------

  private usable(ip: Ipv4): boolean {
    const { subnet } = this.cfg;
    const bcast = (subnet.network | ~prefixMask(subnet.prefix)) >>> 0;
    return cidrContains(subnet, ip) && ip !== subnet.network && ip !== bcast && ip !== this.cfg.gateway && ip !== this.cfg.hostIp;
  }

  /** May `mac` take `ip` right now? `reclaim` also allows another MAC's expired record. */
  private free(now: number, mac: string, ip: Ipv4, reclaim: boolean): boolean {
    if (!this.usable(ip) || ip < this.cfg.poolStart || ip > this.cfg.poolEnd || this.staticIps.has(ip)) return false;
    if ((this.declined.get(ip) ?? 0) > now) return false;
    for (const [m, o] of this.offers) if (m !== mac && o.ip === ip && o.until > now) return false;
    const rec = this.leases.byIp(ipv4ToString(ip));
    if (!rec || rec.mac === mac) return true;
    return reclaim && rec.expiresAt <= now;
  }

  /** The address to offer `mac`, or undefined if the pool is exhausted. */
  private choose(now: number, mac: string, requested: Ipv4 | undefined): Ipv4 | undefined {
    const fixed = this.statics.get(mac);
    if (fixed) return fixed.ip;
    const offer = this.offers.get(mac);
    if (offer && offer.until > now && this.free(now, mac, offer.ip, true)) return offer.ip;
    const rec = this.leases.get(mac);
    if (rec) {
      const ip = parseIpv4(rec.ip)!;
      if (this.free(now, mac, ip, false)) return ip;
    }
    if (requested !== undefined && this.free(now, mac, requested, false)) return requested;
    for (let ip = this.cfg.poolStart; ip <= this.cfg.poolEnd; ip++) if (this.free(now, mac, ip, false)) return ip;
    let best: { ip: Ipv4; at: number } | undefined;
    for (let ip = this.cfg.poolStart; ip <= this.cfg.poolEnd; ip++) {
      if (!this.free(now, mac, ip, true)) continue;
      const at = this.leases.byIp(ipv4ToString(ip))?.expiresAt ?? 0;
      if (!best || at < best.at) best = { ip, at };
    }
    return best?.ip;
  }

  /** Is `ip` the address bound (or offered) to `mac`? */
  private isClients(now: number, mac: string, ip: Ipv4): boolean {
    const fixed = this.statics.get(mac);
    if (fixed) return fixed.ip === ip;
    const offer = this.offers.get(mac);
    if (offer && offer.ip === ip && offer.until > now && this.free(now, mac, ip, true)) return true;
    const rec = this.leases.get(mac);
    return rec !== undefined && parseIpv4(rec.ip) === ip && this.free(now, mac, ip, false);
  }

  // --- message handlers (RFC 2131 §4.3) -----------------------------------

  /** §4.3.1: offer an address, held for OFFER_HOLD_MS. */
  private discover(now: number, msg: DhcpMessage): DhcpReply | null {
    const mac = macToString(msg.chaddr);
    const ip = this.choose(now, mac, ipOption(msg, Opt.RequestedIp));
    if (ip === undefined) {
      this.counters.inc('dhcp_pool_exhausted');
      return null;
    }
    this.offers.set(mac, { ip, until: now + OFFER_HOLD_MS });
    return this.reply(msg, MsgType.Offer, ip, true);
  }

  /** §4.3.2: SELECTING, INIT-REBOOT, RENEWING and REBINDING. */
  private request(now: number, msg: DhcpMessage): DhcpReply | null {
    const mac = macToString(msg.chaddr);
    const serverId = ipOption(msg, Opt.ServerId);
    const requested = ipOption(msg, Opt.RequestedIp);
    let ip: Ipv4;
    if (serverId !== undefined) {
      // SELECTING: server id present, ciaddr zero, requested address filled in.
      if (serverId !== this.cfg.gateway) {
        this.offers.delete(mac); // the client took another server's offer
        return null;
      }
      if (requested === undefined || msg.ciaddr !== 0) return this.malformed();
      ip = requested;
    } else if (msg.ciaddr === 0) {
      // INIT-REBOOT: requested address, no server id. NAK a wrong address;
      // "If the DHCP server has no record of this client, then it MUST remain silent".
      if (requested === undefined) return this.malformed();
      if (!cidrContains(this.cfg.subnet, requested)) return this.nak(msg, 'wrong network');
      if (!this.statics.has(mac) && !this.leases.get(mac) && !this.offers.has(mac)) return null;
      ip = requested;
    } else {
      // RENEWING (unicast) / REBINDING (broadcast): ciaddr is the client's address.
      ip = msg.ciaddr;
    }
    // SELECTING names us: a free pool address is fine even if our offer was lost (a restart).
    const selectingFree = serverId !== undefined && !this.statics.has(mac) && this.free(now, mac, ip, false);
    if (!selectingFree && !this.isClients(now, mac, ip)) {
      // a pool with nothing free for this client is counted as exhaustion
      if (this.choose(now, mac, undefined) === undefined) this.counters.inc('dhcp_pool_exhausted');
      return this.nak(msg, 'address not available');
    }
    const fixed = this.statics.get(mac);
    const hostname = fixed?.hostname || hostnameOf(msg) || this.leases.get(mac)?.hostname || '';
    this.offers.delete(mac);
    this.leases.put({ mac, ip: ipv4ToString(ip), hostname, expiresAt: now + this.cfg.leaseTimeS * 1000 });
    this.counters.inc('dhcp.ack');
    return this.reply(msg, MsgType.Ack, ip, true);
  }

  /** §4.3.3: the client found the address in use; keep it out of the pool for a while. */
  private decline(now: number, msg: DhcpMessage): null {
    const mac = macToString(msg.chaddr);
    const ip = ipOption(msg, Opt.RequestedIp);
    const serverId = ipOption(msg, Opt.ServerId);
    if (ip === undefined || (serverId !== undefined && serverId !== this.cfg.gateway)) return null;
    this.counters.inc('dhcp.declined');
    this.declined.set(ip, now + DECLINE_HOLD_MS);
    this.offers.delete(mac);
    const rec = this.leases.get(mac);
    if (rec && parseIpv4(rec.ip) === ip) this.leases.remove(mac);
    return null;
  }

  /** §4.3.4: end the lease now but keep the record, so the client gets the same address back. */
  private release(now: number, msg: DhcpMessage): null {
    const mac = macToString(msg.chaddr);
    const rec = this.leases.get(mac);
    if (rec && parseIpv4(rec.ip) === msg.ciaddr && rec.expiresAt > now) this.leases.put({ ...rec, expiresAt: now });
    this.offers.delete(mac);
    return null;
  }

  /** §4.3.5: configuration only, to ciaddr; no lease time, no yiaddr. */
  private inform(msg: DhcpMessage): DhcpReply | null {
    if (msg.ciaddr === 0) return this.malformed();
    return this.reply(msg, MsgType.Ack, 0, false);
  }

  private malformed(): null {
    this.counters.drop('dhcp_malformed');
    return null;
  }

  // --- replies ----------------------------------------------------------

  private nak(msg: DhcpMessage, why: string): DhcpReply {
    this.counters.inc('dhcp.nak');
    const options = new Map<number, Buffer>([
      [Opt.MessageType, Buffer.from([MsgType.Nak])],
      [Opt.ServerId, u32Value(this.cfg.gateway)],
      [Opt.Message, Buffer.from(why, 'latin1')],
    ]);
    // §4.1: with giaddr zero, "the server broadcasts any DHCPNAK messages to 0xffffffff".
    const payload = emitDhcp(this.header(msg, 0, options));
    return { payload, dstIp: BROADCAST_IP, dstMac: BROADCAST_MAC, broadcast: true };
  }

  private header(msg: DhcpMessage, yiaddr: Ipv4, options: Map<number, Buffer>): DhcpMessage {
    return {
      op: BOOTREPLY,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: msg.xid,
      secs: 0,
      flags: msg.flags & FLAG_BROADCAST,
      ciaddr: msg.ciaddr,
      yiaddr,
      siaddr: 0,
      giaddr: 0,
      chaddr: msg.chaddr,
      sname: '',
      file: '',
      options,
    };
  }

  private reply(msg: DhcpMessage, type: number, yiaddr: Ipv4, withLease: boolean): DhcpReply {
    const c = this.cfg;
    const mask = prefixMask(c.subnet.prefix);
    const options = new Map<number, Buffer>([
      [Opt.MessageType, Buffer.from([type])],
      [Opt.ServerId, u32Value(c.gateway)],
    ]);
    if (withLease) {
      // §4.3.1: lease time MUST be in OFFER/ACK; T1/T2 default to 0.5 / 0.875 (§4.4.5).
      options.set(Opt.LeaseTime, u32Value(c.leaseTimeS));
      options.set(Opt.RenewalTime, u32Value(Math.floor(c.leaseTimeS / 2)));
      options.set(Opt.RebindingTime, u32Value(Math.floor((c.leaseTimeS * 7) / 8)));
    }
    const available = new Map<number, Buffer>([
      [Opt.SubnetMask, u32Value(mask)],
      [Opt.Router, ipsValue([c.gateway])],
      [Opt.BroadcastAddress, u32Value((c.subnet.network | ~mask) >>> 0)],
      [Opt.InterfaceMtu, u16Value(c.mtu)],
    ]);
    if (c.dns.length > 0) available.set(Opt.DnsServer, ipsValue(c.dns));
    if (c.domainSearch.length > 0) {
      available.set(Opt.DomainName, Buffer.from(c.domainSearch[0], 'latin1'));
      available.set(Opt.DomainSearch, encodeDomainSearch(c.domainSearch));
    }
    const mac = macToString(msg.chaddr);
    const hostname = this.statics.get(mac)?.hostname || hostnameOf(msg);
    if (hostname) available.set(Opt.Hostname, Buffer.from(hostname, 'latin1'));
    // The parameter request list is honoured in the client's order (RFC 2132 §9.8);
    // subnet mask, router and DNS always go, MTU whenever it is not Ethernet's default,
    // and the hostname is echoed when the client sent one (RFC 2132 §3.14).
    const prl = msg.options.get(Opt.ParameterRequestList);
    const wanted = [...(prl ?? DEFAULT_PARAMS), Opt.SubnetMask, Opt.Router, Opt.DnsServer, Opt.Hostname];
    if (c.mtu !== 1500) wanted.push(Opt.InterfaceMtu);
    for (const code of wanted) {
      const v = available.get(code);
      if (v && !options.has(code)) options.set(code, v);
    }
    let payload = emitDhcp(this.header(msg, yiaddr, options));
    // RFC 2132 §9.10: the client's maximum message size counts the IP and UDP
    // headers (28 bytes); drop the longest optional options until the reply fits.
    const maxSize = msg.options.get(Opt.MaxMessageSize);
    const limit = maxSize && maxSize.length === 2 ? Math.max(576, maxSize.readUInt16BE(0)) - 28 : Infinity;
    for (const code of [Opt.DomainSearch, Opt.DomainName, Opt.Hostname]) {
      if (payload.length <= limit) break;
      if (options.delete(code)) payload = emitDhcp(this.header(msg, yiaddr, options));
    }
    // §4.1 with giaddr zero: ciaddr set -> unicast to ciaddr; broadcast bit -> 0xffffffff;
    // otherwise unicast to the client's hardware address and yiaddr.
    if (msg.ciaddr !== 0) return { payload, dstIp: msg.ciaddr, dstMac: Buffer.from(msg.chaddr), broadcast: false };
    if (msg.flags & FLAG_BROADCAST) return { payload, dstIp: BROADCAST_IP, dstMac: BROADCAST_MAC, broadcast: true };
    return { payload, dstIp: yiaddr, dstMac: Buffer.from(msg.chaddr), broadcast: false };
  }
}

function hostnameOf(msg: DhcpMessage): string {
  const v = msg.options.get(Opt.Hostname);
  // RFC 2132 §3.14: at least one octet; keep it printable so status output stays sane.
  return v ? v.toString('latin1').replace(/[^\x21-\x7e]/g, '').slice(0, 63) : '';
}
