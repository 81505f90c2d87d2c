import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expandMatrix, type Matrix } from '@cairn/protocol';
import { ensureBuiltinsFor } from '../../runtime/src/executor/builtins.js';
import { Engine } from '../../runtime/src/executor/engine.js';
import { loadPipeline } from '../../runtime/src/executor/loadPipeline.js';
import { runSweep } from '../../runtime/src/sweep/sweep.js';

/**
 * `npm run bench:sweep`: 16 matrix-factorization configurations (factors × lr) of the recommender sample's data
 * pipeline + MF training + ranking evaluation, as one sweep (side by side, bounded by the cores) against the same 16
 * runs one after another, each in a fresh workspace. Prints both wall times, their ratio, and how often the shared
 * steps (collect, validate, split) really ran in the sweep (target: once each). CAIRN_BENCH_EPOCHS (default 3).
 */

const epochs = Number(process.env.CAIRN_BENCH_EPOCHS ?? 3);
const pipelineText = `version: 1
name: sweep-bench
params:
  factors: 16
  lr: 0.01
  epochs: ${epochs}
steps:
  collect:
    run: Rscript -e 'write.csv(dslabs::movielens, "data/ratings.csv", row.names = FALSE)'
    outputs: { ratings: data/ratings.csv }
  validate:
    uses: data.validate
    with: { input: "\${steps.collect.outputs.ratings}", drop_duplicates: [userId, movieId] }
    outputs: [clean, report]
  split:
    uses: data.split
    with: { input: "\${steps.validate.outputs.clean}", by: timestamp, test_fraction: 0.2 }
    outputs: [train, test, future]
  train:
    uses: train.matrix-factorization
    with:
      ratings: "\${steps.split.outputs.train}"
      user: userId
      item: movieId
      rating: rating
      factors: "\${params.factors}"
      epochs: "\${params.epochs}"
      lr: "\${params.lr}"
      batch_size: 256
      seed: 42
    outputs: [model, onnx]
  evaluate:
    uses: evaluate.ranking
    with:
      models: ["\${steps.train.outputs.model}"]
      test: "\${steps.split.outputs.test}"
      train: "\${steps.split.outputs.train}"
      user: userId
      item: movieId
      rating: rating
      k: 10
      metrics: [rmse, ndcg@k]
`;

const matrix: Matrix = { params: { factors: [8, 16, 32, 64], lr: [0.003, 0.01, 0.03, 0.1] } };
const shared = ['collect', 'validate', 'split'];

function workspace(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-sweep-'));
  writeFileSync(path.join(dir, 'cairn.yaml'), pipelineText);
  return dir;
}

async function executions(engine: Engine, runIds: number[], steps: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = Object.fromEntries(steps.map((s) => [s, 0]));
  for (const id of runIds) {
    for (const s of await engine.store.runs.steps(id)) {
      if (steps.includes(s.step) && s.status === 'succeeded' && !s.cacheHit) out[s.step] = (out[s.step] ?? 0) + 1;
    }
  }
  return out;
}

async function main(): Promise<void> {
  const combos = expandMatrix(matrix);
  const cores = os.availableParallelism();
  console.log(`sweep bench: ${combos.length} MF configurations, ${epochs} epochs, ${cores} cores`);

  const seqDir = workspace();
  const seq = new Engine(seqDir);
  let seqMs: number;
  try {
    const t0 = performance.now();
    for (const c of combos) {
      const overrides = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, String(v)]));
      const loaded = loadPipeline('cairn.yaml', { cwd: seqDir, workspace: seqDir, overrides });
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics.slice(0, 3)));
      await ensureBuiltinsFor(loaded.pipeline);
      const outcome = await seq.run(loaded.pipeline);
      if (outcome.status !== 'succeeded') throw new Error(`sequential run ${outcome.runId}: ${outcome.error ?? ''}`);
    }
    seqMs = performance.now() - t0;
  } finally {
    await seq.close();
    rmSync(seqDir, { recursive: true, force: true });
  }
  console.log(`one after another: ${(seqMs / 1000).toFixed(1)} s`);

  const sweepDir = workspace();
  const engine = new Engine(sweepDir);
  try {
    const t0 = performance.now();
    const outcome = await runSweep(engine, matrix, { file: 'cairn.yaml', cwd: sweepDir });
    const sweepMs = performance.now() - t0;
    if (outcome.status !== 'succeeded')
      throw new Error(`sweep: ${JSON.stringify(outcome.combinations.map((c) => c.error))}`);
    const ran = await executions(
      engine,
      outcome.combinations.map((c) => c.runId),
      shared,
    );
    console.log(`sweep (side by side): ${(sweepMs / 1000).toFixed(1)} s`);
    console.log(`ratio one-after-another / sweep: ${(seqMs / sweepMs).toFixed(2)}x`);
    console.log(`shared steps really run in the sweep: ${JSON.stringify(ran)} (target: 1 each)`);
    const best = [...outcome.combinations].sort(
      (a, b) => (a.metrics.rmse ?? Infinity) - (b.metrics.rmse ?? Infinity),
    )[0];
    if (best) console.log(`best rmse ${best.metrics.rmse ?? '?'} at ${JSON.stringify(best.params)}`);
    if (Object.values(ran).some((n) => n !== 1)) process.exitCode = 1;
  } finally {
    await engine.close();
    rmSync(sweepDir, { recursive: true, force: true });
  }
}

void main();
