/**
 * The sender's SACK scoreboard (RFC 2018 §3, §5): sequence ranges the peer
 * reported as received above SND.UNA. The socket skips these ranges when it
 * retransmits. Blocks are validated against [SND.UNA, SND.MAX] (RFC 2018 §3:
 * blocks outside what we sent are ignored) and kept sorted and merged. Blocks
 * are advisory: the receiver may renege (RFC 2018 §8), so the socket clears
 * the board after repeated timeouts.
 *
 * The RFC 6675 §4 queries (sackedIn, lostBoundary, highestSacked) walk the
 * blocks once; a window holds at most a few hundred holes.
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

  /** One past the highest SACKed octet (RFC 6675 §4 NextSeg (1.b)), or `una` when the board is empty. */
  highestSacked(una: number): number {
    const n = this.edges.length;
    return n === 0 ? una : this.edges[n - 1];
  }

  /** SACKed bytes inside [left, right). */
  sackedIn(left: number, right: number): number {
    const e = this.edges;
    let n = 0;
    for (let i = 0; i < e.length; i += 2) {
      if (seqGe(e[i], right)) break;
      const l = seqMax(e[i], left);
      const r = seqLt(e[i + 1], right) ? e[i + 1] : right;
      if (seqLt(l, r)) n += seqSub(r, l);
    }
    return n;
  }

  /**
   * RFC 6675 §4 IsLost as a boundary: every unSACKed octet below the returned
   * sequence is lost, because more than (DupThresh - 1) * SMSS bytes, or
   * DupThresh discontiguous blocks, were SACKed above it. IsLost is monotone
   * (an octet below a lost one is lost too), so one boundary answers it for
   * all octets. Returns `una` when nothing is lost.
   */
  lostBoundary(una: number, dupThresh: number, smss: number): number {
    const e = this.edges;
    let bytes = 0;
    let blocks = 0;
    for (let i = e.length - 2; i >= 0; i -= 2) {
      bytes += seqSub(e[i + 1], e[i]);
      blocks++;
      if (bytes > (dupThresh - 1) * smss || blocks >= dupThresh) return seqGt(e[i], una) ? e[i] : una;
    }
    return una;
  }

  /** Visit each unSACKed range [l, r) inside [from, to), in order. */
  forEachHole(from: number, to: number, fn: (l: number, r: number) => void): void {
    const e = this.edges;
    let cur = from;
    for (let i = 0; i < e.length && seqLt(cur, to); i += 2) {
      if (seqLe(e[i + 1], cur)) continue;
      if (seqGt(e[i], cur)) fn(cur, seqLt(e[i], to) ? e[i] : to);
      cur = seqMax(cur, e[i + 1]);
    }
    if (seqLt(cur, to)) fn(cur, to);
  }

  /** The left edge of the highest SACKed block (where the highest hole ends), or `una`. */
  lastHoleEnd(una: number): number {
    const n = this.edges.length;
    return n === 0 ? una : this.edges[n - 2];
  }

  /** The highest right edge of a SACKed block at or below `seq`, or `una`: where the hole ending at `seq` starts. */
  holeStartBelow(seq: number, una: number): number {
    const e = this.edges;
    let start = una;
    for (let i = 0; i < e.length && seqLe(e[i + 1], seq); i += 2) start = e[i + 1];
    return start;
  }
}
