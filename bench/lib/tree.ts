/**
 * hnet trees to benchmark: the working tree, or a git revision unpacked with
 * `git archive` into a temporary folder (node_modules linked from the
 * repository), built with `npm run build` either way.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tree {
  root: string;
  /** Short commit id, with "+dirty" for a working tree whose src/ or bin/ differ from HEAD. */
  commit: string;
  cleanup(): void;
}

export function build(root: string, log: (s: string) => void): void {
  log(`building hnet in ${root}`);
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The working tree at `repo`, built unless `noBuild`. */
export function workingTree(repo: string, log: (s: string) => void, noBuild = false): Tree {
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo }).toString().trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src', 'bin'], { cwd: repo }).toString().trim();
  if (!noBuild) build(repo, log);
  return { root: repo, commit: `${commit}${dirty ? '+dirty' : ''}`, cleanup: () => undefined };
}

/** Revision `rev` of the repository at `repo`, unpacked and built in a temporary folder. */
export function revisionTree(repo: string, rev: string, log: (s: string) => void): Tree {
  const commit = execFileSync('git', ['rev-parse', '--short', `${rev}^{commit}`], { cwd: repo }).toString().trim();
  const root = mkdtempSync(join(tmpdir(), 'hnb-tree-'));
  try {
    execFileSync('sh', ['-c', `git archive '${commit}' | tar -x -C '${root}'`], { cwd: repo });
    symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'));
    build(root, log);
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  return { root, commit, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
