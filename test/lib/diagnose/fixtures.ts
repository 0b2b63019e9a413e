// Reads captured and composed OS outputs from test/fixtures/diagnose (see its README).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function diagFixture(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../../fixtures/diagnose/${name}`, import.meta.url)), 'utf8');
}
