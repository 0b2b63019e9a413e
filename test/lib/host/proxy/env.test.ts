import { expect } from 'chai';
import { parseEtcEnvironment, proxyFromEnv, readEtcEnvironment } from '../../../../src/lib/host/proxy/env.js';
import { fixture } from './fixtures.js';

describe('proxy environment variables', () => {
  it('lets lower-case http_proxy win over HTTP_PROXY, as curl does', () => {
    const r = proxyFromEnv({ http_proxy: 'http://lower:1', HTTP_PROXY: 'http://upper:2' });
    expect(r.http).to.deep.equal({ scheme: 'http', host: 'lower', port: 1 });
    expect(r.notes.join()).to.include('lower case wins');
  });

  it('accepts upper-case HTTP_PROXY when no lower case is set, with a note', () => {
    const r = proxyFromEnv({ HTTP_PROXY: 'proxy.example:3128' });
    expect(r.http).to.deep.equal({ scheme: 'http', host: 'proxy.example', port: 3128 });
    expect(r.notes.join()).to.include('curl itself reads only http_proxy');
  });

  it('lets lower case win for https_proxy and no_proxy too', () => {
    const r = proxyFromEnv({ https_proxy: 'http://a:1', HTTPS_PROXY: 'http://b:2', no_proxy: 'x', NO_PROXY: 'y,z' });
    expect(r.https?.host).to.equal('a');
    expect(r.noProxy).to.deep.equal(['x']);
  });

  it('uses a socks ALL_PROXY as the SOCKS proxy and an http one as the fallback for both', () => {
    expect(proxyFromEnv({ ALL_PROXY: 'socks5h://127.0.0.1:1080' }).socks).to.deep.equal({ scheme: 'socks5h', host: '127.0.0.1', port: 1080 });
    const r = proxyFromEnv({ all_proxy: 'http://all:8', https_proxy: 'http://s:9' });
    expect(r.http?.host).to.equal('all');
    expect(r.https?.host).to.equal('s');
  });

  it('keeps credentials from the URL, percent-decoded', () => {
    const r = proxyFromEnv({ https_proxy: 'http://bob:p%40ss@proxy:8080/' });
    expect(r.https).to.deep.equal({ scheme: 'http', host: 'proxy', port: 8080, username: 'bob', password: 'p@ss' });
  });

  it('ignores and notes a value that is no proxy URL', () => {
    const r = proxyFromEnv({ http_proxy: 'ftp://x:1' });
    expect(r.found).to.equal(false);
    expect(r.notes.join()).to.include('not a usable proxy URL');
  });

  it('finds nothing in an empty environment', () => {
    expect(proxyFromEnv({ PATH: '/bin', http_proxy: '' }).found).to.equal(false);
  });
});

describe('/etc/environment (pam_env)', () => {
  it('parses KEY=value lines with double, single and no quotes, export, and comments', () => {
    const vars = parseEtcEnvironment(fixture('etc-environment'));
    expect(vars.PATH).to.equal('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(vars.http_proxy).to.equal('http://proxy.corp.example.com:3128/');
    expect(vars.https_proxy).to.equal('http://proxy.corp.example.com:3128/');
    expect(vars.ftp_proxy).to.equal('http://proxy.corp.example.com:3128/');
    expect(vars.NO_PROXY).to.equal('localhost,127.0.0.1,.corp.example.com');
    expect(Object.keys(vars)).to.not.include('#');
  });

  it('reads the proxy from /etc/environment as its own source', async () => {
    const r = await readEtcEnvironment(async () => fixture('etc-environment'));
    expect(r.source).to.equal('etc-environment');
    expect(r.http).to.deep.equal({ scheme: 'http', host: 'proxy.corp.example.com', port: 3128 });
    expect(r.noProxy).to.deep.equal(['localhost', '127.0.0.1', '.corp.example.com']);
  });

  it('reports found=false when the file is missing', async () => {
    const r = await readEtcEnvironment(async () => Promise.reject(new Error('ENOENT')), '/nope');
    expect(r.found).to.equal(false);
    expect(r.notes[0]).to.include('/nope');
  });
});
