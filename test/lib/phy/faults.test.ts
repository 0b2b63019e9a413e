/**
 * Fault injection: seeded, reproducible loss on a link.
 */
import { expect } from 'chai';
import { withFaults, mulberry32 } from '../../../src/lib/phy/faults.js';
import { MemoryLink } from './memory-link.js';

function sendMany(seed: number, rate: number, n: number): { kept: number[]; link: MemoryLink } {
  const inner = new MemoryLink();
  const link = withFaults(inner, { dropSendRate: rate, seed });
  for (let i = 0; i < n; i++) {
    const f = Buffer.alloc(60);
    f.writeUInt32BE(i, 14);
    link.send(f);
  }
  return { kept: inner.sent.map((f) => f.readUInt32BE(14)), link: inner };
}

describe('fault injection', () => {
  it('drops about the requested share of sent frames and counts each drop', () => {
    const { kept, link } = sendMany(7, 0.3, 10_000);
    const dropped = 10_000 - kept.length;
    expect(dropped).to.be.within(2_700, 3_300);
    expect(link.stats.drops.tx_fault_injected).to.equal(dropped);
  });

  it('drops the same frames for the same seed and different ones for another seed', () => {
    expect(sendMany(42, 0.1, 500).kept).to.deep.equal(sendMany(42, 0.1, 500).kept);
    expect(sendMany(42, 0.1, 500).kept).not.to.deep.equal(sendMany(43, 0.1, 500).kept);
  });

  it('passes everything at rate 0 and nothing at rate 1', () => {
    expect(sendMany(1, 0, 100).kept).to.have.length(100);
    expect(sendMany(1, 1, 100).kept).to.have.length(0);
  });

  it('leaves received frames alone unless asked', () => {
    const inner = new MemoryLink();
    const link = withFaults(inner, { dropSendRate: 1, dropRecvRate: 0.5, seed: 3 });
    let got = 0;
    link.onFrame = () => got++;
    for (let i = 0; i < 1000; i++) inner.inject(Buffer.alloc(60));
    expect(got).to.be.within(400, 600);
    expect(inner.stats.drops.rx_fault_injected).to.equal(1000 - got);
  });

  it('refuses a rate outside 0..1', () => {
    expect(() => withFaults(new MemoryLink(), { dropSendRate: 1.5 })).to.throw(RangeError);
  });

  it('has a PRNG that stays in [0, 1)', () => {
    const r = mulberry32(99);
    for (let i = 0; i < 10_000; i++) {
      const x = r();
      expect(x >= 0 && x < 1).to.equal(true);
    }
  });
});
