import { expect } from 'chai';
import { fakeRunner } from '../../../../src/lib/host/exec.js';
import { macosProxyFromScutil, parseScutil, readMacosProxy } from '../../../../src/lib/host/proxy/macos.js';
import { fixture } from './fixtures.js';

describe('macOS scutil --proxy', () => {
  it('parses nested dictionaries and arrays into a tree', () => {
    const d = parseScutil(fixture('scutil-scoped.txt'));
    expect(d.HTTPProxy).to.equal('10.20.0.5');
    expect(d.ExceptionsList).to.deep.equal(['*.local', '169.254/16']);
    const scoped = d.__SCOPED__ as Record<string, Record<string, unknown>>;
    expect(Object.keys(scoped)).to.deep.equal(['en0', 'utun4']);
    expect(scoped.utun4.ProxyAutoConfigURLString).to.equal('https://vpn.corp.example.com/pac/vpn.pac');
    expect(scoped.en0.ExceptionsList).to.deep.equal(['*.local', '169.254/16']);
  });

  it('reads enabled HTTP and HTTPS proxies and the exceptions list (plain)', () => {
    const r = macosProxyFromScutil(fixture('scutil-plain.txt'));
    expect(r.found).to.equal(true);
    expect(r.http).to.deep.equal({ scheme: 'http', host: 'proxy.corp.example.com', port: 8080 });
    expect(r.https).to.deep.equal({ scheme: 'http', host: 'proxy.corp.example.com', port: 8080 });
    expect(r.socks).to.equal(undefined);
    expect(r.noProxy).to.deep.equal(['*.local', '169.254/16']);
  });

  it('reports an enabled PAC URL and no manual proxy', () => {
    const r = macosProxyFromScutil(fixture('scutil-pac.txt'));
    expect(r.found).to.equal(true);
    expect(r.pac).to.equal('http://wpad.corp.example.com/proxy.pac');
    expect(r.http).to.equal(undefined);
  });

  it('treats <NULL> values as unset and finds nothing', () => {
    const r = macosProxyFromScutil(fixture('scutil-null.txt'));
    expect(r.found).to.equal(false);
    expect(r.http).to.equal(undefined);
    expect(r.pac).to.equal(undefined);
    expect(r.notes).to.deep.equal([]);
  });

  it('ignores stale hosts whose Enable flag is 0, and says so', () => {
    const r = macosProxyFromScutil(fixture('scutil-stale.txt'));
    expect(r.found).to.equal(true);
    expect(r.http).to.equal(undefined);
    expect(r.socks).to.equal(undefined);
    expect(r.pac).to.equal(undefined);
    expect(r.https).to.deep.equal({ scheme: 'http', host: 'secure-proxy.example.net', port: 8443 });
    expect(r.notes.join('\n')).to.match(/HTTPProxy old-proxy\.example\.net:8888 .*HTTPEnable is 0/);
    expect(r.notes.join('\n')).to.match(/SOCKSProxy socks\.example\.net:1080 .*SOCKSEnable is 0/);
    expect(r.notes.join('\n')).to.match(/PAC URL .* ProxyAutoConfigEnable is 0/);
  });

  it('keeps CIDR shorthand and wildcards and turns ExcludeSimpleHostnames into <local>', () => {
    const r = macosProxyFromScutil(fixture('scutil-exceptions.txt'));
    expect(r.noProxy).to.deep.equal(['*.local', '169.254/16', '10.0/16', '192.168.1.0/24', '*.corp.example.com', 'Intranet.Example.COM', '127.0.0.1', 'localhost', '<local>']);
    expect(r.socks).to.deep.equal({ scheme: 'socks5', host: '127.0.0.1', port: 1080 });
  });

  it('does not add <local> when ExcludeSimpleHostnames is 0', () => {
    expect(macosProxyFromScutil(fixture('scutil-stale.txt')).noProxy).to.not.include('<local>');
  });

  it('notes per-interface (__SCOPED__) settings that differ from the global ones', () => {
    const r = macosProxyFromScutil(fixture('scutil-scoped.txt'));
    expect(r.http).to.deep.equal({ scheme: 'http', host: '10.20.0.5', port: 3128 });
    expect(r.pac).to.equal(undefined);
    const scopedNotes = r.notes.filter((n) => n.includes('scoped'));
    expect(scopedNotes).to.have.length(1);
    expect(scopedNotes[0]).to.include('utun4');
  });

  it('keeps the proxy user name and notes that the password lives in the keychain', () => {
    const r = macosProxyFromScutil(fixture('scutil-auth.txt'));
    expect(r.http?.username).to.equal('alice');
    expect(r.http?.password).to.equal(undefined);
    expect(r.notes.some((n) => n.includes('keychain'))).to.equal(true);
  });

  it('finds nothing in empty or garbage output without throwing', () => {
    expect(macosProxyFromScutil('').found).to.equal(false);
    expect(macosProxyFromScutil('}}} : <array> {\n{').found).to.equal(false);
  });

  it('runs scutil --proxy through the runner', async () => {
    const runner = fakeRunner([{ match: 'scutil --proxy', result: { stdout: fixture('scutil-plain.txt') } }]);
    const r = await readMacosProxy(runner);
    expect(runner.calls).to.deep.equal(['scutil --proxy']);
    expect(r.found).to.equal(true);
  });

  it('reports found=false with a note when scutil fails', async () => {
    const r = await readMacosProxy(fakeRunner([]));
    expect(r.found).to.equal(false);
    expect(r.notes[0]).to.match(/scutil --proxy failed \(exit 127\)/);
  });
});
