/**
 * Ethernet II frames (IEEE 802.3 clause 3.2.6 with the DIX type field):
 * destination MAC, source MAC, EtherType, payload. The frame check sequence is
 * never present (transports deliver frames without it). `EthernetFrame` is a
 * view: the getters return subarrays of the received buffer, nothing is copied.
 * 802.1Q tags are not stripped: a tagged frame shows EtherType 0x8100 and the
 * demux drops it as unknown.
 */
import { check } from './errors.js';
import { put16be, u16be } from './bytes.js';

export const ETHERNET_HEADER_LEN = 14;

export const EtherType = { IPv4: 0x0800, ARP: 0x0806, IPv6: 0x86dd } as const;

// Field offsets.
const DST = 0;
/** Where the source MAC sits in the header. */
export const ETHERNET_SRC_OFFSET = 6;
const SRC = ETHERNET_SRC_OFFSET;
const TYPE = 12;

export class EthernetFrame {
  private constructor(readonly buf: Buffer) {}

  /** A view over `buf`; throws WireError('eth_truncated') when shorter than the header. */
  static checked(buf: Buffer): EthernetFrame {
    check(buf.length >= ETHERNET_HEADER_LEN, 'eth_truncated');
    return new EthernetFrame(buf);
  }

  get dst(): Buffer {
    return this.buf.subarray(DST, DST + 6);
  }

  get src(): Buffer {
    return this.buf.subarray(SRC, SRC + 6);
  }

  get etherType(): number {
    return u16be(this.buf, TYPE);
  }

  /** Everything after the header, including any padding to the 60-byte minimum. */
  get payload(): Buffer {
    return this.buf.subarray(ETHERNET_HEADER_LEN);
  }
}

/** Write the 14-byte header at `offset`; returns 14. */
export function emitEthernetHeader(buf: Buffer, offset: number, dst: Buffer, src: Buffer, etherType: number): number {
  // By byte: Buffer.copy's argument checks cost more than six stores (one header per frame sent).
  for (let i = 0; i < 6; i++) {
    buf[offset + DST + i] = dst[i];
    buf[offset + SRC + i] = src[i];
  }
  put16be(buf, offset + TYPE, etherType);
  return ETHERNET_HEADER_LEN;
}
