/**
 * DHCP leases on disk: HOME/state/leases.json (DESIGN §6).
 *
 * One record per client MAC. A record outlives its lease: after expiry or
 * RELEASE the server keeps the MAC -> address binding so the client gets the
 * same address next time (RFC 2131 §4.3.1: "the client's current address as
 * recorded in the client's current binding", and §4.3.4: retain the record),
 * and only reclaims it when the pool has nothing else free.
 *
 * Every change is written atomically (writeFileAtomic: temp file, fsync,
 * rename). A file that exists but does not parse is never overwritten: the
 * constructor throws BrokenFileError naming it. `path === null` keeps the
 * leases in memory only (tests, `hnet run` throwaway daemons).
 */
import { existsSync, readFileSync } from 'node:fs';
import { BrokenFileError } from '../../errors.js';
import { writeFileAtomic } from '../../daemon/atomic-file.js';
import { macToString, parseIpv4, parseMac } from '../../wire/addr.js';

export interface Lease {
  /** "02:00:00:00:c0:01", lowercase */
  mac: string;
  /** dotted quad */
  ip: string;
  /** hostname the client sent (option 12) or the static lease's, '' if none */
  hostname: string;
  /** ms since the epoch; in the past once expired or released */
  expiresAt: number;
}

const FILE_VERSION = 1;

function validLease(x: unknown): x is Lease {
  if (typeof x !== 'object' || x === null) return false;
  const l = x as Record<string, unknown>;
  return (
    typeof l.mac === 'string' &&
    parseMac(l.mac) !== undefined &&
    typeof l.ip === 'string' &&
    parseIpv4(l.ip) !== undefined &&
    typeof l.hostname === 'string' &&
    typeof l.expiresAt === 'number' &&
    Number.isFinite(l.expiresAt)
  );
}

export class LeaseStore {
  private readonly byMac = new Map<string, Lease>();
  private readonly byIpText = new Map<string, Lease>();

  /** Loads `path` if it exists; throws BrokenFileError if it does not parse. */
  constructor(readonly path: string | null) {
    if (path === null || !existsSync(path)) return;
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new BrokenFileError(path, (err as Error).message);
    }
    const leases = (doc as { leases?: unknown } | null)?.leases;
    if (!Array.isArray(leases) || (doc as { version?: unknown }).version !== FILE_VERSION) {
      throw new BrokenFileError(path, `expected {"version":${FILE_VERSION},"leases":[...]}`);
    }
    for (const l of leases) {
      if (!validLease(l)) throw new BrokenFileError(path, `bad lease entry ${JSON.stringify(l)}`);
      this.index({ mac: macToString(parseMac(l.mac)!), ip: l.ip, hostname: l.hostname, expiresAt: l.expiresAt });
    }
  }

  private index(lease: Lease): void {
    const old = this.byMac.get(lease.mac);
    if (old && this.byIpText.get(old.ip) === old) this.byIpText.delete(old.ip);
    const holder = this.byIpText.get(lease.ip);
    if (holder && holder.mac !== lease.mac) this.byMac.delete(holder.mac);
    this.byMac.set(lease.mac, lease);
    this.byIpText.set(lease.ip, lease);
  }

  get(mac: string): Lease | undefined {
    return this.byMac.get(mac.toLowerCase());
  }

  byIp(ip: string): Lease | undefined {
    return this.byIpText.get(ip);
  }

  /**
   * Record (or replace) the lease of `lease.mac` and persist. An address has
   * one owner: a record of another MAC holding the same address is dropped.
   */
  put(lease: Lease): void {
    this.index({ ...lease, mac: lease.mac.toLowerCase() });
    this.save();
  }

  remove(mac: string): void {
    const l = this.byMac.get(mac.toLowerCase());
    if (!l) return;
    this.byMac.delete(l.mac);
    if (this.byIpText.get(l.ip) === l) this.byIpText.delete(l.ip);
    this.save();
  }

  /** Every record, sorted by address, for `hnet status` and GET /v1/leases. */
  list(): Lease[] {
    return [...this.byMac.values()]
      .map((l) => ({ ...l }))
      .sort((a, b) => (parseIpv4(a.ip)! >>> 0) - (parseIpv4(b.ip)! >>> 0));
  }

  private save(): void {
    if (this.path === null) return;
    writeFileAtomic(this.path, JSON.stringify({ version: FILE_VERSION, leases: this.list() }, null, 2) + '\n');
  }
}
