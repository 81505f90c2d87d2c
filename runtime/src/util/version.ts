import { readFileSync } from 'node:fs';
import * as path from 'node:path';

declare const CAIRN_VERSION: string | undefined;

let cached: string | undefined;

/** The Cairn version: injected by esbuild in the bundle, read from package.json when run from source. */
export function cairnVersion(): string {
  if (cached !== undefined) return cached;
  if (typeof CAIRN_VERSION === 'string') return (cached = CAIRN_VERSION);
  try {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    cached = typeof pkg.version === 'string' ? pkg.version : 'dev';
  } catch {
    // Running outside the repository (no package.json beside the sources): the version is simply unknown.
    cached = 'dev';
  }
  return cached;
}
