import { expect } from 'chai';
import fc from 'fast-check';
import { macToString } from '../../../src/lib/wire/addr.js';
import { emitEthernetHeader, ETHERNET_HEADER_LEN, EthernetFrame, EtherType } from '../../../src/lib/wire/ethernet.js';
import { expectWireError, linuxFrame, LinuxFrame, onlyWireError } from './helpers.js';

const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((a) => Buffer.from(a));

describe('Ethernet II frames', () => {
  it('round-trips header fields and leaves the payload in place', () => {
    fc.assert(
      fc.property(mac, mac, fc.nat({ max: 0xffff }), fc.uint8Array({ maxLength: 100 }), (dst, src, type, payload) => {
        const buf = Buffer.alloc(ETHERNET_HEADER_LEN + payload.length);
        Buffer.from(payload).copy(buf, ETHERNET_HEADER_LEN);
        expect(emitEthernetHeader(buf, 0, dst, src, type)).to.equal(14);
        const f = EthernetFrame.checked(buf);
        expect(f.dst).to.deep.equal(dst);
        expect(f.src).to.deep.equal(src);
        expect(f.etherType).to.equal(type);
        expect(f.payload).to.deep.equal(Buffer.from(payload));
      }),
    );
  });

  it('returns views, not copies', () => {
    const buf = linuxFrame(LinuxFrame.echoRequest);
    const f = EthernetFrame.checked(buf);
    f.payload[0] = 0x99;
    expect(buf[14]).to.equal(0x99);
  });

  it('emits at an offset', () => {
    const buf = Buffer.alloc(20);
    emitEthernetHeader(buf, 3, Buffer.alloc(6, 1), Buffer.alloc(6, 2), EtherType.ARP);
    expect(EthernetFrame.checked(buf.subarray(3)).etherType).to.equal(0x0806);
    expect(buf[2]).to.equal(0);
  });

  it('rejects a frame shorter than the 14-byte header', () => {
    for (let n = 0; n < 14; n++) expectWireError(() => EthernetFrame.checked(Buffer.alloc(n)), 'eth_truncated');
  });

  it('reads a frame Linux sent', () => {
    const f = EthernetFrame.checked(linuxFrame(LinuxFrame.arpRequest));
    expect(macToString(f.dst)).to.equal('ff:ff:ff:ff:ff:ff');
    expect(f.etherType).to.equal(EtherType.ARP);
    expect(EthernetFrame.checked(linuxFrame(LinuxFrame.tcpSyn)).etherType).to.equal(EtherType.IPv4);
  });

  it('throws nothing but WireError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (a) => {
        onlyWireError(() => {
          const f = EthernetFrame.checked(Buffer.from(a));
          return [f.dst, f.src, f.etherType, f.payload];
        });
      }),
    );
  });
});
