import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readTable } from '../../runtime/src/ml/data/index.js';
import { indexInteractions, type IndexedInteractions } from '../../runtime/src/ml/train/interactions.js';
import { rng, shuffled } from '../../runtime/src/ml/train/loop.js';

/**
 * MovieLens latest-small for the ML benches: the recommender sample's export when present, else exported here with
 * Rscript (Debian r-cran-dslabs), then split 80/20 at random with a fixed seed into userId,movieId,rating CSVs.
 */
export interface MovieLensSplit {
  dir: string;
  trainCsv: string;
  testCsv: string;
  train: IndexedInteractions;
  test: { users: Array<string | number>; items: Array<string | number>; ratings: Float64Array };
}

export async function movieLens(): Promise<MovieLensSplit> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-ml-'));
  let source = resolve(__dirname, '..', '..', 'samples', 'recommender', 'data', 'ratings.csv');
  if (!existsSync(source)) {
    source = join(dir, 'ratings.csv');
    execFileSync('Rscript', ['-e', `write.csv(dslabs::movielens, "${source}", row.names = FALSE)`], {
      stdio: 'inherit',
    });
  }
  const table = await readTable(source);
  const all = indexInteractions(table, { user: 'userId', item: 'movieId', rating: 'rating' }, source);
  const n = all.data.ratings.length;
  const order = shuffled(n, rng(1));
  const cut = Math.round(n * 0.8);
  const lines = (from: number, to: number) => {
    const out = ['userId,movieId,rating'];
    for (let k = from; k < to; k++) {
      const r = order[k] ?? 0;
      out.push(`${all.users[all.data.users[r] ?? 0]},${all.items[all.data.items[r] ?? 0]},${all.data.ratings[r]}`);
    }
    return out.join('\n') + '\n';
  };
  const trainCsv = join(dir, 'train.csv');
  const testCsv = join(dir, 'test.csv');
  writeFileSync(trainCsv, lines(0, cut));
  writeFileSync(testCsv, lines(cut, n));
  const train = indexInteractions(
    await readTable(trainCsv),
    { user: 'userId', item: 'movieId', rating: 'rating' },
    trainCsv,
  );
  const testTable = indexInteractions(
    await readTable(testCsv),
    { user: 'userId', item: 'movieId', rating: 'rating' },
    testCsv,
  );
  return {
    dir,
    trainCsv,
    testCsv,
    train,
    test: {
      users: Array.from(testTable.data.users, (u) => testTable.users[u] ?? u),
      items: Array.from(testTable.data.items, (i) => testTable.items[i] ?? i),
      ratings: Float64Array.from(testTable.data.ratings),
    },
  };
}
