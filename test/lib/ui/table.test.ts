/**
 * Tables for people (src/lib/ui/table.ts): columns line up on visible text,
 * colour codes included, one row per line, no trailing spaces.
 */
import { expect } from 'chai';
import { renderTable, renderPairs, visibleWidth } from '../../../src/lib/ui/table.js';

const RED = (s: string) => `\u001b[31m${s}\u001b[39m`;
const plain = (s: string) => s;
const ESC = String.fromCharCode(27);
const strip = (s: string) => s.split(ESC).map((part, i) => (i === 0 ? part : part.replace(/^\[\d+m/, ''))).join('');

describe('text tables', () => {
  it('pads columns to the widest cell and right-aligns number columns', () => {
    const out = renderTable(['NAME', 'N'], [['a', 1], ['longer', 1000]], { header: plain });
    expect(out.split('\n')).to.deep.equal(['NAME       N', 'a          1', 'longer  1000']);
  });

  it('measures width without ANSI colour codes', () => {
    expect(visibleWidth(RED('abc'))).to.equal(3);
    const out = renderTable(['A', 'B'], [[RED('x'), 'y'], ['xxx', 'z']], { header: plain });
    const lines = out.split('\n');
    expect(strip(lines[1]!)).to.equal('x    y');
    expect(lines[2]).to.equal('xxx  z');
  });

  it('renders null cells as "-" and flattens newlines', () => {
    const out = renderTable(['A', 'B'], [[null, 'two\nlines']], { header: plain });
    expect(out.split('\n')).to.deep.equal(['A  B', '-  two lines']);
  });

  it('leaves no trailing spaces', () => {
    const out = renderTable(['LEFT', 'RIGHT'], [['a', ''], ['bbbbbb', '']], { header: plain });
    for (const line of out.split('\n')) expect(line).not.to.match(/ $/);
  });

  it('shows the empty text instead of a lone header', () => {
    const out = renderTable(['A'], [], { empty: 'nothing here' });
    expect(out).to.contain('nothing here');
    expect(out).not.to.contain('A');
  });

  it('aligns key/value pairs on the longest key', () => {
    const lines = renderPairs([['Up', '1s'], ['Version', '0.1.0']]).split('\n').map(strip);
    expect(lines).to.deep.equal(['Up       1s', 'Version  0.1.0']);
  });
});
