import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeRunner } from '../../../../src/lib/host/exec.js';
import { buildGuestProxyEnv, formatShellExports, GUEST_PROXY_URL, guestProxyEnv, shellQuote } from '../../../../src/lib/host/proxy/guest-env.js';

describe('guest proxy environment', () => {
  const secret = { scheme: 'http' as const, host: 'upstream.corp', port: 8080, username: 'bob', password: 'hunter2' };

  it('points every proxy variable at the gateway proxy, upper and lower case', () => {
    const e = buildGuestProxyEnv({ source: 'env', http: secret, https: secret, noProxy: ['*.corp'] });
    expect(Object.keys(e.vars)).to.deep.equal(['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']);
    for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) expect(e.vars[k]).to.equal(GUEST_PROXY_URL);
    expect(e.vars.NO_PROXY).to.equal('.corp,localhost,127.0.0.0/8,192.168.65.0/24,192.168.65.1,.hnet.internal');
    expect(e.vars.no_proxy).to.equal(e.vars.NO_PROXY);
  });

  it('never carries the upstream host or its credentials', () => {
    const text = JSON.stringify(buildGuestProxyEnv({ source: 'env', http: secret, noProxy: [] }));
    expect(text).to.not.include('hunter2');
    expect(text).to.not.include('bob');
    expect(text).to.not.include('upstream.corp');
  });

  it('uses the guest subnet and its .1 gateway', () => {
    const e = buildGuestProxyEnv({ source: 'none', noProxy: [] }, '10.77.0.0/24');
    expect(e.noProxy).to.include('10.77.0.0/24');
    expect(e.noProxy).to.include('10.77.0.1');
    expect(e.gateway).to.equal('10.77.0.1');
  });

  it('takes the subnet from HOME/config.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hnt-proxy-'));
    try {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ version: 1, subnet: '10.88.0.0/24', ports: [], aliases: [], dnsRecords: [], staticLeases: [] }));
      const e = await guestProxyEnv({
        configPath: join(dir, 'config.json'),
        detect: { platform: 'linux', env: { http_proxy: 'http://p:1', no_proxy: 'intranet' }, home: dir, runner: fakeRunner([]), readFile: async () => Promise.reject(new Error('ENOENT')) },
      });
      expect(e.subnet).to.equal('10.88.0.0/24');
      expect(e.noProxy.slice(0, 1)).to.deep.equal(['intranet']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("writes sh exports with single quotes, escaping '", () => {
    expect(shellQuote("a'b")).to.equal(`'a'\\''b'`);
    expect(formatShellExports({ A: 'x y', B: "it's" })).to.equal(`export A='x y'\nexport B='it'\\''s'\n`);
  });
});
