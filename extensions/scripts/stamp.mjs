/**
 * Write build-stamp.json next to the built extension: a SHA-256 over the
 * sources it was built from, so a test can tell when the committed bundle is
 * older than the sources.
 *
 * H = sha256 over the sorted paths (relative to extensions/, '/' separated)
 * of every file under src/ (less src/__tests__/), style/ and schema/, plus
 * package.json, each contributing `path + "\0" + sha256hex(bytes) + "\n"`.
 */

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_FOLDERS = ['src', 'style', 'schema'];
const EXCLUDED = ['src/__tests__/'];

function filesUnder(folder) {
  const found = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      found.push(...filesUnder(path));
    } else if (entry.isFile()) {
      found.push(path);
    }
  }
  return found;
}

function sourcePaths() {
  const paths = SOURCE_FOLDERS.flatMap(folder => filesUnder(join(root, folder)))
    .map(path => relative(root, path).split(sep).join('/'))
    .filter(path => !EXCLUDED.some(prefix => path.startsWith(prefix)));
  paths.push('package.json');
  // Compare code points, as Python's sorted() does.
  return paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function sourcesHash() {
  const digest = createHash('sha256');
  for (const path of sourcePaths()) {
    const fileHash = createHash('sha256').update(readFileSync(join(root, path))).digest('hex');
    digest.update(Buffer.from(`${path}\0${fileHash}\n`, 'utf8'));
  }
  return digest.digest('hex');
}

const packageData = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const outputDir = join(root, packageData.jupyterlab.outputDir);
const stamp = { sources_sha256: sourcesHash() };
writeFileSync(join(outputDir, 'build-stamp.json'), JSON.stringify(stamp, null, 2) + '\n');
console.log(`build-stamp.json: sources_sha256 ${stamp.sources_sha256}`);
