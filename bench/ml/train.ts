import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { initBackend } from '../../runtime/src/ml/backend.js';
import type { MfModel } from '../../runtime/src/ml/models/artifact.js';
import { mfPredictor } from '../../runtime/src/ml/models/recommender.js';
import { trainMf } from '../../runtime/src/ml/train/mf.js';
import { movieLens } from './movieLens.js';

/**
 * Matrix factorization on MovieLens latest-small: Cairn (tfjs, best local backend) against a plain numpy SGD
 * implementation of the same model and algorithm (bench/ml/mfNumpy.py, Debian python3-numpy), same split, epochs,
 * factors, learning rate, L2 and batch size. Targets: test RMSE within 1% of numpy's, training time no worse.
 *
 * Usage: npm run bench:ml:train [-- --epochs 20 --factors 32 --lr 0.01 --l2 0.05 --batch 256 --per-rating]
 * (--per-rating also times numpy's textbook one-rating-at-a-time loop; slow.)
 */
function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
}

async function main(): Promise<void> {
  const epochs = arg('epochs', 20);
  const factors = arg('factors', 32);
  const lr = arg('lr', 0.01);
  const l2 = arg('l2', 0.05);
  const batch = arg('batch', 256);
  const seed = 42;
  const ml = await movieLens();
  const backend = await initBackend();
  console.log(
    `MovieLens latest-small: ${ml.train.data.ratings.length} training / ${ml.test.ratings.length} test ratings (random 80/20, seed 1)`,
  );
  console.log(
    `model: ${factors} factors + biases, ${epochs} epochs, lr ${lr}, l2 ${l2}, batch ${batch}; Cairn on ${backend.name}\n`,
  );

  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  const res = await trainMf(ml.train.data, {
    epochs,
    lr,
    l2,
    batchSize: batch,
    seed,
    validFraction: 0,
    factors,
    implicit: false,
  });
  const cpu = process.cpuUsage(cpu0);
  const cairn = { seconds: (performance.now() - wall0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  const model: MfModel = {
    format: 'cairn-model',
    formatVersion: 1,
    kind: 'matrix-factorization',
    implicit: false,
    columns: { user: 'userId', item: 'movieId', rating: 'rating' },
    factors,
    users: ml.train.users,
    items: ml.train.items,
    userFactors: Array.from(res.userFactors),
    itemFactors: Array.from(res.itemFactors),
    userBias: Array.from(res.userBias),
    itemBias: Array.from(res.itemBias),
    globalMean: res.globalMean,
    clip: ml.train.ratingRange,
    backend: backend.name,
    seed,
    metrics: res.metrics,
  };
  const pred = await mfPredictor(model).score(ml.test.users, ml.test.items);
  let se = 0;
  pred.forEach((p, k) => (se += (p - (ml.test.ratings[k] ?? 0)) ** 2));
  const cairnRmse = Math.sqrt(se / pred.length);

  const numpy = (extra: string[]) =>
    JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          join(__dirname, 'mfNumpy.py'),
          ml.trainCsv,
          ml.testCsv,
          String(epochs),
          String(factors),
          String(lr),
          String(l2),
          String(batch),
          String(seed),
          ...extra,
        ],
        { encoding: 'utf8' },
      ),
    ) as { rmse: number; seconds: number; cpu_seconds: number };
  const np = numpy([]);
  const rows: Array<[string, number, number, number]> = [
    [`cairn tfjs (${backend.name})`, cairnRmse, cairn.seconds, cairn.cpuSeconds],
    ['numpy mini-batch SGD', np.rmse, np.seconds, np.cpu_seconds],
  ];
  if (process.argv.includes('--per-rating')) {
    const pr = numpy(['--per-rating']);
    rows.push(['numpy per-rating SGD', pr.rmse, pr.seconds, pr.cpu_seconds]);
  }
  console.log('implementation'.padEnd(28), 'test RMSE'.padStart(10), 'wall s'.padStart(9), 'CPU s'.padStart(9));
  for (const [name, rmse, wall, cpuS] of rows)
    console.log(
      name.padEnd(28),
      rmse.toFixed(4).padStart(10),
      wall.toFixed(2).padStart(9),
      cpuS.toFixed(2).padStart(9),
    );
  const rmseRatio = cairnRmse / np.rmse;
  console.log(
    `\nRMSE cairn / numpy: ${rmseRatio.toFixed(4)} (target ≤ 1.01: ${rmseRatio <= 1.01 ? 'met' : 'NOT met'})`,
  );
  console.log(
    `time numpy / cairn: wall ${(np.seconds / cairn.seconds).toFixed(2)}×, CPU ${(np.cpu_seconds / cairn.cpuSeconds).toFixed(2)}× (target ≥ 1: ${np.seconds >= cairn.seconds ? 'met' : 'NOT met'})`,
  );
}

void main();
