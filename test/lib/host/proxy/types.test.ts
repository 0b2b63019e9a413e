import { expect } from 'chai';
import { parseProxyUrl, proxyUrlToString, redactProxy, redactProxyUrl, redactSource } from '../../../../src/lib/host/proxy/types.js';

describe('proxy URLs', () => {
  const table: [string, unknown][] = [
    ['proxy:3128', { scheme: 'http', host: 'proxy', port: 3128 }],
    ['http://proxy', { scheme: 'http', host: 'proxy', port: 80 }],
    ['https://proxy', { scheme: 'https', host: 'proxy', port: 443 }],
    ['socks://s', { scheme: 'socks5', host: 's', port: 1080 }],
    ['HTTP://Proxy.Example:8080/', { scheme: 'http', host: 'proxy.example', port: 8080 }],
    ['http://[::1]:3128', { scheme: 'http', host: '::1', port: 3128 }],
    ['http://u:p@h:1', { scheme: 'http', host: 'h', port: 1, username: 'u', password: 'p' }],
    ['http://h:0', undefined],
    ['http://h:65536', undefined],
    ['gopher://h:1', undefined],
    ['', undefined],
    ['http://:8080', undefined],
  ];
  for (const [text, expected] of table) {
    it(`parses '${text}'`, () => expect(parseProxyUrl(text)).to.deep.equal(expected));
  }

  it('round-trips credentials for the upstream connection', () => {
    const u = parseProxyUrl('http://bob:p%40ss@proxy:8080')!;
    expect(proxyUrlToString(u)).to.equal('http://bob:p%40ss@proxy:8080');
  });
});

describe('proxy credential redaction', () => {
  const url = { scheme: 'http' as const, host: 'proxy', port: 8080, username: 'bob', password: 'hunter2' };

  it('replaces user and password with *** in the display form', () => {
    expect(redactProxyUrl(url)).to.equal('http://***@proxy:8080');
    expect(redactProxyUrl({ scheme: 'http', host: '::1', port: 1 })).to.equal('http://[::1]:1');
  });

  it('redacts every URL, raw secret key and PAC credentials of a source', () => {
    const shown = redactSource({
      source: 'gnome', found: true, http: url, https: url, socks: { ...url, scheme: 'socks5' },
      pac: 'http://bob:hunter2@wpad/p.pac', noProxy: [], notes: [],
      raw: { 'http.authentication-password': 'hunter2', 'http.authentication-user': 'bob', 'http.host': 'proxy', HTTP_PROXY: 'http://bob:hunter2@proxy:8080' },
    });
    const text = JSON.stringify(shown);
    expect(text).to.not.include('hunter2');
    expect(text).to.not.include('bob');
    expect(shown.raw?.['http.host']).to.equal('proxy');
  });

  it('says an effective proxy is authenticated without showing how', () => {
    const shown = redactProxy({ source: 'env', http: url, noProxy: [] });
    expect(shown.authenticated).to.equal(true);
    expect(JSON.stringify(shown)).to.not.include('hunter2');
    expect(redactProxy({ source: 'env', http: { scheme: 'http', host: 'p', port: 1 }, noProxy: [] }).authenticated).to.equal(false);
  });
});

describe('proxy credential redaction in notes and raw values', () => {
  it('hides scheme-less user:pass@host written in a bad value', async () => {
    const { proxyFromEnv } = await import('../../../../src/lib/host/proxy/env.js');
    const r = proxyFromEnv({ http_proxy: 'bob:hunter2@proxy:99999' });
    expect(r.found).to.equal(false);
    const shown = JSON.stringify(redactSource(r));
    expect(shown).to.not.include('hunter2');
    expect(shown).to.include('***@proxy:99999');
  });
});
