/**
 * DHCP message codec (RFC 2131 §2, RFC 2132, RFC 3396). No I/O, no clock.
 *
 * parseDhcp(buf) turns a UDP payload into a DhcpMessage or throws WireError
 * with a drop-counter reason ("dhcp_truncated", "dhcp_bad_cookie",
 * "dhcp_bad_option", ...); it throws nothing else. Options are gathered into
 * one Map code -> value: an option that appears several times is concatenated
 * (RFC 3396 §7), and option 52 (overload) makes the `file` and `sname` fields
 * carry options too (RFC 2131 §4.1), read once each so an overload cannot loop.
 *
 * emitDhcp(msg) writes the fixed BOOTP header, the magic cookie and the
 * options (values over 255 bytes split per RFC 3396), then END, padded to the
 * 300-byte minimum BOOTP relays and old clients expect (RFC 1542 §2.1).
 */
import { WireError, check } from '../../wire/errors.js';
import type { Ipv4 } from '../../wire/addr.js';

/** Field offsets of the fixed BOOTP header (RFC 2131 §2, figure 1). */
const F = {
  op: 0,
  htype: 1,
  hlen: 2,
  hops: 3,
  xid: 4,
  secs: 8,
  flags: 10,
  ciaddr: 12,
  yiaddr: 16,
  siaddr: 20,
  giaddr: 24,
  chaddr: 28, // 16 bytes
  sname: 44, // 64 bytes
  file: 108, // 128 bytes
  cookie: 236,
  options: 240,
} as const;

export const DHCP_MAGIC_COOKIE = 0x63825363;
export const BOOTP_MIN_LENGTH = 300;
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
/** The broadcast bit of `flags` (RFC 2131 §2, figure 2). */
export const FLAG_BROADCAST = 0x8000;

/** Option codes used by hnet (RFC 2132, RFC 3397). */
export const Opt = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DnsServer: 6,
  Hostname: 12,
  DomainName: 15,
  InterfaceMtu: 26,
  BroadcastAddress: 28,
  RequestedIp: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerId: 54,
  ParameterRequestList: 55,
  Message: 56,
  MaxMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  ClientId: 61,
  DomainSearch: 119,
  End: 255,
} as const;

/** DHCP message types, option 53 (RFC 2132 §9.6). */
export const MsgType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8,
} as const;

export interface DhcpMessage {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: Ipv4;
  yiaddr: Ipv4;
  siaddr: Ipv4;
  giaddr: Ipv4;
  /** The client hardware address, `hlen` bytes (6 for Ethernet). */
  chaddr: Buffer;
  sname: string;
  file: string;
  /** Option values by code, in the order first seen; repeated codes concatenated (RFC 3396). */
  options: Map<number, Buffer>;
}

/** Read an options area into `into`; returns the overload value (option 52) if seen. */
function readOptions(buf: Buffer, start: number, end: number, into: Map<number, Buffer>): number {
  let overload = 0;
  let i = start;
  while (i < end) {
    const code = buf[i];
    if (code === Opt.Pad) {
      i += 1;
      continue;
    }
    if (code === Opt.End) return overload;
    check(i + 1 < end, 'dhcp_bad_option');
    const len = buf[i + 1];
    check(i + 2 + len <= end, 'dhcp_bad_option');
    const value = buf.subarray(i + 2, i + 2 + len);
    if (code === Opt.Overload) {
      check(len === 1 && value[0] >= 1 && value[0] <= 3, 'dhcp_bad_option');
      overload = value[0];
    } else {
      const prev = into.get(code);
      into.set(code, prev ? Buffer.concat([prev, value]) : value);
    }
    i += 2 + len;
  }
  // RFC 2131 §4.1: the options field ends with END; tolerated at the end of the
  // datagram since many clients pad to it exactly.
  return overload;
}

function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.toString('latin1', 0, nul < 0 ? buf.length : nul);
}

export function parseDhcp(buf: Buffer): DhcpMessage {
  check(buf.length >= F.options, 'dhcp_truncated');
  const op = buf[F.op];
  check(op === BOOTREQUEST || op === BOOTREPLY, 'dhcp_bad_op');
  const hlen = buf[F.hlen];
  check(hlen >= 1 && hlen <= 16, 'dhcp_bad_hlen');
  check(buf.readUInt32BE(F.cookie) === DHCP_MAGIC_COOKIE, 'dhcp_bad_cookie');
  const options = new Map<number, Buffer>();
  const overload = readOptions(buf, F.options, buf.length, options);
  // RFC 2131 §4.1: with overload, `file` is read before `sname`. Each field is
  // read exactly once, and option 52 inside them is ignored, so there is no loop.
  const inner = new Map<number, Buffer>();
  if (overload & 1) readOptions(buf, F.file, F.file + 128, inner);
  if (overload & 2) readOptions(buf, F.sname, F.sname + 64, inner);
  for (const [code, value] of inner) {
    const prev = options.get(code);
    options.set(code, prev ? Buffer.concat([prev, value]) : value);
  }
  const type = options.get(Opt.MessageType);
  check(type === undefined || type.length === 1, 'dhcp_bad_option');
  return {
    op,
    htype: buf[F.htype],
    hlen,
    hops: buf[F.hops],
    xid: buf.readUInt32BE(F.xid),
    secs: buf.readUInt16BE(F.secs),
    flags: buf.readUInt16BE(F.flags),
    ciaddr: buf.readUInt32BE(F.ciaddr),
    yiaddr: buf.readUInt32BE(F.yiaddr),
    siaddr: buf.readUInt32BE(F.siaddr),
    giaddr: buf.readUInt32BE(F.giaddr),
    chaddr: Buffer.from(buf.subarray(F.chaddr, F.chaddr + hlen)),
    sname: overload & 2 ? '' : cString(buf.subarray(F.sname, F.sname + 64)),
    file: overload & 1 ? '' : cString(buf.subarray(F.file, F.file + 128)),
    options,
  };
}

function optionsLength(options: Map<number, Buffer>): number {
  let n = 1; // END
  for (const value of options.values()) n += value.length === 0 ? 2 : value.length + 2 * Math.ceil(value.length / 255);
  return n;
}

export function emitDhcp(msg: DhcpMessage): Buffer {
  const len = Math.max(BOOTP_MIN_LENGTH, F.options + optionsLength(msg.options));
  const buf = Buffer.alloc(len);
  buf[F.op] = msg.op;
  buf[F.htype] = msg.htype;
  buf[F.hlen] = Math.min(msg.chaddr.length, 16);
  buf[F.hops] = msg.hops;
  buf.writeUInt32BE(msg.xid >>> 0, F.xid);
  buf.writeUInt16BE(msg.secs, F.secs);
  buf.writeUInt16BE(msg.flags, F.flags);
  buf.writeUInt32BE(msg.ciaddr >>> 0, F.ciaddr);
  buf.writeUInt32BE(msg.yiaddr >>> 0, F.yiaddr);
  buf.writeUInt32BE(msg.siaddr >>> 0, F.siaddr);
  buf.writeUInt32BE(msg.giaddr >>> 0, F.giaddr);
  msg.chaddr.copy(buf, F.chaddr, 0, 16);
  buf.write(msg.sname.slice(0, 63), F.sname, 'latin1');
  buf.write(msg.file.slice(0, 127), F.file, 'latin1');
  buf.writeUInt32BE(DHCP_MAGIC_COOKIE, F.cookie);
  let i = F.options;
  for (const [code, value] of msg.options) {
    // RFC 3396 §5: values longer than 255 bytes are split into consecutive instances.
    let off = 0;
    do {
      const chunk = value.subarray(off, off + 255);
      buf[i] = code;
      buf[i + 1] = chunk.length;
      chunk.copy(buf, i + 2);
      i += 2 + chunk.length;
      off += 255;
    } while (off < value.length);
  }
  buf[i] = Opt.End;
  return buf;
}

/** Option 53 of a parsed message, or undefined for plain BOOTP. */
export function messageType(msg: DhcpMessage): number | undefined {
  const v = msg.options.get(Opt.MessageType);
  return v && v.length === 1 ? v[0] : undefined;
}

/** An option holding one IPv4 address (50, 54), or undefined if absent or malformed. */
export function ipOption(msg: DhcpMessage, code: number): Ipv4 | undefined {
  const v = msg.options.get(code);
  return v && v.length === 4 ? v.readUInt32BE(0) : undefined;
}

/** Encode a list of IPv4 addresses as an option value (RFC 2132 §3.5, §3.8). */
export function ipsValue(ips: Ipv4[]): Buffer {
  const b = Buffer.alloc(4 * ips.length);
  ips.forEach((ip, k) => b.writeUInt32BE(ip >>> 0, 4 * k));
  return b;
}

export function u32Value(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export function u16Value(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

/**
 * The domain search option value (RFC 3397 §2): the names in DNS wire format
 * (RFC 1035 §3.1), later names compressed with pointers to suffixes already
 * written; pointer offsets count from the start of the option value.
 */
export function encodeDomainSearch(names: string[]): Buffer {
  const out: number[] = [];
  const suffixes = new Map<string, number>();
  for (const name of names) {
    const labels = name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
    let k = 0;
    for (; k < labels.length; k++) {
      const suffix = labels.slice(k).join('.').toLowerCase();
      const at = suffixes.get(suffix);
      if (at !== undefined) {
        out.push(0xc0 | (at >> 8), at & 0xff);
        break;
      }
      if (out.length < 0x3fff) suffixes.set(suffix, out.length);
      const bytes = Buffer.from(labels[k].slice(0, 63), 'latin1');
      out.push(bytes.length, ...bytes);
    }
    if (k === labels.length) out.push(0);
  }
  return Buffer.from(out);
}

/** Decode an RFC 3397 value; throws WireError on bad or looping pointers. */
export function decodeDomainSearch(value: Buffer): string[] {
  const names: string[] = [];
  let i = 0;
  while (i < value.length) {
    const labels: string[] = [];
    let p = i;
    let jumped = false;
    let hops = 0;
    for (;;) {
      check(p < value.length, 'dhcp_bad_option');
      const len = value[p];
      if (len === 0) {
        if (!jumped) i = p + 1;
        break;
      }
      if ((len & 0xc0) === 0xc0) {
        check(p + 1 < value.length && ++hops < 64, 'dhcp_bad_option');
        const target = ((len & 0x3f) << 8) | value[p + 1];
        // pointers only to earlier data (RFC 1035 §4.1.4), so a chain cannot loop
        check(target < p, 'dhcp_bad_option');
        if (!jumped) i = p + 2;
        jumped = true;
        p = target;
        continue;
      }
      check((len & 0xc0) === 0 && p + 1 + len <= value.length, 'dhcp_bad_option');
      labels.push(value.toString('latin1', p + 1, p + 1 + len));
      p += 1 + len;
    }
    names.push(labels.join('.'));
  }
  return names;
}

export { WireError };
