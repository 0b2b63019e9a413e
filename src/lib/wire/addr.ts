/**
 * Address representations used across the stack. IPv4 addresses are unsigned
 * 32-bit numbers (cheap to compare and to use as Map keys); MAC addresses are
 * 6-byte Buffers on the wire and strings ("02:68:6e:65:74:01") at the edges.
 */
export type Ipv4 = number;

export function ipv4ToString(ip: Ipv4): string {
  return `${(ip >>> 24) & 255}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** Parse dotted-quad; returns undefined for anything else. */
export function parseIpv4(text: string): Ipv4 | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function ipv4FromBuffer(buf: Buffer, offset: number): Ipv4 {
  return buf.readUInt32BE(offset);
}

export function ipv4ToBuffer(ip: Ipv4, buf: Buffer, offset: number): void {
  buf.writeUInt32BE(ip >>> 0, offset);
}

export function macToString(mac: Buffer): string {
  return [...mac.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseMac(text: string): Buffer | undefined {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text.trim());
  if (!m) return undefined;
  return Buffer.from(m.slice(1).map((h) => parseInt(h, 16)));
}

export const BROADCAST_MAC = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export function isBroadcastMac(mac: Buffer): boolean {
  return mac[0] === 0xff && mac[1] === 0xff && mac[2] === 0xff && mac[3] === 0xff && mac[4] === 0xff && mac[5] === 0xff;
}

/** Whether the 6 bytes of `buf` at `offset` are `mac`, compared in place (no view allocated). */
export function macAt(buf: Buffer, offset: number, mac: Buffer): boolean {
  return buf[offset] === mac[0] && buf[offset + 1] === mac[1] && buf[offset + 2] === mac[2] && buf[offset + 3] === mac[3] && buf[offset + 4] === mac[4] && buf[offset + 5] === mac[5];
}

export function isMulticastMac(mac: Buffer): boolean {
  return (mac[0] & 1) === 1;
}

/** A subnet as network address and prefix length. */
export interface Ipv4Cidr {
  network: Ipv4;
  prefix: number;
}

export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function parseCidr(text: string): Ipv4Cidr | undefined {
  const [ipText, prefixText = '32'] = text.trim().split('/');
  const ip = parseIpv4(ipText);
  const prefix = Number(prefixText);
  if (ip === undefined || !/^\d{1,2}$/.test(prefixText) || prefix > 32) return undefined;
  return { network: (ip & prefixMask(prefix)) >>> 0, prefix };
}

export function cidrContains(cidr: Ipv4Cidr, ip: Ipv4): boolean {
  return ((ip & prefixMask(cidr.prefix)) >>> 0) === cidr.network;
}

export function cidrToString(cidr: Ipv4Cidr): string {
  return `${ipv4ToString(cidr.network)}/${cidr.prefix}`;
}
