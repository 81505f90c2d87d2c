import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { readTable } from '../../runtime/src/ml/data/index.js';
import { loadPredictor } from '../../runtime/src/ml/models/index.js';
import { rmse } from '../../runtime/src/ml/metrics/index.js';
import { ratingRows } from '../../runtime/src/ml/train/interactions.js';

/**
 * Issue 13: Cairn's matrix factorization against a numpy reference of the same MF (bench/ml/mfNumpy.py: same model,
 * mini-batch SGD update, N(0, 0.1²) factors, 10% validation share, early stopping with the best epoch kept) on the
 * recommender sample's own time split, RMSE on the known pairs only (test rows whose user and item have training
 * ratings; the rest are cold-start rows neither model can personalize).
 *
 * Runs the sample's steps collect → validate → split → train (`cairn run --step …`) in a temporary workspace with the
 * built CLI, scores the known test pairs with the trained model.json, runs numpy with the sample's params on the same
 * train.csv / test.csv, and prints both. Needs `npm run build`, Rscript with r-cran-dslabs and python3-numpy
 * (bash scripts/setup.sh --with-data).
 *
 * Usage: npm run bench:ml:reference
 */
const repo = resolve(__dirname, '..', '..');
const sample = join(repo, 'samples', 'recommender');
const paramsSchema = z.object({
  factors: z.number(),
  epochs: z.number(),
  lr: z.number(),
  l2: z.number(),
  seed: z.number(),
});
const numpySchema = z.object({
  rmse: z.number(),
  rmse_known: z.number().nullable(),
  known_rows: z.number(),
  epochs: z.number(),
  seconds: z.number(),
});

async function main(): Promise<void> {
  const cli = join(repo, 'bin', 'cairn.js');
  if (!existsSync(join(repo, 'dist', 'cli.js'))) throw new Error('the CLI is not built: run `npm run build` first');
  const doc = z
    .object({ params: z.record(z.string(), z.unknown()) })
    .parse(parse(readFileSync(join(sample, 'cairn.yaml'), 'utf8')));
  const params = paramsSchema.parse(
    Object.fromEntries(
      Object.entries(doc.params).map(([k, v]) => [
        k,
        typeof v === 'object' && v !== null && 'default' in v ? v.default : v,
      ]),
    ),
  );
  const work = mkdtempSync(join(tmpdir(), 'cairn-bench-mf-reference-'));
  for (const f of ['cairn.yaml', 'MODEL_CARD.md']) copyFileSync(join(sample, f), join(work, f));
  console.log(`running the sample up to its train step in ${work} …`);
  for (const step of ['collect', 'validate', 'split', 'train']) {
    execFileSync(process.execPath, [cli, 'run', 'cairn.yaml', '--step', step, '--workspace', work], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const trainCsv = join(work, '.cairn', 'work', 'split', 'train.csv');
  const testCsv = join(work, '.cairn', 'work', 'split', 'test.csv');
  const columns = { user: 'userId', item: 'movieId', rating: 'rating' };
  const train = ratingRows(await readTable(trainCsv), columns, trainCsv);
  const test = ratingRows(await readTable(testCsv), columns, testCsv);
  const users = new Set(train.users.map(String));
  const items = new Set(train.items.map(String));
  const known = test.users.flatMap((u, r) => (users.has(String(u)) && items.has(String(test.items[r])) ? [r] : []));
  const model = await loadPredictor(join(work, '.cairn', 'work', 'train', 'model.json'));
  if (model.kind !== 'recommender') throw new Error("the sample's train step did not write a recommender");
  const pred = await model.score(
    known.map((r) => test.users[r] ?? ''),
    known.map((r) => test.items[r] ?? ''),
  );
  const cairn = rmse(
    known.map((r) => test.ratings[r] ?? 0),
    pred,
  );
  const cairnAll = rmse(test.ratings, await model.score(test.users, test.items));

  const numpy = numpySchema.parse(
    JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          join(__dirname, 'mfNumpy.py'),
          trainCsv,
          testCsv,
          String(params.epochs),
          String(params.factors),
          String(params.lr),
          String(params.l2),
          '256',
          String(params.seed),
          '--valid-fraction',
          '0.1',
          '--patience',
          '3',
        ],
        {
          encoding: 'utf8',
        },
      ),
    ),
  );
  if (numpy.known_rows !== known.length)
    throw new Error(`numpy counted ${numpy.known_rows} known pairs, Cairn ${known.length}`);
  console.log(
    `\nsample time split: ${train.ratings.length} training / ${test.ratings.length} test ratings, ${known.length} test pairs with a known user and item`,
  );
  console.log(
    `MF: ${params.factors} factors + biases, up to ${params.epochs} epochs (patience 3 on a 10% validation share), lr ${params.lr}, l2 ${params.l2}, batch 256\n`,
  );
  console.log(`| implementation | RMSE, ${known.length} known pairs | RMSE, all ${test.ratings.length} test rows |`);
  console.log('|---|---|---|');
  console.log(
    `| numpy reference (bench/ml/mfNumpy.py) | ${numpy.rmse_known?.toFixed(4) ?? 'n/a'} | ${numpy.rmse.toFixed(4)} |`,
  );
  console.log(`| Cairn train.matrix-factorization | ${cairn.toFixed(4)} | ${cairnAll.toFixed(4)} |`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
