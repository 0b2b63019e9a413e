/**
 * Scratch directories for a suite: `const tempDir = useTempDirs()` inside a
 * describe() gives a mkdtemp under the OS temp dir, and every one it made is
 * removed when that suite ends (an `after` hook registered at the call, so it
 * runs after hooks registered earlier, e.g. the e2e cleanup that stops daemons).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function useTempDirs(): (prefix: string) => string {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return (prefix) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}
