/**
 * Run the CLI as a user does (`node bin/dev.js ...`), asynchronously, so a
 * fake daemon in the test process keeps serving while it runs. NO_COLOR keeps
 * the output plain for assertions.
 */
import { spawn } from 'node:child_process';

export function hnet(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['bin/dev.js', ...args], { cwd: process.cwd(), env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c) => (stdout += String(c)));
    proc.stderr.on('data', (c) => (stderr += String(c)));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
