import { expect } from 'chai';
import { kdeProxyFromKioslaverc, kioslavercPath, parseKdeProxyValue, readKdeProxy } from '../../../../src/lib/host/proxy/kde.js';
import { fixture } from './fixtures.js';

describe('KDE kioslaverc [Proxy Settings]', () => {
  it('reads ProxyType 1 with "http://host port" values', () => {
    const r = kdeProxyFromKioslaverc(fixture('kioslaverc-manual-spaced'), {});
    expect(r.found).to.equal(true);
    expect(r.http).to.deep.equal({ scheme: 'http', host: 'proxy.corp.example.com', port: 3128 });
    expect(r.https).to.deep.equal({ scheme: 'http', host: 'proxy.corp.example.com', port: 3129 });
    expect(r.socks).to.deep.equal({ scheme: 'socks5', host: 'socks.corp.example.com', port: 1080 });
    expect(r.noProxy).to.deep.equal(['localhost', '127.0.0.1', '.corp.example.com', '10.0.0.0/8']);
  });

  it('reads ProxyType 1 with "http://user:pass@host:port" values', () => {
    const r = kdeProxyFromKioslaverc(fixture('kioslaverc-manual-colon'), {});
    expect(r.http).to.deep.equal({ scheme: 'http', host: 'proxy.example.org', port: 8080, username: 'alice', password: 'pa55' });
    expect(r.noProxy).to.deep.equal(['localhost', '.lan']);
  });

  it('reads the PAC script for ProxyType 2 and ignores the stale manual host', () => {
    const r = kdeProxyFromKioslaverc(fixture('kioslaverc-pac'), {});
    expect(r.pac).to.equal('http://wpad.corp.example.com/proxy.pac');
    expect(r.http).to.equal(undefined);
    expect(r.found).to.equal(true);
  });

  it('notes that WPAD (ProxyType 3) is not performed', () => {
    const r = kdeProxyFromKioslaverc(fixture('kioslaverc-wpad'), {});
    expect(r.found).to.equal(false);
    expect(r.notes.join()).to.include('WPAD');
  });

  it('resolves ProxyType 4 through the named environment variables, first set wins', () => {
    const env = { HTTP_PROXY: 'http://upper.example:1', http_proxy: 'http://lower.example:2', NO_PROXY: '.corp,10.0.0.0/8' };
    const r = kdeProxyFromKioslaverc(fixture('kioslaverc-envvars'), env);
    expect(r.http).to.deep.equal({ scheme: 'http', host: 'lower.example', port: 2 });
    expect(r.https).to.equal(undefined);
    expect(r.noProxy).to.deep.equal(['.corp', '10.0.0.0/8']);
  });

  it('expands [$e] values, honours [$i], and skips localised keys', () => {
    const r = kdeProxyFromKioslaverc(fixture('kioslaverc-flags'), { CORP_PROXY_HOST: 'px.corp' });
    expect(r.http).to.deep.equal({ scheme: 'http', host: 'px.corp', port: 3128 });
    expect(r.https).to.deep.equal({ scheme: 'http', host: 'px.corp', port: 3129 });
    expect(r.noProxy).to.deep.equal(['localhost']);
  });

  it('finds nothing for ProxyType 0 even with a stale host', () => {
    const r = kdeProxyFromKioslaverc(fixture('kioslaverc-none'), {});
    expect(r.found).to.equal(false);
    expect(r.http).to.equal(undefined);
  });

  it('does not use a ReversedException list as bypass, and says so', () => {
    const r = kdeProxyFromKioslaverc(fixture('kioslaverc-reversed'), {});
    expect(r.http?.host).to.equal('proxy.example.org');
    expect(r.noProxy).to.deep.equal([]);
    expect(r.notes.join()).to.include('ReversedException');
  });

  it('parses "host port" without a scheme and rejects a bad port', () => {
    expect(parseKdeProxyValue('proxy 8080', 'http')).to.deep.equal({ scheme: 'http', host: 'proxy', port: 8080 });
    expect(parseKdeProxyValue('http://proxy 70000', 'http')).to.equal(undefined);
  });

  it('finds kioslaverc under XDG_CONFIG_HOME, else ~/.config', async () => {
    expect(kioslavercPath('/home/u', {})).to.equal('/home/u/.config/kioslaverc');
    expect(kioslavercPath('/home/u', { XDG_CONFIG_HOME: '/cfg' })).to.equal('/cfg/kioslaverc');
    const r = await readKdeProxy('/home/u', {}, async () => {
      throw new Error('ENOENT');
    });
    expect(r.found).to.equal(false);
    expect(r.notes[0]).to.include('/home/u/.config/kioslaverc');
  });
});
