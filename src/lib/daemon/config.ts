/**
 * HOME/config.json, the user's intent (DESIGN §6): port forwards, loopback
 * aliases, proxy settings, DNS records and static DHCP leases.
 *
 * Contract:
 * - loadConfig(path): a missing file means defaults; a file that does not
 *   parse as JSON or fails validation throws BrokenFileError naming the file.
 *   Such a file is never overwritten (updateConfig refuses it too).
 * - updateConfig(path, mutate): read-modify-write under withFileLock, so two
 *   processes updating at once both land; the result is validated before it is
 *   written with writeFileAtomic (temp file, fsync, rename), mode 0600, in a
 *   folder created 0700. Whatever mutate returns is returned.
 * - Unknown top-level keys are kept as they are (a newer hnet may have written them).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BrokenFileError, HnetError } from '../errors.js';
import { parseCidr, parseIpv4, parseMac } from '../wire/addr.js';
import { withFileLock, writeFileAtomic } from './atomic-file.js';

export interface PortForwardConfig {
  proto: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  guestIp?: string;
  guestPort: number;
}

export interface AliasConfig {
  ip: string;
  prefix: number;
  name?: string;
}

export interface ProxyConfig {
  http?: string;
  https?: string;
  noProxy?: string[];
  source?: string;
  pac?: string;
}

export interface DnsRecordConfig {
  name: string;
  type: string;
  value: string;
}

export interface StaticLeaseConfig {
  mac: string;
  ip: string;
  hostname?: string;
}

export interface HnetConfig {
  version: 1;
  /** The guest network (CIDR) when the user fixed one; else the daemon's default. */
  subnet?: string;
  ports: PortForwardConfig[];
  aliases: AliasConfig[];
  proxy?: ProxyConfig;
  dnsRecords: DnsRecordConfig[];
  staticLeases: StaticLeaseConfig[];
}

export function defaultConfig(): HnetConfig {
  return { version: 1, ports: [], aliases: [], dnsRecords: [], staticLeases: [] };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
const isIp = (v: unknown): v is string => typeof v === 'string' && parseIpv4(v) !== undefined;
const optString = (v: unknown) => v === undefined || typeof v === 'string';

function fail(what: string): never {
  throw new Error(what);
}

function checkList<T>(raw: Obj, key: string, check: (item: unknown, where: string) => T): T[] {
  const v = raw[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(`"${key}" must be an array`);
  return v.map((item, i) => check(item, `${key}[${i}]`));
}

function checkPort(item: unknown, where: string): PortForwardConfig {
  if (!isObj(item)) fail(`${where} must be an object`);
  if (item.proto !== 'tcp' && item.proto !== 'udp') fail(`${where}.proto must be "tcp" or "udp"`);
  if (!isIp(item.hostIp)) fail(`${where}.hostIp must be an IPv4 address`);
  if (!isPort(item.hostPort)) fail(`${where}.hostPort must be a port number 1-65535`);
  if (item.guestIp !== undefined && !isIp(item.guestIp)) fail(`${where}.guestIp must be an IPv4 address`);
  if (!isPort(item.guestPort)) fail(`${where}.guestPort must be a port number 1-65535`);
  return item as unknown as PortForwardConfig;
}

function checkAlias(item: unknown, where: string): AliasConfig {
  if (!isObj(item)) fail(`${where} must be an object`);
  if (!isIp(item.ip)) fail(`${where}.ip must be an IPv4 address`);
  if (!Number.isInteger(item.prefix) || (item.prefix as number) < 0 || (item.prefix as number) > 32) fail(`${where}.prefix must be 0-32`);
  if (!optString(item.name)) fail(`${where}.name must be a string`);
  return item as unknown as AliasConfig;
}

function checkDns(item: unknown, where: string): DnsRecordConfig {
  if (!isObj(item) || typeof item.name !== 'string' || typeof item.type !== 'string' || typeof item.value !== 'string') {
    fail(`${where} must be {name, type, value} strings`);
  }
  return item as unknown as DnsRecordConfig;
}

function checkLease(item: unknown, where: string): StaticLeaseConfig {
  if (!isObj(item)) fail(`${where} must be an object`);
  if (typeof item.mac !== 'string' || parseMac(item.mac) === undefined) fail(`${where}.mac must be a MAC address`);
  if (!isIp(item.ip)) fail(`${where}.ip must be an IPv4 address`);
  if (!optString(item.hostname)) fail(`${where}.hostname must be a string`);
  return item as unknown as StaticLeaseConfig;
}

function checkProxy(v: unknown): ProxyConfig | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) fail('"proxy" must be an object');
  for (const k of ['http', 'https', 'source', 'pac']) if (!optString(v[k])) fail(`proxy.${k} must be a string`);
  if (v.noProxy !== undefined && !(Array.isArray(v.noProxy) && v.noProxy.every((s) => typeof s === 'string'))) {
    fail('proxy.noProxy must be an array of strings');
  }
  return v as ProxyConfig;
}

/** Validate parsed JSON into a config; throws Error with a readable reason. */
export function validateConfig(raw: unknown): HnetConfig {
  if (!isObj(raw)) fail('the top level must be an object');
  if (raw.version !== 1) fail(`unsupported "version" ${JSON.stringify(raw.version)} (expected 1)`);
  if (raw.subnet !== undefined && (typeof raw.subnet !== 'string' || parseCidr(raw.subnet) === undefined)) fail('"subnet" must be a CIDR like 192.168.65.0/24');
  const out: HnetConfig = {
    ...raw,
    version: 1,
    ports: checkList(raw, 'ports', checkPort),
    aliases: checkList(raw, 'aliases', checkAlias),
    dnsRecords: checkList(raw, 'dnsRecords', checkDns),
    staticLeases: checkList(raw, 'staticLeases', checkLease),
  };
  const proxy = checkProxy(raw.proxy);
  if (proxy === undefined) delete out.proxy;
  else out.proxy = proxy;
  return out;
}

/** Read the config; missing file -> defaults; unreadable -> BrokenFileError. */
export function loadConfig(path: string): HnetConfig {
  if (!existsSync(path)) return defaultConfig();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new BrokenFileError(path, (err as Error).message);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BrokenFileError(path, `not valid JSON (${(err as Error).message})`);
  }
  try {
    return validateConfig(raw);
  } catch (err) {
    throw new BrokenFileError(path, (err as Error).message);
  }
}

/**
 * Read-modify-write under the file lock. `mutate` edits the config in place
 * and may return a value, which updateConfig returns. If mutate throws, nothing
 * is written.
 */
export function updateConfig<T = void>(path: string, mutate: (c: HnetConfig) => T): T {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  return withFileLock(path, () => {
    const config = loadConfig(path);
    const result = mutate(config);
    let checked: HnetConfig;
    try {
      checked = validateConfig(JSON.parse(JSON.stringify(config)));
    } catch (err) {
      throw new HnetError('HNET_BAD_CONFIG', `refusing to write an invalid config to ${path}: ${(err as Error).message}`);
    }
    writeFileAtomic(path, JSON.stringify(checked, null, 2) + '\n', 0o600);
    return result;
  });
}
