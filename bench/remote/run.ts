/**
 * Shared artifact remote throughput (npm run bench:remote): runs the recommender sample once, then times
 * `cairn push --all` of its artifacts into an empty remote folder and `cairn pull --all` into a fresh clone, each
 * against a raw recursive copy of the same `.cairn/objects/` folder measured in the same run (the baseline: what the
 * disk allows without hashing, fsync or per-object rename). Prints MB/s and the ratios; no target is asserted.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pullCommand, pushCommand } from '../../runtime/src/cli/commands/remote.js';
import { ensureBuiltinsFor } from '../../runtime/src/executor/builtins.js';
import { Engine } from '../../runtime/src/executor/engine.js';
import { loadPipeline } from '../../runtime/src/executor/loadPipeline.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-remote-'));
const ws = path.join(dir, 'a');
const clone = path.join(dir, 'b');
cpSync(path.resolve('samples/recommender'), ws, { recursive: true });
cpSync(path.resolve('samples/recommender'), clone, { recursive: true });

async function cli(
  command: typeof pushCommand,
  args: string[],
  cwd: string,
): Promise<{ bytes: number; seconds: number }> {
  let out = '';
  const io = { stdout: (t: string) => (out += t), stderr: () => undefined, cwd, isTty: false };
  const code = await command.run([...args, '--format', 'json'], io);
  if (code !== 0) throw new Error(`cairn ${command.name} exited ${code}`);
  return JSON.parse(out) as { bytes: number; seconds: number };
}

function rawCopy(from: string, to: string): number {
  const t0 = performance.now();
  cpSync(from, to, { recursive: true });
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const loaded = loadPipeline('cairn.yaml', { cwd: ws, workspace: ws });
  if (!loaded.ok) throw new Error(loaded.message ?? JSON.stringify(loaded.diagnostics));
  await ensureBuiltinsFor(loaded.pipeline);
  const engine = new Engine(ws);
  const run = await engine.run(loaded.pipeline);
  await engine.close();
  if (run.status !== 'succeeded') throw new Error(`the sample run ${run.status}: ${run.error ?? ''}`);

  const objects = path.join(ws, '.cairn', 'objects');
  const rawPush = rawCopy(objects, path.join(dir, 'raw-remote'));
  const push = await cli(pushCommand, ['--all', '--remote', path.join(dir, 'remote')], ws);
  const rawPull = rawCopy(path.join(dir, 'remote', 'objects'), path.join(dir, 'raw-local'));
  const pull = await cli(pullCommand, ['--all', '--remote', path.join(dir, 'remote')], clone);
  const mb = push.bytes / 1e6;
  const rate = (s: number) => `${(mb / s).toFixed(0)} MB/s`;
  console.log(`recommender artifacts: ${mb.toFixed(1)} MB`);
  console.log(`push  ${rate(push.seconds)}  raw copy ${rate(rawPush)}  ratio ${(rawPush / push.seconds).toFixed(2)}`);
  console.log(`pull  ${rate(pull.seconds)}  raw copy ${rate(rawPull)}  ratio ${(rawPull / pull.seconds).toFixed(2)}`);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
