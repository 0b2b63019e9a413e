/** A guest port for TcpNat tests: keeps the TCP segments the stack sends toward the guest, parsed. */
import type { GuestPort } from '../../../src/lib/iface/interface.js';
import { EthernetFrame } from '../../../src/lib/wire/ethernet.js';
import { IpProtocol, Ipv4Packet } from '../../../src/lib/wire/ipv4.js';
import { TcpPacket, parseTcp, type TcpRepr } from '../../../src/lib/wire/tcp.js';

export class FakePort implements GuestPort {
  readonly id = 'fake:1';
  sent: TcpRepr[] = [];
  /** A port with offload takes super-segments and partial checksums (not summed here). */
  constructor(readonly tso = false) {}
  send(frame: Buffer): void {
    const ip = Ipv4Packet.checked(EthernetFrame.checked(frame).payload);
    if (ip.protocol === IpProtocol.TCP) this.sent.push(parseTcp(TcpPacket.checked(Buffer.from(ip.payload), ip.src, ip.dst, this.tso)));
  }
}
