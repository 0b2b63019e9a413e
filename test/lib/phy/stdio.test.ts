/**
 * stdio transport: 2-byte little-endian length framing over a pair of streams.
 */
import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { StdioTransport } from '../../../src/lib/phy/stdio.js';
import { Deframer, encodeFrame, STDIO_STREAM } from '../../../src/lib/phy/framing.js';
import type { Link } from '../../../src/lib/phy/link.js';
import { recordBatches } from './batch-recorder.js';

async function setup(mtu = 1500) {
  const input = new PassThrough();
  const output = new PassThrough();
  const t = new StdioTransport({ mtu, input, output });
  let link: Link | undefined;
  t.onLink = (l) => (link = l);
  await t.start();
  return { t, input, output, link: link! };
}

describe('stdio transport', () => {
  it('reads frames split anywhere on stdin and drops oversized ones', async () => {
    const { input, link } = await setup(1500);
    const got: number[] = [];
    link.onFrame = (f) => got.push(f.length);
    const bytes = Buffer.concat([encodeFrame(STDIO_STREAM, Buffer.alloc(60, 1)), encodeFrame(STDIO_STREAM, Buffer.alloc(1515, 2)), encodeFrame(STDIO_STREAM, Buffer.alloc(1514, 3))]);
    input.write(bytes.subarray(0, 1));
    input.write(bytes.subarray(1, 700));
    input.write(bytes.subarray(700));
    await new Promise((r) => setImmediate(r));
    expect(got).to.deep.equal([60, 1514]);
    expect(link.stats.drops).to.deep.equal({ rx_oversized: 1 });
  });

  it('delivers the frames of one read inside one input batch, closed when the read is done', async () => {
    const { input, link } = await setup();
    link.onFrame = () => undefined;
    const rec = recordBatches(link);
    input.write(Buffer.concat([encodeFrame(STDIO_STREAM, Buffer.alloc(60, 1)), encodeFrame(STDIO_STREAM, Buffer.alloc(70, 2))]));
    input.write(encodeFrame(STDIO_STREAM, Buffer.alloc(80, 3)));
    await new Promise((r) => setImmediate(r));
    expect(rec.frames).to.deep.equal(['1/1', '1/1', '1/2']);
    expect(rec.depth).to.equal(0);
  });

  it('writes frames to stdout with a 2-byte little-endian length', async () => {
    const { output, link } = await setup();
    const got: Buffer[] = [];
    const d = new Deframer(STDIO_STREAM, 65535, (f) => got.push(Buffer.from(f)), () => undefined);
    output.on('data', (c: Buffer) => d.push(c));
    link.send(Buffer.alloc(300, 5));
    link.send(Buffer.alloc(42, 6));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(got.map((f) => [f.length, f[0]])).to.deep.equal([
      [300, 5],
      [42, 6],
    ]);
  });

  it('fires onClose when stdin ends', async () => {
    const { input, link } = await setup();
    const closed = new Promise<void>((res) => (link.onClose = res));
    input.end();
    await closed;
    link.send(Buffer.alloc(60));
    expect(link.stats.drops.tx_closed).to.equal(1);
  });

  it('caps the MTU at what a 16-bit length can carry', async () => {
    const { link } = await setup(70_000);
    expect(link.mtu).to.equal(65535 - 14);
  });
});
