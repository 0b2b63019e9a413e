import { expect } from 'chai';
import fc from 'fast-check';
import { ipv4ToString, macToString } from '../../../src/lib/wire/addr.js';
import { ARP_LEN, ArpOperation, ArpPacket, ArpRepr } from '../../../src/lib/wire/arp.js';
import { EthernetFrame } from '../../../src/lib/wire/ethernet.js';
import { expectWireError, linuxFrame, LinuxFrame, onlyWireError } from './helpers.js';

const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((a) => Buffer.from(a));
const ip = fc.nat({ max: 0xffffffff });
const arpRepr = fc
  .record({ operation: fc.nat({ max: 0xffff }), senderMac: mac, senderIp: ip, targetMac: mac, targetIp: ip })
  .map((f) => new ArpRepr(f));

describe('ARP (RFC 826)', () => {
  it('round-trips: parse(emit(x)) equals x', () => {
    fc.assert(
      fc.property(arpRepr, fc.nat({ max: 10 }), (r, off) => {
        const buf = Buffer.alloc(off + ARP_LEN);
        expect(r.emit(buf, off)).to.equal(28);
        expect(ArpRepr.parse(ArpPacket.checked(buf.subarray(off)))).to.deep.equal(r);
      }),
    );
  });

  it('parses the request and reply Linux exchanged', () => {
    const req = ArpRepr.parse(ArpPacket.checked(EthernetFrame.checked(linuxFrame(LinuxFrame.arpRequest)).payload));
    expect(req.operation).to.equal(ArpOperation.Request);
    expect(ipv4ToString(req.senderIp)).to.equal('10.213.0.1');
    expect(ipv4ToString(req.targetIp)).to.equal('10.213.0.2');
    expect(macToString(req.targetMac)).to.equal('00:00:00:00:00:00');
    const replyFrame = EthernetFrame.checked(linuxFrame(LinuxFrame.arpReply));
    const rep = ArpRepr.parse(ArpPacket.checked(replyFrame.payload));
    expect(rep.operation).to.equal(ArpOperation.Reply);
    expect(ipv4ToString(rep.senderIp)).to.equal('10.213.0.2');
    expect(rep.senderMac).to.deep.equal(replyFrame.src);
    expect(rep.targetMac).to.deep.equal(req.senderMac);
  });

  it('re-emits the Linux reply byte for byte', () => {
    const payload = EthernetFrame.checked(linuxFrame(LinuxFrame.arpReply)).payload;
    const out = Buffer.alloc(ARP_LEN);
    ArpRepr.parse(ArpPacket.checked(payload)).emit(out, 0);
    expect(out).to.deep.equal(payload.subarray(0, ARP_LEN));
  });

  it('rejects a truncated packet', () => {
    const payload = EthernetFrame.checked(linuxFrame(LinuxFrame.arpRequest)).payload;
    for (let n = 0; n < ARP_LEN; n++) expectWireError(() => ArpPacket.checked(payload.subarray(0, n)), 'arp_truncated');
  });

  it('refuses hardware or protocol types other than Ethernet and IPv4', () => {
    const good = Buffer.from(EthernetFrame.checked(linuxFrame(LinuxFrame.arpRequest)).payload);
    for (const [at, value] of [[1, 6], [2, 0x86], [4, 8], [5, 16]]) {
      const bad = Buffer.from(good);
      bad[at] = value;
      expectWireError(() => ArpPacket.checked(bad), 'arp_unsupported');
    }
  });

  it('throws nothing but WireError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (a) => {
        const buf = Buffer.from(a);
        if (buf.length >= 6) buf.writeUInt32BE(0x00010800, 0); // often get past the type check
        onlyWireError(() => ArpRepr.parse(ArpPacket.checked(buf)));
      }),
    );
  });
});
