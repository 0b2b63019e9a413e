import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokenFileError, HnetError } from '../../../src/lib/errors.js';
import { defaultConfig, loadConfig, updateConfig } from '../../../src/lib/daemon/config.js';

describe('config store (DESIGN §6)', () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hnt-config-'));
    path = join(dir, 'home', 'config.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a missing file as the defaults and creates nothing', () => {
    expect(loadConfig(path)).to.deep.equal({ version: 1, ports: [], aliases: [], dnsRecords: [], staticLeases: [] });
    expect(existsSync(path)).to.equal(false);
  });

  it('fills missing lists of a minimal file with empty ones', () => {
    updateConfig(path, () => undefined);
    writeFileSync(path, '{"version":1,"aliases":[{"ip":"10.1.2.3","prefix":32}]}');
    const c = loadConfig(path);
    expect(c.ports).to.deep.equal([]);
    expect(c.aliases).to.deep.equal([{ ip: '10.1.2.3', prefix: 32 }]);
  });

  it('round-trips every section through updateConfig and loadConfig', () => {
    const returned = updateConfig(path, (c) => {
      c.subnet = '192.168.70.0/24';
      c.ports.push({ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, guestPort: 80 });
      c.ports.push({ proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, guestIp: '192.168.65.3', guestPort: 53 });
      c.aliases.push({ ip: '10.200.10.1', prefix: 32, name: 'db' });
      c.proxy = { http: 'http://proxy:3128', noProxy: ['localhost'], source: 'env' };
      c.dnsRecords.push({ name: 'db.hnet.internal', type: 'A', value: '192.168.65.254' });
      c.staticLeases.push({ mac: '02:00:00:00:00:01', ip: '192.168.65.10', hostname: 'vm1' });
      return c.ports.length;
    });
    expect(returned).to.equal(2);
    const c = loadConfig(path);
    expect(c.subnet).to.equal('192.168.70.0/24');
    expect(c.ports[1]).to.deep.equal({ proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, guestIp: '192.168.65.3', guestPort: 53 });
    expect(c.aliases).to.deep.equal([{ ip: '10.200.10.1', prefix: 32, name: 'db' }]);
    expect(c.proxy).to.deep.equal({ http: 'http://proxy:3128', noProxy: ['localhost'], source: 'env' });
    expect(c.dnsRecords).to.have.length(1);
    expect(c.staticLeases[0].hostname).to.equal('vm1');
  });

  it('writes the file 0600 in a folder created 0700', () => {
    updateConfig(path, (c) => void c.aliases.push({ ip: '10.0.0.1', prefix: 32 }));
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    expect(statSync(join(dir, 'home')).mode & 0o777).to.equal(0o700);
  });

  it('keeps unknown top-level keys written by a newer hnet', () => {
    updateConfig(path, () => undefined);
    writeFileSync(path, JSON.stringify({ ...defaultConfig(), future: { x: 1 } }));
    updateConfig(path, (c) => void c.aliases.push({ ip: '10.0.0.2', prefix: 32 }));
    expect(JSON.parse(readFileSync(path, 'utf8')).future).to.deep.equal({ x: 1 });
  });

  for (const [what, text] of [
    ['not JSON', '{"version":1,'],
    ['a wrong version', '{"version":2}'],
    ['a port out of range', '{"version":1,"ports":[{"proto":"tcp","hostIp":"127.0.0.1","hostPort":70000,"guestPort":80}]}'],
    ['an alias that is not IPv4', '{"version":1,"aliases":[{"ip":"::1","prefix":128}]}'],
    ['a lease with a bad MAC', '{"version":1,"staticLeases":[{"mac":"zz","ip":"192.168.65.9"}]}'],
  ] as const) {
    it(`refuses a file with ${what}, names it, and leaves it byte-identical`, () => {
      updateConfig(path, () => undefined);
      writeFileSync(path, text);
      expect(() => loadConfig(path)).to.throw(BrokenFileError).with.property('message').that.includes(path);
      let thrown: unknown;
      try {
        updateConfig(path, (c) => void c.aliases.push({ ip: '10.0.0.3', prefix: 32 }));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).to.be.instanceOf(BrokenFileError);
      expect(readFileSync(path, 'utf8')).to.equal(text);
    });
  }

  it('writes nothing when the mutation leaves an invalid config', () => {
    updateConfig(path, (c) => void c.aliases.push({ ip: '10.0.0.4', prefix: 32 }));
    const before = readFileSync(path, 'utf8');
    expect(() => updateConfig(path, (c) => void c.aliases.push({ ip: 'nope', prefix: 32 }))).to.throw(HnetError, /invalid config/);
    expect(readFileSync(path, 'utf8')).to.equal(before);
  });

  it('loses no update when two processes update concurrently', async () => {
    const n = 25;
    const script = `
      import { updateConfig } from ${JSON.stringify(join(process.cwd(), 'src/lib/daemon/config.ts'))};
      const [path, tag, n] = process.argv.slice(-3);
      for (let i = 0; i < Number(n); i++) updateConfig(path, (c) => { c.dnsRecords.push({ name: tag + i, type: 'A', value: '10.0.0.1' }); });
    `;
    const child = (tag: string) =>
      new Promise<number>((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, path, tag, String(n)], { stdio: ['ignore', 'inherit', 'inherit'] });
        p.on('error', reject);
        p.on('exit', (code) => resolve(code ?? -1));
      });
    updateConfig(path, () => undefined);
    const codes = await Promise.all([child('a'), child('b')]);
    expect(codes).to.deep.equal([0, 0]);
    const names = loadConfig(path).dnsRecords.map((r) => r.name);
    expect(names).to.have.length(2 * n);
    for (let i = 0; i < n; i++) expect(names).to.include.members([`a${i}`, `b${i}`]);
  });
});
