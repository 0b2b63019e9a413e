import { expect } from 'chai';
import { ReusedView } from '../../../src/lib/wire/reused-view.js';

describe('ReusedView (wire/reused-view.ts)', () => {
  it('gives buf[start, end), the same view object while the end stays, a new one when it moves', () => {
    const buf = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const v = new ReusedView(buf, 2);
    const a = v.to(6);
    expect([...a]).to.deep.equal([2, 3, 4, 5]);
    expect(v.to(6)).to.equal(a);
    buf[2] = 42;
    expect(v.to(6)[0], 'a view of the buffer, not a copy').to.equal(42);
    expect([...v.to(4)]).to.deep.equal([42, 3]);
    expect([...v.to(9)]).to.deep.equal([42, 3, 4, 5, 6, 7, 8]);
    expect(v.to(2).length).to.equal(0);
  });
});
