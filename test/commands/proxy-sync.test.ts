import { expect } from 'chai';
import { readFileSync, statSync } from 'node:fs';
import { homePaths } from '../../src/lib/daemon/home.js';
import { describeChanges, syncProxy } from '../../src/lib/daemon/proxy-state-sync.js';
import { HnetError } from '../../src/lib/errors.js';
import type { DetectOptions } from '../../src/lib/host/proxy/detect.js';
import type { ProxyUpdate } from '../../src/lib/daemon/control-types.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

function detectWith(env: Record<string, string>): DetectOptions {
  return { platform: 'linux', env, home: '/nonexistent', runner: async () => ({ stdout: '', stderr: '', exitCode: 127 }) as never, readFile: async () => Promise.reject(new Error('ENOENT')) };
}

describe('hnet proxy sync (detect, persist 0600, apply live)', () => {
  const tempDir = useTempDirs();
  const env = { http_proxy: 'http://alice:Pa55@127.0.0.1:3128', no_proxy: '*.corp' };

  it('saves to config.json with mode 0600 and PUTs the credentials only to the daemon', async () => {
    const paths = homePaths(tempDir('hnt-sync-'));
    const sent: ProxyUpdate[] = [];
    const r = await syncProxy({ paths, detect: detectWith(env), client: { putProxy: async (u: ProxyUpdate) => (sent.push(u), { http: null, https: null, noProxy: [], source: 'api' }) } });
    expect(r).to.include({ saved: true, applied: true, dryRun: false });
    expect(sent).to.deep.equal([{ http: 'http://alice:Pa55@127.0.0.1:3128', https: null, noProxy: ['*.corp'], pac: null }]);
    expect(statSync(paths.config).mode & 0o777).to.equal(0o600);
    expect(JSON.parse(readFileSync(paths.config, 'utf8')).proxy.http).to.equal('http://alice:Pa55@127.0.0.1:3128');
    expect(JSON.stringify(r)).not.to.contain('Pa55');
    expect(r.changes).to.include('http: none -> http://***@127.0.0.1:3128');
  });

  it('works with the daemon down: saved; applied at next start', async () => {
    const paths = homePaths(tempDir('hnt-sync-'));
    const r = await syncProxy({ paths, detect: detectWith(env) });
    expect(r).to.include({ saved: true, applied: false });
    expect(r.note).to.match(/saved; applied at next start/);
  });

  it('--dry-run writes and sends nothing', async () => {
    const paths = homePaths(tempDir('hnt-sync-'));
    const r = await syncProxy({ paths, detect: detectWith(env), dryRun: true, client: { putProxy: async () => Promise.reject(new HnetError('X', 'must not be called')) } });
    expect(r).to.include({ saved: false, applied: false, dryRun: true });
    expect(() => statSync(paths.config)).to.throw();
  });

  it('describes changes without credentials; a password change alone is "credentials changed"', () => {
    expect(describeChanges({ http: 'http://a:one@p:1', noProxy: ['x'] }, { http: 'http://a:two@p:1', noProxy: ['y'] })).to.deep.equal([
      'http: credentials changed',
      'no_proxy added: y',
      'no_proxy removed: x',
    ]);
    expect(describeChanges({ http: 'http://p:1', source: 'env' }, { http: 'http://p:1', source: 'env' })).to.deep.equal([]);
  });
});
