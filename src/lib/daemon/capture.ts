/**
 * `hnet capture` as a library call: stream `seconds` of the running daemon's
 * live traffic (GET /v1/capture, every frame both directions) as a pcap file
 * (draft-ietf-opsawg-pcap) to FILE or to a stream, counting the packets.
 *
 * Contract:
 * - The file is created 0600 before the capture starts; it holds the daemon's
 *   bytes unchanged (global header, then records).
 * - No daemon: HNET_DAEMON_UNREACHABLE (control-client.ts). A bad duration:
 *   UsageError HNET_BAD_DURATION (exit 2).
 * - packets counts the records seen in the stream (little- or big-endian
 *   magic), so a caller can tell an empty capture from a failed one.
 */
import { createWriteStream } from 'node:fs';
import { Transform, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { UsageError } from '../errors.js';
import { ControlClient } from './control-client.js';
import type { HomePaths } from './home.js';

export interface CaptureResult {
  /** Where the pcap went: the file path, or "-" for the given stream. */
  file: string;
  seconds: number;
  bytes: number;
  packets: number;
}

/** Counts bytes and pcap records passing through, without changing them. */
export class PcapCounter extends Transform {
  bytes = 0;
  packets = 0;
  private pending = Buffer.alloc(0);
  private header = false;
  private littleEndian = true;
  private skip = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length);
        this.skip -= n;
        buf = buf.subarray(n);
      }
      if (!this.header) {
        if (buf.length < 24) break;
        this.littleEndian = buf.readUInt32LE(0) === 0xa1b2c3d4 || buf.readUInt32LE(0) === 0xa1b23c4d;
        this.header = true;
        buf = buf.subarray(24);
        continue;
      }
      if (this.skip > 0 || buf.length < 16) break;
      const incl = this.littleEndian ? buf.readUInt32LE(8) : buf.readUInt32BE(8);
      this.packets++;
      buf = buf.subarray(16);
      this.skip = incl;
    }
    this.pending = Buffer.from(buf);
    done(null, chunk);
  }
}

export async function captureTraffic(paths: HomePaths, opts: { seconds: number; file?: string; out?: Writable; client?: ControlClient }): Promise<CaptureResult> {
  if (!Number.isInteger(opts.seconds) || opts.seconds < 1) {
    throw new UsageError('HNET_BAD_DURATION', `--duration ${opts.seconds} must be a whole number of seconds, 1 or more`, ['e.g. --duration 5']);
  }
  const client = opts.client ?? new ControlClient(paths);
  // Fail on a missing daemon before creating the file.
  await client.status();
  const counter = new PcapCounter();
  const sink = opts.file !== undefined ? createWriteStream(opts.file, { mode: 0o600 }) : opts.out!;
  counter.pipe(sink, { end: opts.file !== undefined });
  await client.capture(opts.seconds, counter, true);
  if (opts.file !== undefined) await finished(sink);
  return { file: opts.file ?? '-', seconds: opts.seconds, bytes: counter.bytes, packets: counter.packets };
}
