/**
 * Packet capture in the classic libpcap file format (the "pcap" format of
 * tcpdump and Wireshark; draft-ietf-opsawg-pcap): a 24-byte global header
 * (magic 0xa1b2c3d4 written in host byte order = little endian here, version
 * 2.4, snaplen 262144, LINKTYPE_ETHERNET = 1), then per frame a 16-byte
 * record header (seconds, microseconds, captured length, original length)
 * and the bytes. Frames longer than snaplen are truncated with the original
 * length kept.
 *
 * PcapWriter buffers records in memory and writes them in chunks: when the
 * buffer fills, at the end of the current event-loop turn, on flush() and on
 * close(). withPcap(link, writer) records both directions of a Link.
 */
import { createWriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Writable } from 'node:stream';
import { ForwardingLink, type Link } from './link.js';
import { completedTcpCopy } from './vnet-hdr.js';

export const PCAP_MAGIC = 0xa1b2c3d4;
export const PCAP_SNAPLEN = 262144;
export const LINKTYPE_ETHERNET = 1;
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;

/** Wall-clock milliseconds with sub-millisecond precision. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function pcapGlobalHeader(snaplen = PCAP_SNAPLEN, linktype = LINKTYPE_ETHERNET): Buffer {
  const h = Buffer.alloc(GLOBAL_HEADER);
  h.writeUInt32LE(PCAP_MAGIC, 0);
  h.writeUInt16LE(2, 4); // version major
  h.writeUInt16LE(4, 6); // version minor
  h.writeInt32LE(0, 8); // thiszone: timestamps are UTC
  h.writeUInt32LE(0, 12); // sigfigs
  h.writeUInt32LE(snaplen, 16);
  h.writeUInt32LE(linktype, 20);
  return h;
}

export class PcapWriter {
  private readonly out: Writable;
  private readonly ownsStream: boolean;
  private buf: Buffer;
  private used = 0;
  private scheduled = false;
  private closed = false;
  /** Frames recorded so far. */
  frames = 0;

  constructor(
    target: string | Writable,
    private readonly snaplen = PCAP_SNAPLEN,
    private readonly bufferBytes = 64 * 1024,
  ) {
    this.ownsStream = typeof target === 'string';
    this.out = typeof target === 'string' ? createWriteStream(target, { mode: 0o600 }) : target;
    this.out.on('error', () => (this.closed = true));
    this.buf = Buffer.allocUnsafe(bufferBytes);
    pcapGlobalHeader(snaplen).copy(this.buf, 0);
    this.used = GLOBAL_HEADER;
  }

  /** Record one frame; `now` is wall-clock milliseconds (Date.now() scale, fractions kept as microseconds). */
  write(frame: Buffer, now: number = nowMs()): void {
    if (this.closed) return;
    const incl = Math.min(frame.length, this.snaplen);
    const need = RECORD_HEADER + incl;
    if (this.used + need > this.buf.length) {
      this.flush();
      if (need > this.buf.length) this.buf = Buffer.allocUnsafe(need);
    }
    const sec = Math.floor(now / 1000);
    const usec = Math.min(999_999, Math.floor((now - sec * 1000) * 1000));
    const b = this.buf;
    const o = this.used;
    b.writeUInt32LE(sec >>> 0, o);
    b.writeUInt32LE(usec, o + 4);
    b.writeUInt32LE(incl, o + 8);
    b.writeUInt32LE(frame.length, o + 12);
    frame.copy(b, o + RECORD_HEADER, 0, incl);
    this.used += need;
    this.frames++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Hand everything buffered to the stream. */
  flush(): void {
    if (this.used === 0 || this.closed) return;
    const chunk = this.buf.subarray(0, this.used);
    this.out.write(chunk);
    // The stream may hold the chunk: continue in a fresh buffer.
    this.buf = Buffer.allocUnsafe(this.bufferBytes);
    this.used = 0;
  }

  /** Flush and, for a path we opened, close the file. Resolves when the bytes are written. */
  async close(): Promise<void> {
    this.flush();
    if (this.closed) return;
    this.closed = true;
    if (this.ownsStream) await new Promise<void>((res) => this.out.end(() => res()));
    else await new Promise<void>((res) => (this.out.writableNeedDrain ? this.out.once('drain', () => res()) : res()));
  }
}

class PcapLink extends ForwardingLink {
  constructor(
    inner: Link,
    private readonly writer: PcapWriter,
  ) {
    super(inner);
  }

  protected override received(frame: Buffer, deliver: (frame: Buffer) => void): void {
    this.writer.write(frame);
    deliver(frame);
  }

  override send(frame: Buffer, gsoSize?: number, partialCsum?: boolean): void {
    // A capture shows what the guest receives: the checksum completed.
    this.writer.write(partialCsum ? completedTcpCopy(frame) : frame);
    this.inner.send(frame, gsoSize, partialCsum);
  }
}

/** Record every frame the link receives and every frame sent through it. */
export function withPcap(link: Link, writer: PcapWriter): Link {
  return new PcapLink(link, writer);
}
