// One esbuild context per entry point; `--watch` keeps them all rebuilding. tsc (tsc -b) only typechecks.
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { nativeExternals } from './esbuild.externals.mjs';

const pkgVersion = JSON.parse(readFileSync('package.json', 'utf8')).version;

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  tsconfig: 'tsconfig.base.json',
};

/** @type {Array<import('esbuild').BuildOptions & { name: string }>} */
const entries = [
  {
    name: 'extension',
    entryPoints: ['extension/src/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    external: ['vscode'],
  },
  {
    name: 'language-server',
    entryPoints: ['language-server/src/server.ts'],
    outfile: 'dist/languageServer.js',
    platform: 'node',
    format: 'cjs',
  },
  {
    name: 'cli',
    entryPoints: ['runtime/src/cli/main.ts'],
    outfile: 'dist/cli.js',
    platform: 'node',
    format: 'cjs',
    external: nativeExternals,
    define: { CAIRN_VERSION: JSON.stringify(pkgVersion) },
  },
  // The step runner a Slurm job starts (runtime/src/executor/slurm.ts finds it beside dist/cli.js): step-exec only.
  {
    name: 'step-runner',
    entryPoints: ['runtime/src/cli/stepRunner.ts'],
    outfile: 'dist/stepExec.js',
    platform: 'node',
    format: 'cjs',
    external: nativeExternals,
    define: { CAIRN_VERSION: JSON.stringify(pkgVersion) },
  },
  // The prediction log's writer thread, started by dist/cli.js from beside it (runtime/src/deploy/predictionLog.ts).
  {
    name: 'log-writer',
    entryPoints: ['runtime/src/deploy/logWriter.worker.ts'],
    outfile: 'dist/logWriter.js',
    platform: 'node',
    format: 'cjs',
    external: nativeExternals,
  },
  // Gradient boosting's histogram workers (runtime/src/ml/train/gbdtThreads.ts), started from beside dist/cli.js.
  {
    name: 'gbdt-worker',
    entryPoints: ['runtime/src/ml/train/gbdtWorker.ts'],
    outfile: 'dist/gbdtWorker.js',
    platform: 'node',
    format: 'cjs',
  },
];

// Each webview gets its own browser bundle: webviews/src/<view>/main.ts → dist/webviews/<view>.js
for (const view of ['compare', 'lineage', 'drift', 'ab', 'explain']) {
  const entry = `webviews/src/${view}/main.ts`;
  if (existsSync(entry)) {
    entries.push({
      name: `webview:${view}`,
      entryPoints: [entry],
      outfile: `dist/webviews/${view}.js`,
      platform: 'browser',
      format: 'iife',
    });
  }
}

// The extension-host test suite (runs inside the real VS Code).
if (existsSync('test/e2e/extension-suite/index.ts')) {
  entries.push({
    name: 'e2e-suite',
    entryPoints: ['test/e2e/extension-suite/index.ts'],
    outfile: 'dist/test/extensionSuite.js',
    platform: 'node',
    format: 'cjs',
    external: ['vscode', 'mocha'],
  });
}

mkdirSync('dist', { recursive: true });
const contexts = await Promise.all(
  entries.map(({ name: _name, ...options }) => esbuild.context({ ...common, ...options })),
);
if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
  console.log(`watching ${entries.length} entries`);
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}
