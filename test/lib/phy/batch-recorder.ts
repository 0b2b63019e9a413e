/** An InputBatch (link.ts) that records how deep in its brackets each frame arrived, and in which bracket. */
import type { InputBatch, Link } from '../../../src/lib/phy/link.js';

export interface BatchRecorder extends InputBatch {
  depth: number;
  brackets: number;
  /** Per frame delivered: "depth/bracket number". */
  frames: string[];
}

/** Install a recorder as `link`'s input batch and record each frame's place (the link must be a BaseLink). */
export function recordBatches(link: Link): BatchRecorder {
  const r: BatchRecorder = {
    depth: 0,
    brackets: 0,
    frames: [],
    beginInput() {
      if (r.depth++ === 0) r.brackets++;
    },
    endInput() {
      r.depth--;
    },
  };
  (link as Link & { inputBatch: InputBatch | null }).inputBatch = r;
  const onFrame = link.onFrame;
  link.onFrame = (f) => {
    r.frames.push(`${r.depth}/${r.brackets}`);
    onFrame?.(f);
  };
  return r;
}
