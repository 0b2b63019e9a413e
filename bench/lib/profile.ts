/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time per function,
 * the top N as share of all sampled time, with the source location made
 * relative to the hnet tree. Used by `npm run bench -- --profile`.
 */
import { readFileSync } from 'node:fs';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  fn: string;
  where: string;
  selfMs: number;
  share: number;
}

export function topSelf(profile: CpuProfile, root: string, n = 15): { totalMs: number; top: HotSpot[] } {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const self = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    total += dt;
    const cf = node.callFrame;
    const url = cf.url.replace(/^file:\/\//, '').replace(root.endsWith('/') ? root : `${root}/`, '');
    const fn = cf.functionName || (url ? '(anonymous)' : cf.functionName || '(program)');
    const where = url ? `${url}:${cf.lineNumber + 1}` : '';
    const key = `${fn}@${where}`;
    const e = self.get(key) ?? { fn: fn || '(root)', where, us: 0 };
    e.us += dt;
    self.set(key, e);
  });
  const top = [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, n)
    .map((e) => ({ fn: e.fn, where: e.where, selfMs: e.us / 1000, share: total ? e.us / total : 0 }));
  return { totalMs: total / 1000, top };
}

export function summarizeFile(path: string, root: string, n = 15): { totalMs: number; top: HotSpot[] } {
  return topSelf(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, root, n);
}

export function renderTop(t: { totalMs: number; top: HotSpot[] }): string {
  const lines = t.top.map((h) => `| ${(h.share * 100).toFixed(1)}% | ${h.selfMs.toFixed(0)} | \`${h.fn}\` | ${h.where} |`);
  return [`sampled ${(t.totalMs / 1000).toFixed(1)} s`, '', '| self | ms | function | where |', '| --- | --- | --- | --- |', ...lines, ''].join('\n');
}
