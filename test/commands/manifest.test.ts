import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The build writes oclif.manifest.json (bin/oclif-manifest.js) so the CLI
 * imports only the command it runs. A manifest that misses a command, or
 * lists flags the command no longer has, would make the CLI wrong; this
 * checks it against the commands as built. Without a build (test:unit on a
 * fresh clone) there is nothing to compare.
 */
const ROOT = process.cwd();

function commandFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? commandFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

describe('oclif manifest written by the build', function () {
  before(function () {
    if (!existsSync(join(ROOT, 'dist/commands'))) this.skip();
  });

  it('lists every built command, with the flags each one has', async () => {
    const path = join(ROOT, 'oclif.manifest.json');
    expect(existsSync(path), 'npm run build writes oclif.manifest.json').to.equal(true);
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { version: string; commands: Record<string, { flags: Record<string, unknown> }> };
    expect(manifest.version).to.equal((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    const files = commandFiles(join(ROOT, 'dist/commands'));
    const ids = files.map((f) => relative(join(ROOT, 'dist/commands'), f).replace(/\.js$/, '').split('/').join(':'));
    expect(Object.keys(manifest.commands).sort()).to.deep.equal(ids.sort());
    for (const [i, file] of files.entries()) {
      const cmd = (await import(pathToFileURL(file).href)) as { default: { flags?: Record<string, unknown> } };
      expect(Object.keys(manifest.commands[ids[i]].flags).sort(), `${ids[i]} flags`).to.include.members(Object.keys(cmd.default.flags ?? {}));
    }
  });

  it('is not what bin/dev.js runs: that entry loads the commands from src/', () => {
    // oclif's debug log names each command file it imports; through the
    // manifest the entry would load dist/ (the last build) instead.
    const r = spawnSync(process.execPath, ['bin/dev.js', 'alias', 'list', '--help'], { cwd: ROOT, env: { ...process.env, DEBUG: 'oclif:*' }, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.include(`(import) ${join(ROOT, 'src/commands/alias/list.ts')}`);
    expect(r.stderr).to.not.include(`(import) ${join(ROOT, 'dist/')}`);
  });
});
