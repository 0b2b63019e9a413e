// Run one hnet command class from its source file, independent of oclif's
// command discovery (a stale oclif.manifest.json hides new commands from bin/dev.js).
// Usage: node --import tsx hnet-command.mjs src/commands/proxy/sync.ts [ARGS...]
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flush, handle } from '@oclif/core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const [file, ...argv] = process.argv.slice(2);
const mod = await import(join(root, file));
await mod.default.run(argv, { root }).then(() => flush()).catch(handle);
