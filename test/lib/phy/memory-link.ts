/**
 * Test double: an in-memory Link that records what the stack sends and lets
 * a test inject frames as if they came from the peer.
 */
import { BaseLink, nextLinkId } from '../../../src/lib/phy/link.js';

export class MemoryLink extends BaseLink {
  readonly sent: Buffer[] = [];

  constructor(mtu = 1500) {
    super(nextLinkId('memory'), 'memory', mtu);
  }

  /** Deliver a frame from the "peer" (through the usual rx checks). */
  inject(frame: Buffer): void {
    this.deliver(frame);
  }

  send(frame: Buffer): void {
    if (!this.admit(frame)) return;
    this.sent.push(Buffer.from(frame));
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
  }

  async close(): Promise<void> {
    this.notifyClose();
  }
}
