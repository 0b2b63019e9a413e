/**
 * stackOnlyTransport (rx-checksum.ts): only unfragmented IPv4 TCP/UDP unicast
 * to the gateway may keep a partial checksum.
 */
import { expect } from 'chai';
import { stackOnlyTransport } from '../../../src/lib/daemon/rx-checksum.js';

const GW = Buffer.from([0x02, 0x68, 0x6e, 0x65, 0x74, 0x01]);

function frame(o: { dst?: Buffer; type?: number; proto?: number; flagsFrag?: number } = {}): Buffer {
  const f = Buffer.alloc(14 + 20 + 20);
  (o.dst ?? GW).copy(f, 0);
  f.writeUInt16BE(o.type ?? 0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(o.flagsFrag ?? 0x4000, 20); // DF
  f[23] = o.proto ?? 6;
  return f;
}

describe('which frames the stack takes with a partial checksum (stackOnlyTransport)', () => {
  it('takes TCP and UDP to the gateway MAC, DF or not', () => {
    expect(stackOnlyTransport(frame(), GW)).to.equal(true);
    expect(stackOnlyTransport(frame({ proto: 17, flagsFrag: 0 }), GW)).to.equal(true);
  });

  it('refuses fragments, other protocols, other destinations and short frames', () => {
    expect(stackOnlyTransport(frame({ flagsFrag: 0x2000 }), GW), 'MF').to.equal(false);
    expect(stackOnlyTransport(frame({ flagsFrag: 0x0010 }), GW), 'offset').to.equal(false);
    expect(stackOnlyTransport(frame({ proto: 1 }), GW), 'ICMP').to.equal(false);
    expect(stackOnlyTransport(frame({ dst: Buffer.alloc(6, 0xff) }), GW), 'broadcast').to.equal(false);
    expect(stackOnlyTransport(frame({ dst: Buffer.from([2, 0, 0, 0, 0, 9]) }), GW), 'another guest').to.equal(false);
    expect(stackOnlyTransport(frame({ dst: Buffer.from([0x02, 0x68, 0x6e, 0x65, 0x74, 0x02]) }), GW), 'last byte differs').to.equal(false);
    expect(stackOnlyTransport(frame({ dst: Buffer.from([0x03, 0x68, 0x6e, 0x65, 0x74, 0x01]) }), GW), 'first byte differs').to.equal(false);
    expect(stackOnlyTransport(frame({ type: 0x86dd }), GW), 'IPv6').to.equal(false);
    expect(stackOnlyTransport(frame().subarray(0, 30), GW)).to.equal(false);
  });
});
