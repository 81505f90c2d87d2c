// Runs a benchmark as the product runs: bundled by esbuild (as esbuild.mjs bundles dist/cli.js), not through tsx,
// whose per-function name helpers and source maps add cost to every request-path closure and skew a throughput
// ratio. The bundle goes to dist/bench/ (node_modules resolve from there), beside the prediction log's writer thread.
//
//   node bench/lib/runBundled.mjs bench/serve/run.ts [-- args]
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { nativeExternals } from '../../esbuild.externals.mjs';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node bench/lib/runBundled.mjs ENTRY.ts [args]');
  process.exit(2);
}
const args = rest[0] === '--' ? rest.slice(1) : rest;
const outdir = path.join('dist', 'bench');
const external = [...nativeExternals, 'esbuild'];
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  logLevel: 'warning',
  tsconfig: 'tsconfig.base.json',
  external,
};
const outfile = path.join(outdir, `${path.basename(path.dirname(entry))}-${path.basename(entry, '.ts')}.js`);
await esbuild.build({ ...common, entryPoints: [entry], outfile });
await esbuild.build({
  ...common,
  entryPoints: ['runtime/src/deploy/logWriter.worker.ts'],
  outfile: path.join(outdir, 'logWriter.js'),
});
const r = spawnSync(process.execPath, [outfile, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
