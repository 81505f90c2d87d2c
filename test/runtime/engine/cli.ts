import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { stepRunnerBundle } from '../../../runtime/src/executor/slurm.js';

const repo = path.resolve(__dirname, '..', '..', '..');

/**
 * Bundles the real `cairn` CLI (as esbuild.mjs does) into a temp file, so tests start it as a child process in ~0.1 s
 * (tsx would recompile on every start). Native modules stay external and resolve from the repo's node_modules.
 */
export async function buildCli(): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-cli-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const outfile = path.join(dir, 'cli.js');
  const { nativeExternals } = await import('../../../esbuild.externals.mjs');
  await esbuild.build({
    entryPoints: [path.join(repo, 'runtime/src/cli/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    logLevel: 'error',
    tsconfig: path.join(repo, 'tsconfig.base.json'),
    external: nativeExternals,
    footer: { js: 'module.exports.cliEntry();' },
  });
  // The step runner a Slurm job starts, beside the CLI as in dist/ (esbuild.mjs): see stepRunnerOf.
  await esbuild.build({
    entryPoints: [path.join(repo, 'runtime/src/cli/stepRunner.ts')],
    outfile: path.join(dir, stepRunnerBundle),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    logLevel: 'error',
    tsconfig: path.join(repo, 'tsconfig.base.json'),
    external: nativeExternals,
  });
  // The prediction log's writer thread is loaded from beside the CLI bundle, as in dist/ (esbuild.mjs).
  await esbuild.build({
    entryPoints: [path.join(repo, 'runtime/src/deploy/logWriter.worker.ts')],
    outfile: path.join(dir, 'logWriter.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    logLevel: 'error',
    tsconfig: path.join(repo, 'tsconfig.base.json'),
    external: nativeExternals,
  });
  return outfile;
}

/** The argv that starts the step runner built beside `cli` (what a Slurm job runs in the product: dist/stepExec.js). */
export function stepRunnerOf(cli: string): string[] {
  return [process.execPath, path.join(path.dirname(cli), stepRunnerBundle)];
}

export function cliEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NODE_PATH: path.join(repo, 'node_modules') };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function spawnCli(cli: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [cli, ...args], {
    cwd,
    env: { ...cliEnv(), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export function runCli(cli: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(cli, args, cwd, env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
