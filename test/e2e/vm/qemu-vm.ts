/**
 * Boot the test VM (build-vm.sh: Debian kernel + busybox initramfs + init.sh)
 * under qemu-system-x86_64 with TCG, attached to hnet over `-netdev stream`
 * (qemu://) or `-netdev dgram` with unix sockets (vfkit://). The console is
 * ttyS0 on stdout; bootVm resolves with the parsed "HNET <check> ok|fail ..."
 * lines once the VM prints "HNET done" and powers off (or rejects with the
 * console on timeout; the qemu process is always killed).
 */
import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/daemon.js';

export interface VmJob {
  netdev: { kind: 'stream'; path: string } | { kind: 'dgram'; local: string; remote: string };
  /** Guest fetches this URL and compares its sha256 with `sha`. */
  url?: string;
  sha?: string;
  /** Guest fetches this URL (a server in the corp namespace). */
  corp?: string;
  mac?: string;
  timeoutMs?: number;
}

export interface VmResult {
  console: string;
  checks: Record<string, { ok: boolean; detail: string }>;
}

/** Build (or reuse the cached) kernel and initramfs; returns their directory. */
export function buildVm(): string {
  return execFileSync(join(REPO_ROOT, 'test/e2e/vm/build-vm.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').pop()!;
}

export function parseChecks(consoleText: string): VmResult['checks'] {
  const checks: VmResult['checks'] = {};
  for (const m of consoleText.matchAll(/^HNET (\w+) (ok|fail)[ \t]*([^\r\n]*)/gm)) checks[m[1]] = { ok: m[2] === 'ok', detail: m[3] };
  return checks;
}

export function bootVm(cacheDir: string, job: VmJob): Promise<VmResult> {
  const append = ['console=ttyS0', 'quiet', 'panic=-1'];
  if (job.url) append.push(`hnet.url=${job.url}`, `hnet.sha=${job.sha ?? ''}`);
  if (job.corp) append.push(`hnet.corp=${job.corp}`);
  const nd = job.netdev;
  const netdev =
    nd.kind === 'stream'
      ? `stream,id=n0,server=off,addr.type=unix,addr.path=${nd.path}`
      : `dgram,id=n0,local.type=unix,local.path=${nd.local},remote.type=unix,remote.path=${nd.remote}`;
  const args = ['-machine', 'q35,accel=tcg', '-m', '192', '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio',
    '-kernel', join(cacheDir, 'vmlinuz'), '-initrd', join(cacheDir, 'initramfs.cpio.gz'), '-append', append.join(' '),
    '-netdev', netdev, '-device', `virtio-net-pci,netdev=n0,romfile=,mac=${job.mac ?? '52:54:00:12:34:56'}`];
  const proc = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`VM timed out; console:\n${out}`));
    }, job.timeoutMs ?? 90_000);
    proc.once('exit', () => {
      clearTimeout(timer);
      if (!/^HNET done/m.test(out)) return reject(new Error(`VM ended before "HNET done"; console:\n${out}`));
      resolve({ console: out, checks: parseChecks(out) });
    });
  });
}
