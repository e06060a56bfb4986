/**
 * Remove what the build makes: the compiled lib/, TypeScript's incremental
 * state, and the built extension (so no stale chunk is left behind).
 */

import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packageData = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

for (const path of ['lib', 'tsconfig.tsbuildinfo', packageData.jupyterlab.outputDir]) {
  rmSync(join(root, path), { recursive: true, force: true });
}
