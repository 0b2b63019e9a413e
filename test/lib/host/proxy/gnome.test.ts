import { expect } from 'chai';
import { fakeRunner } from '../../../../src/lib/host/exec.js';
import { gnomeProxyFromGsettings, parseGVariant, readGnomeProxy } from '../../../../src/lib/host/proxy/gnome.js';
import { fixture } from './fixtures.js';

describe('GVariant text format', () => {
  const table: [string, unknown][] = [
    ["'manual'", 'manual'],
    ['"it\'s"', "it's"],
    ["'a\\'b'", "a'b"],
    ['3128', 3128],
    ['true', true],
    ['false', false],
    ["['localhost', '127.0.0.0/8', '::1']", ['localhost', '127.0.0.0/8', '::1']],
    ['@as []', []],
    ['[]', []],
    ["''", ''],
  ];
  for (const [text, value] of table) {
    it(`parses ${text}`, () => expect(parseGVariant(text)).to.deep.equal(value));
  }
  it('rejects an unterminated string', () => expect(parseGVariant("'abc")).to.equal(undefined));
  it('rejects an array of non-strings', () => expect(parseGVariant('[1, 2]')).to.equal(undefined));
});

describe('GNOME org.gnome.system.proxy', () => {
  it('reads a manual proxy with authentication and ignore-hosts', () => {
    const r = gnomeProxyFromGsettings(fixture('gsettings-manual.txt'));
    expect(r.found).to.equal(true);
    expect(r.http).to.deep.equal({ scheme: 'http', host: 'proxy.corp.example.com', port: 3128, username: 'bob', password: 'hunter2' });
    expect(r.https).to.deep.equal({ scheme: 'http', host: 'secure.corp.example.com', port: 3129 });
    expect(r.socks).to.equal(undefined);
    expect(r.noProxy).to.deep.equal(['localhost', '127.0.0.0/8', '::1', '*.corp.example.com', '10.0.0.0/8']);
  });

  it('uses the HTTP proxy for https when use-same-proxy is true', () => {
    const r = gnomeProxyFromGsettings(fixture('gsettings-same-proxy.txt'));
    expect(r.https).to.deep.equal({ scheme: 'http', host: '10.20.0.5', port: 8080 });
    expect(r.http?.username).to.equal(undefined);
    expect(r.socks).to.deep.equal({ scheme: 'socks5', host: 'socks.corp.example.com', port: 1080 });
    expect(r.noProxy).to.deep.equal([]);
  });

  it("reads the PAC URL in mode 'auto'", () => {
    const r = gnomeProxyFromGsettings(fixture('gsettings-auto.txt'));
    expect(r.found).to.equal(true);
    expect(r.pac).to.equal('http://wpad.corp.example.com/wpad.dat');
    expect(r.http).to.equal(undefined);
  });

  it("finds nothing in mode 'none' even with a stale host", () => {
    const r = gnomeProxyFromGsettings(fixture('gsettings-none.txt'));
    expect(r.found).to.equal(false);
    expect(r.http).to.equal(undefined);
  });

  it("notes WPAD when mode is 'auto' without a URL", () => {
    const r = gnomeProxyFromGsettings("org.gnome.system.proxy mode 'auto'\norg.gnome.system.proxy autoconfig-url ''\n");
    expect(r.found).to.equal(false);
    expect(r.notes.join()).to.include('WPAD');
  });

  it('runs one gsettings list-recursively call', async () => {
    const runner = fakeRunner([{ match: 'gsettings list-recursively org.gnome.system.proxy', result: { stdout: fixture('gsettings-manual.txt') } }]);
    const r = await readGnomeProxy(runner);
    expect(runner.calls).to.have.length(1);
    expect(r.http?.host).to.equal('proxy.corp.example.com');
  });

  it('reports found=false when the schema is missing', async () => {
    const runner = fakeRunner([{ match: /gsettings/, result: { exitCode: 1, stderr: 'No such schema “org.gnome.system.proxy”' } }]);
    const r = await readGnomeProxy(runner);
    expect(r.found).to.equal(false);
    expect(r.notes[0]).to.include('No such schema');
  });
});
