// Reads captured host command outputs from test/fixtures/host (see its README).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function hostFixture(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../../fixtures/host/${name}`, import.meta.url)), 'utf8');
}
