import { expect } from 'chai';
import { fakeRunner, type FakeReply } from '../../../../src/lib/host/exec.js';
import { detectProxy, isGnomeDesktop, proxyReport, type DetectOptions } from '../../../../src/lib/host/proxy/detect.js';
import { fixture } from './fixtures.js';

/** Options for a fake host: files by path, commands by reply. */
function host(platform: NodeJS.Platform, env: Record<string, string>, files: Record<string, string>, replies: FakeReply[] = []): DetectOptions & { runner: ReturnType<typeof fakeRunner> } {
  return {
    platform,
    env,
    home: '/home/u',
    runner: fakeRunner(replies),
    readFile: async (p) => {
      if (p in files) return files[p];
      throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    },
  };
}

const GSETTINGS = (name: string): FakeReply => ({ match: 'gsettings list-recursively org.gnome.system.proxy', result: { stdout: fixture(name) } });
const KIO = '/home/u/.config/kioslaverc';

describe('host proxy source precedence', () => {
  it('macOS: scutil wins over the environment', async () => {
    const d = await detectProxy(host('darwin', { http_proxy: 'http://env:1' }, {}, [{ match: 'scutil --proxy', result: { stdout: fixture('scutil-plain.txt') } }]));
    expect(d.sources.map((s) => s.source)).to.deep.equal(['macos', 'env']);
    expect(d.effective.source).to.equal('macos');
    expect(d.effective.http?.host).to.equal('proxy.corp.example.com');
    expect(d.why).to.include('scutil');
  });

  it('macOS: the environment is used when scutil configures nothing', async () => {
    const d = await detectProxy(host('darwin', { http_proxy: 'http://env:1' }, {}, [{ match: 'scutil --proxy', result: { stdout: fixture('scutil-null.txt') } }]));
    expect(d.effective.source).to.equal('env');
    expect(d.effective.http?.host).to.equal('env');
  });

  it('Linux: GNOME wins on a GNOME desktop with mode manual', async () => {
    const h = host('linux', { XDG_CURRENT_DESKTOP: 'ubuntu:GNOME', http_proxy: 'http://env:1' }, { [KIO]: fixture('kioslaverc-manual-spaced') }, [GSETTINGS('gsettings-manual.txt')]);
    const d = await detectProxy(h);
    expect(d.effective.source).to.equal('gnome');
    expect(d.effective.http?.password).to.equal('hunter2');
    expect(d.sources.map((s) => s.source)).to.deep.equal(['gnome', 'kde', 'env', 'etc-environment']);
  });

  it("Linux: GNOME mode 'none' falls through to KDE", async () => {
    const h = host('linux', { XDG_CURRENT_DESKTOP: 'GNOME' }, { [KIO]: fixture('kioslaverc-manual-spaced') }, [GSETTINGS('gsettings-none.txt')]);
    const d = await detectProxy(h);
    expect(d.effective.source).to.equal('kde');
    expect(d.why).to.include('checked first, nothing set: gnome');
  });

  it('Linux: gsettings is not consulted off a GNOME desktop', async () => {
    const h = host('linux', { XDG_CURRENT_DESKTOP: 'KDE' }, { [KIO]: fixture('kioslaverc-manual-spaced') }, [GSETTINGS('gsettings-manual.txt')]);
    const d = await detectProxy(h);
    expect(h.runner.calls).to.deep.equal([]);
    expect(d.effective.source).to.equal('kde');
  });

  it('Linux: KDE ProxyType 0 falls through to the environment', async () => {
    const h = host('linux', { https_proxy: 'http://env:2' }, { [KIO]: fixture('kioslaverc-none') });
    const d = await detectProxy(h);
    expect(d.effective.source).to.equal('env');
    expect(d.effective.https?.host).to.equal('env');
  });

  it('Linux: /etc/environment is the last resort', async () => {
    const h = host('linux', {}, { '/etc/environment': fixture('etc-environment') });
    const d = await detectProxy(h);
    expect(d.effective.source).to.equal('etc-environment');
    expect(d.effective.noProxy).to.deep.equal(['localhost', '127.0.0.1', '.corp.example.com']);
  });

  it('goes direct when nothing configures a proxy', async () => {
    const d = await detectProxy(host('linux', {}, {}));
    expect(d.effective).to.deep.equal({ source: 'none', noProxy: [] });
    expect(d.why).to.include('direct');
  });

  it('recognises GNOME desktops from XDG_CURRENT_DESKTOP', () => {
    expect(isGnomeDesktop({ XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' })).to.equal(true);
    expect(isGnomeDesktop({ XDG_CURRENT_DESKTOP: 'KDE' })).to.equal(false);
    expect(isGnomeDesktop({})).to.equal(false);
  });
});

describe('proxy report', () => {
  it('never contains GNOME credentials and flags PAC as not evaluated', async () => {
    const h = host('linux', { XDG_CURRENT_DESKTOP: 'GNOME' }, {}, [GSETTINGS('gsettings-manual.txt')]);
    const report = await proxyReport(h);
    const text = JSON.stringify(report);
    expect(text).to.not.include('hunter2');
    expect(report.effective.authenticated).to.equal(true);
    expect(report.pacNotEvaluated).to.equal(false);
    expect(report.applied).to.equal(null);
    const pac = await proxyReport(host('linux', { XDG_CURRENT_DESKTOP: 'GNOME' }, {}, [GSETTINGS('gsettings-auto.txt')]));
    expect(pac.pacNotEvaluated).to.equal(true);
  });
});
