/**
 * The sender's SACK scoreboard (RFC 2018 §3, §5): sequence ranges the peer
 * reported as received above SND.UNA. The socket skips these ranges when it
 * retransmits. Blocks are validated against [SND.UNA, SND.MAX] (RFC 2018 §3:
 * blocks outside what we sent are ignored) and kept sorted and merged. Blocks
 * are advisory: the receiver may renege (RFC 2018 §8), so the socket clears
 * the board after repeated timeouts.
 */
import { seqGe, seqGt, seqLe, seqLt, seqMax, seqSub } from './seq.js';

export class SackScoreboard {
  /** Flat sorted [left0, right0, left1, right1, ...], disjoint, each [left, right). */
  private edges: number[] = [];

  get isEmpty(): boolean {
    return this.edges.length === 0;
  }

  get blockCount(): number {
    return this.edges.length / 2;
  }

  /** Total SACKed bytes. */
  get sackedBytes(): number {
    let n = 0;
    for (let i = 0; i < this.edges.length; i += 2) n += seqSub(this.edges[i + 1], this.edges[i]);
    return n;
  }

  clear(): void {
    this.edges.length = 0;
  }

  /** Record [left, right) if it lies within (una, max]; returns false if ignored. */
  add(left: number, right: number, una: number, max: number): boolean {
    if (!seqLt(left, right) || seqLt(left, una) || seqGt(right, max)) return false;
    const e = this.edges;
    let i = 0;
    while (i < e.length && seqLt(e[i + 1], left)) i += 2;
    // Merge every block overlapping or touching [left, right).
    let l = left;
    let r = right;
    let j = i;
    while (j < e.length && seqLe(e[j], r)) {
      if (seqLt(e[j], l)) l = e[j];
      r = seqMax(r, e[j + 1]);
      j += 2;
    }
    e.splice(i, j - i, l, r);
    return true;
  }

  /** Forget everything below `una` (cumulatively acknowledged). */
  prune(una: number): void {
    const e = this.edges;
    let k = 0;
    while (k < e.length && seqLe(e[k + 1], una)) k += 2;
    if (k > 0) e.splice(0, k);
    if (e.length > 0 && seqLt(e[0], una)) e[0] = una;
  }

  /** If `seq` lies inside a SACKed block, that block's right edge; else `seq`. */
  skip(seq: number): number {
    const e = this.edges;
    for (let i = 0; i < e.length; i += 2) {
      if (seqLt(seq, e[i])) return seq;
      if (seqLt(seq, e[i + 1])) return e[i + 1];
    }
    return seq;
  }

  /** The left edge of the first SACKed block above `seq`, or `limit` if none is nearer. */
  holeEnd(seq: number, limit: number): number {
    const e = this.edges;
    for (let i = 0; i < e.length; i += 2) {
      if (seqGt(e[i], seq)) return seqLt(e[i], limit) ? e[i] : limit;
    }
    return limit;
  }

  /** True if `seq` is covered by a SACKed block. */
  covers(seq: number): boolean {
    const e = this.edges;
    for (let i = 0; i < e.length; i += 2) {
      if (seqGe(seq, e[i]) && seqLt(seq, e[i + 1])) return true;
    }
    return false;
  }
}
