/**
 * pcap capture files (classic libpcap format, LINKTYPE_ETHERNET), read back
 * by tshark when it is installed.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { PcapWriter, withPcap, PCAP_SNAPLEN } from '../../../src/lib/phy/pcap.js';
import { MemoryLink } from './memory-link.js';
import { IpProtocol, Ipv4Repr } from '../../../src/lib/wire/ipv4.js';
import { emitTcp, TcpFlags, TcpPacket } from '../../../src/lib/wire/tcp.js';
import { skipUnless, which } from '../../e2e/harness/env.js';

const execFileP = promisify(execFile);

/** ARP request "who has 192.168.65.1? tell 192.168.65.2" from 02:00:00:00:00:02 (RFC 826). */
function arpRequest(): Buffer {
  const f = Buffer.alloc(42);
  f.fill(0xff, 0, 6);
  Buffer.from([2, 0, 0, 0, 0, 2]).copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14);
  f.writeUInt16BE(0x0800, 16);
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(1, 20);
  Buffer.from([2, 0, 0, 0, 0, 2]).copy(f, 22);
  Buffer.from([192, 168, 65, 2]).copy(f, 28);
  Buffer.from([192, 168, 65, 1]).copy(f, 38);
  return f;
}

describe('pcap capture', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'hnt-pcap-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the libpcap global header and one record per frame', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new PcapWriter(out);
    w.write(arpRequest(), 1_700_000_000_123.456);
    await w.close();
    const file = Buffer.concat(chunks);
    expect(file.readUInt32LE(0)).to.equal(0xa1b2c3d4);
    expect([file.readUInt16LE(4), file.readUInt16LE(6)]).to.deep.equal([2, 4]);
    expect(file.readUInt32LE(16)).to.equal(PCAP_SNAPLEN);
    expect(file.readUInt32LE(20)).to.equal(1);
    expect(file.readUInt32LE(24)).to.equal(1_700_000_000);
    expect(file.readUInt32LE(28)).to.equal(123_456);
    expect([file.readUInt32LE(32), file.readUInt32LE(36)]).to.deep.equal([42, 42]);
    expect(file.subarray(40).equals(arpRequest())).to.equal(true);
  });

  it('truncates frames longer than snaplen and keeps the original length', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new PcapWriter(out, 64);
    w.write(Buffer.alloc(100, 1), 0);
    await w.close();
    const file = Buffer.concat(chunks);
    expect([file.readUInt32LE(32), file.readUInt32LE(36)]).to.deep.equal([64, 100]);
    expect(file.length).to.equal(24 + 16 + 64);
  });

  it('records both directions of a link', async () => {
    const path = join(dir, 'both.pcap');
    const w = new PcapWriter(path);
    const inner = new MemoryLink();
    const link = withPcap(inner, w);
    const seen: number[] = [];
    link.onFrame = (f) => seen.push(f.length);
    inner.inject(arpRequest());
    link.send(Buffer.alloc(60, 0xab));
    await w.close();
    expect(seen).to.deep.equal([42]);
    expect(inner.sent).to.have.length(1);
    expect(w.frames).to.equal(2);
    const file = readFileSync(path);
    expect(file.length).to.equal(24 + 16 + 42 + 16 + 60);
    expect(link.stats).to.equal(inner.stats);
  });

  it('records a frame sent with a partial TCP checksum as the guest gets it: completed', async () => {
    const path = join(dir, 'partial.pcap');
    const w = new PcapWriter(path);
    const link = withPcap(new MemoryLink(), w);
    const frame = Buffer.alloc(14 + 20 + 20 + 5);
    frame.writeUInt16BE(0x0800, 12);
    new Ipv4Repr({ src: 0xc0a841fe, dst: 0xc0a84102, protocol: IpProtocol.TCP, payloadLen: 25, id: 1, dontFragment: true }).emit(frame, 14);
    const repr = { srcPort: 80, dstPort: 40000, seq: 1, ack: 1, flags: TcpFlags.ACK, window: 100, urgent: 0, options: {}, payload: Buffer.from('hello') };
    emitTcp(repr, frame, 34, 0xc0a841fe, 0xc0a84102, true);
    link.send(frame, 0, true);
    await w.close();
    const recorded = readFileSync(path).subarray(24 + 16);
    expect(recorded.subarray(0, 34).equals(frame.subarray(0, 34))).to.equal(true);
    TcpPacket.checked(recorded.subarray(34), 0xc0a841fe, 0xc0a84102); // throws on a bad checksum
    expect(frame.readUInt16BE(34 + 16), 'the frame sent is left as it was').to.not.equal(recorded.readUInt16BE(34 + 16));
  });

  it('is read back by tshark as Ethernet frames', async function () {
    skipUnless(this, which('tshark') ? [] : ['needs tshark on PATH (apt install tshark)']);
    this.timeout(60_000);
    const path = join(dir, 'arp.pcap');
    const w = new PcapWriter(path);
    for (let i = 0; i < 300; i++) w.write(arpRequest());
    const big = Buffer.alloc(9014, 0);
    big.writeUInt16BE(0x88b5, 12); // IEEE local experimental EtherType
    w.write(big);
    await w.close();
    const { stdout } = await execFileP('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.len', '-e', 'eth.src', '-e', 'arp.dst.proto_ipv4'], { env: { ...process.env, HOME: dir } });
    const rows = stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(rows).to.have.length(301);
    expect(rows[0]).to.deep.equal(['42', '02:00:00:00:00:02', '192.168.65.1']);
    expect(rows[300][0]).to.equal('9014');
  });
});
