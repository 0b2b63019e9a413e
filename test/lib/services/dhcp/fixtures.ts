// Loads the captured client messages of test/fixtures/services (see its README).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function fixture(name: string): Buffer {
  const path = fileURLToPath(new URL(`../../../fixtures/services/${name}`, import.meta.url));
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
}
