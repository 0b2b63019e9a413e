#!/usr/bin/env node
// Build step (npm run build, after tsc): write oclif.manifest.json, the list
// of commands with their flags. Without it oclif imports every command file,
// and everything each one imports, on every invocation to find the one it
// runs. Measured on this machine: `hnet ports list` or `hnet alias list` in
// 250-285 ms with the manifest against 425-580 ms without.
//
// Written from the compiled commands in dist/, so it is only as fresh as the
// last build: the build removes the old one first. bin/dev.js (tsx on src/)
// ignores it, or it would run dist/; bin/run.js finds a command added to
// src/ only after a build.
import { Plugin } from '@oclif/core';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const plugin = new Plugin({ root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true });
await plugin.load();
writeFileSync(join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest, null, 2) + '\n');
