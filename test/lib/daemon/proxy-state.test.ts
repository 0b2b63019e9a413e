import { expect } from 'chai';
import { ProxyState } from '../../../src/lib/daemon/proxy-state.js';
import { HnetError } from '../../../src/lib/errors.js';

const CTX = { subnet: '192.168.65.0/24', gateway: '192.168.65.1' };

describe('ProxyState (GET/PUT /v1/proxy, live settings)', () => {
  const state = () => ProxyState.fromConfig(CTX, { http: 'http://u:p4ss@proxy.corp:3128', https: 'http://u:p4ss@proxy.corp:3129', noProxy: ['*.corp.internal', '10/8'], source: 'env' });

  it('routes http to the http upstream and CONNECT to the https upstream, no_proxy first', () => {
    const s = state();
    const http = s.route('http', 'example.com', 80);
    expect(http.via === 'upstream' && http.upstream.port).to.equal(3128);
    const tls = s.route('connect', 'example.com', 443);
    expect(tls.via === 'upstream' && tls.upstream.port).to.equal(3129);
    expect(s.route('connect', 'git.corp.internal', 443)).to.deep.equal({ via: 'direct', why: 'no_proxy' });
    expect(s.route('http', '10.1.2.3', 80)).to.deep.equal({ via: 'direct', why: 'no_proxy' });
    expect(s.route('http', 'gateway.hnet.internal', 80)).to.deep.equal({ via: 'direct', why: 'no_proxy' });
    expect(s.route('http', '192.168.65.7', 80)).to.deep.equal({ via: 'direct', why: 'no_proxy' });
  });

  it('goes direct with no upstream for that kind', () => {
    const s = ProxyState.fromConfig(CTX, { http: 'http://proxy.corp:3128', source: 'env' });
    expect(s.route('connect', 'example.com', 443)).to.deep.equal({ via: 'direct', why: 'no_upstream' });
    expect(s.hasUpstream('connect')).to.equal(false);
    expect(new ProxyState(CTX).route('http', 'example.com', 80)).to.deep.equal({ via: 'direct', why: 'no_upstream' });
  });

  it('never shows credentials in body(), and keeps them in toConfig() for the 0600 file', () => {
    const s = state();
    const body = JSON.stringify(s.body());
    expect(body).not.to.contain('p4ss');
    expect(s.body().http).to.equal('http://***@proxy.corp:3128');
    expect(s.body().noProxy).to.include.members(['.corp.internal', '10.0.0.0/8', '192.168.65.0/24', '192.168.65.1', '.hnet.internal']);
    expect(s.toConfig().http).to.equal('http://u:p4ss@proxy.corp:3128');
  });

  it('apply() changes only the fields given, null clears, and reports the change', () => {
    const s = state();
    let told = 0;
    s.onChange = () => told++;
    s.apply({ http: 'http://v:new@proxy2.corp:8080' });
    expect(s.body().http).to.equal('http://***@proxy2.corp:8080');
    expect(s.body().https).to.equal('http://***@proxy.corp:3129');
    s.apply({ http: null, https: null });
    expect(s.body()).to.include({ http: null, https: null, source: 'none' });
    expect(told).to.equal(2);
    expect(s.generation).to.equal(2);
  });

  it('refuses an unparsable or non-http upstream and changes nothing', () => {
    const s = state();
    for (const bad of ['http://u:p4ss@', 'socks5://proxy:1080', 'ftp://x']) {
      expect(() => s.apply({ http: bad, https: null })).to.throw(HnetError).that.satisfies((e: HnetError) => e.code === 'HNET_BAD_SPEC' && !e.message.includes('p4ss'));
    }
    expect(s.body().https).to.equal('http://***@proxy.corp:3129');
    expect(s.generation).to.equal(0);
  });
});
