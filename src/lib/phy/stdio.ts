/**
 * stdio transport (`stdio:`): one Link over the process's stdin/stdout, each
 * frame a 2-byte little-endian length followed by the Ethernet frame (the
 * framing vpnkit/hyperkit use after their handshake). Useful to run hnet as a
 * child of a VM monitor or behind `socat`. Frames split across reads are
 * reassembled; zero-length frames and frames above mtu + 14 are dropped and
 * counted. stdin ending fires onClose. Because the length field is 16 bits,
 * mtu is capped at 65535 - 14. Logs must go to stderr while this runs.
 */
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../daemon/log.js';
import { BaseLink, countDrop, inInputBatch, maxFrameFor, nextLinkId, type Link, type Transport } from './link.js';
import { Deframer, FrameBatcher, STDIO_STREAM } from './framing.js';

const TX_HIGH_WATER = 4 * 1024 * 1024;

export class StdioLink extends BaseLink {
  private readonly deframer: Deframer;
  private readonly batcher: FrameBatcher;
  private readonly ended: Promise<void>;
  private readonly pushChunk = (chunk: Buffer) => this.deframer.push(chunk);
  /** One read's frames are answered together, at its end (InputBatch). */
  private readonly onData = (chunk: Buffer) => inInputBatch(this.inputBatch, this.pushChunk, chunk);

  constructor(
    mtu: number,
    private readonly input: Readable,
    private readonly output: Writable,
  ) {
    super(nextLinkId('stdio'), 'stdio', Math.min(mtu, 0xffff - 14));
    this.deframer = new Deframer(STDIO_STREAM, maxFrameFor(this.mtu), (f) => this.deliver(f), (r) => countDrop(this.stats, r));
    this.batcher = new FrameBatcher(STDIO_STREAM, (chunk) => {
      if (this.output.destroyed || !this.output.writable) return false;
      this.output.write(chunk);
      return this.output.writableLength === 0;
    });
    input.on('data', this.onData);
    input.on('error', () => countDrop(this.stats, 'io_error'));
    output.on('error', () => countDrop(this.stats, 'io_error'));
    this.ended = new Promise((res) => {
      const done = () => {
        this.batcher.discard();
        this.notifyClose();
        res();
      };
      input.once('end', done);
      input.once('close', done);
    });
  }

  send(frame: Buffer): void {
    if (!this.admit(frame)) return;
    if (this.output.destroyed || !this.output.writable) return countDrop(this.stats, 'tx_closed');
    if (this.output.writableLength + this.batcher.pending > TX_HIGH_WATER) return countDrop(this.stats, 'tx_backpressure');
    this.batcher.add(frame);
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.batcher.flushNow();
    this.input.off('data', this.onData);
    this.input.pause();
    this.notifyClose();
  }

  /** Resolves when stdin ends. */
  whenEnded(): Promise<void> {
    return this.ended;
  }
}

export class StdioTransport implements Transport {
  readonly uri = 'stdio:';
  onLink: ((link: Link) => void) | null = null;
  private link: StdioLink | null = null;

  constructor(private readonly opts: { mtu: number; log?: Logger; input?: Readable; output?: Writable }) {}

  async start(): Promise<void> {
    const link = new StdioLink(this.opts.mtu, this.opts.input ?? process.stdin, this.opts.output ?? process.stdout);
    this.link = link;
    this.opts.log?.info('frames on stdin/stdout', { link: link.id });
    this.onLink?.(link);
  }

  async close(): Promise<void> {
    await this.link?.close();
  }

  describe(): string {
    return `stdio (2-byte LE length framing)${this.link ? `, ${this.link.stats.rxFrames} frames in` : ''}`;
  }
}
