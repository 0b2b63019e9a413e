/**
 * Run the real hnet CLI (`bin/dev.js`, TypeScript through tsx) as a child
 * process and collect its exit code and output; colour off so assertions
 * read plain text. Also: the IPv4 addresses on lo, as `a.b.c.d/len`.
 */
import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './daemon.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', join(REPO_ROOT, 'bin/dev.js'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** IPv4 addresses on lo right now, straight from iproute2. */
export function loAddresses(): string[] {
  const links = JSON.parse(execFileSync('ip', ['-j', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' })) as Array<{ addr_info: Array<{ family: string; local: string; prefixlen: number }> }>;
  return links.flatMap((l) => l.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`));
}
