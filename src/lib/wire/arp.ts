/**
 * ARP (RFC 826) for Ethernet hardware and IPv4 protocol addresses only: any
 * other hardware type, protocol type or address length is refused with
 * WireError('arp_unsupported'). The packet is 28 bytes; trailing bytes
 * (Ethernet padding) are ignored. Operations other than request and reply
 * (RARP, InARP) parse, and the interface drops them by their number.
 */
import { type Ipv4 } from './addr.js';
import { check } from './errors.js';

export const ArpOperation = { Request: 1, Reply: 2 } as const;

export const ARP_LEN = 28;

// Field offsets (RFC 826 "Packet format").
const HTYPE = 0;
const PTYPE = 2;
const HLEN = 4;
const PLEN = 5;
const OPER = 6;
const SHA = 8;
const SPA = 14;
const THA = 18;
const TPA = 24;

const HTYPE_ETHERNET = 1;
const PTYPE_IPV4 = 0x0800;

export class ArpPacket {
  private constructor(readonly buf: Buffer) {}

  static checked(buf: Buffer): ArpPacket {
    check(buf.length >= ARP_LEN, 'arp_truncated');
    check(
      buf.readUInt16BE(HTYPE) === HTYPE_ETHERNET && buf.readUInt16BE(PTYPE) === PTYPE_IPV4 && buf[HLEN] === 6 && buf[PLEN] === 4,
      'arp_unsupported',
    );
    return new ArpPacket(buf);
  }

  get operation(): number {
    return this.buf.readUInt16BE(OPER);
  }

  get senderMac(): Buffer {
    return this.buf.subarray(SHA, SHA + 6);
  }

  get senderIp(): Ipv4 {
    return this.buf.readUInt32BE(SPA);
  }

  get targetMac(): Buffer {
    return this.buf.subarray(THA, THA + 6);
  }

  get targetIp(): Ipv4 {
    return this.buf.readUInt32BE(TPA);
  }
}

export interface ArpFields {
  operation: number;
  senderMac: Buffer;
  senderIp: Ipv4;
  targetMac: Buffer;
  targetIp: Ipv4;
}

export class ArpRepr implements ArpFields {
  operation: number;
  senderMac: Buffer;
  senderIp: Ipv4;
  targetMac: Buffer;
  targetIp: Ipv4;

  constructor(f: ArpFields) {
    this.operation = f.operation;
    this.senderMac = f.senderMac;
    this.senderIp = f.senderIp;
    this.targetMac = f.targetMac;
    this.targetIp = f.targetIp;
  }

  /** The MACs are views into the packet: copy them before keeping them past the frame. */
  static parse(p: ArpPacket): ArpRepr {
    return new ArpRepr({
      operation: p.operation,
      senderMac: p.senderMac,
      senderIp: p.senderIp,
      targetMac: p.targetMac,
      targetIp: p.targetIp,
    });
  }

  /** Write the 28-byte packet at `offset`; returns 28. */
  emit(buf: Buffer, offset: number): number {
    buf.writeUInt16BE(HTYPE_ETHERNET, offset + HTYPE);
    buf.writeUInt16BE(PTYPE_IPV4, offset + PTYPE);
    buf[offset + HLEN] = 6;
    buf[offset + PLEN] = 4;
    buf.writeUInt16BE(this.operation, offset + OPER);
    this.senderMac.copy(buf, offset + SHA, 0, 6);
    buf.writeUInt32BE(this.senderIp >>> 0, offset + SPA);
    this.targetMac.copy(buf, offset + THA, 0, 6);
    buf.writeUInt32BE(this.targetIp >>> 0, offset + TPA);
    return ARP_LEN;
  }
}
