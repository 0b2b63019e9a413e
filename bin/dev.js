#!/usr/bin/env -S node --import tsx --no-warnings
// The development entry point: runs the TypeScript sources directly through tsx.
// The root plugin is loaded here with ignoreManifest: oclif otherwise takes the
// command paths from oclif.manifest.json, which the build writes and which
// point into dist/, so this entry would run the last build, not src/.
import { Plugin, execute } from '@oclif/core';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

process.env.NODE_ENV = 'development'; // before the plugin loads: oclif maps dist/ to src/ only in development
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const plugin = new Plugin({ root, type: 'core', isRoot: true, ignoreManifest: true });
await plugin.load();
await execute({ development: true, loadOptions: { root, plugins: new Map([[plugin.name, plugin]]) } });
