import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { StepError } from '../../../runtime/src/builtins/types.js';
import '../../../runtime/src/builtins/data.js';
import { readCsv } from '../../../runtime/src/ml/data/index.js';
import { runBuiltin } from '../ml/runBuiltin.js';

// data.split's "now" (as_of / as_of_fraction): the past is split into train and test as before, the later rows are
// the `future` output, oldest first — what the closed loop (docs/deploy.md) replays as traffic.

const dir = mkdtempSync(path.join(tmpdir(), 'cairn-asof-'));

interface Split {
  metrics: Map<string, number>;
  logs: string[];
  files: Record<string, string>;
}

async function split(options: Record<string, unknown>, outputs = ['train', 'test', 'future']): Promise<Split> {
  const stepDir = mkdtempSync(path.join(dir, 'split-'));
  const files = Object.fromEntries(outputs.map((o) => [o, path.join(stepDir, `${o}.csv`)]));
  return { ...(await runBuiltin('data.split', dir, options, files, 'split')), files };
}

const column = async (file: string, name: string): Promise<number[]> => {
  const t = await readCsv(file);
  const c = t.columns.find((x) => x.name === name);
  assert.ok(c && c.type !== 'string', `${file} has numeric column ${name}`);
  return Array.from(c.values);
};

// 20 ratings, written out of time order (as MovieLens is: by user), times 10..200 step 10, with a tie at t = 120.
const times = [50, 10, 200, 120, 30, 120, 90, 160, 20, 70, 180, 40, 110, 60, 150, 80, 190, 100, 170, 140];
const ratings = path.join(dir, 'ratings.csv');
writeFileSync(
  ratings,
  ['userId,movieId,rating,timestamp', ...times.map((t, i) => `${1 + (i % 4)},${100 + i},${1 + (i % 5)},${t}`)].join(
    '\n',
  ) + '\n',
);

test('as_of_fraction: the first share of rows in time order is the past; the future is strictly later, oldest first', async () => {
  const s = await split({ input: ratings, by: 'timestamp', test_fraction: 0.25, as_of_fraction: 0.6 });
  // 0.6 · 20 = 12 rows seen: times 10..120, and the second row at 120 stays in the past with its twin (13 rows).
  assert.equal(s.metrics.get('as_of'), 120);
  assert.equal(s.metrics.get('future_rows'), 7);
  assert.deepEqual(await column(s.files.future as string, 'timestamp'), [140, 150, 160, 170, 180, 190, 200]);
  // The past (13 rows) is split by time as before: the latest round(13 · 0.25) = 3 are the test set.
  assert.equal(s.metrics.get('train_rows'), 10);
  assert.equal(s.metrics.get('test_rows'), 3);
  assert.deepEqual(
    (await column(s.files.test as string, 'timestamp')).sort((a, b) => a - b),
    [110, 120, 120],
  );
  assert.ok(Math.max(...(await column(s.files.train as string, 'timestamp'))) <= 100);
  assert.match(s.logs.join('\n'), /as of timestamp = 120, future 7/);
});

test('as_of_fraction 1 changes nothing: same train and test files as a split without it, and an empty future', async () => {
  const plain = await split({ input: ratings, by: 'timestamp', test_fraction: 0.25 }, ['train', 'test']);
  const all = await split({ input: ratings, by: 'timestamp', test_fraction: 0.25, as_of_fraction: 1 });
  for (const o of ['train', 'test'])
    assert.equal(readFileSync(all.files[o] as string, 'utf8'), readFileSync(plain.files[o] as string, 'utf8'), o);
  assert.equal(all.metrics.get('future_rows'), 0);
  assert.equal(readFileSync(all.files.future as string, 'utf8').trim(), 'userId,movieId,rating,timestamp');
  assert.equal(plain.metrics.has('future_rows'), false, 'no future without as_of');
});

test('as_of as a value of the time column, and as an ISO date for a timestamp column', async () => {
  const s = await split({ input: ratings, by: 'timestamp', test_fraction: 0.2, as_of: 155 });
  assert.equal(s.metrics.get('future_rows'), 5);
  assert.deepEqual(await column(s.files.future as string, 'timestamp'), [160, 170, 180, 190, 200]);
  const events = path.join(dir, 'events.csv');
  writeFileSync(events, 'id,at\n1,2020-01-03\n2,2020-01-01\n3,2020-02-01\n4,2020-01-20\n5,2020-03-05\n');
  const e = await split({ input: events, by: 'at', test_fraction: 0.5, as_of: '2020-01-31' });
  assert.deepEqual(await column(e.files.future as string, 'id'), [3, 5]);
  assert.equal(e.metrics.get('as_of'), Date.parse('2020-01-31T00:00:00Z'));
});

test('bad as_of options fail with what to do', async () => {
  await assert.rejects(
    split({ input: ratings, as_of_fraction: 0.5 }),
    (e: unknown) =>
      e instanceof StepError &&
      /as_of_fraction needs `by`/.test(e.message) &&
      /Add `by: <time column>`/.test(e.hint ?? ''),
  );
  await assert.rejects(
    split({ input: ratings, by: 'timestamp', as_of: 100, as_of_fraction: 0.5 }),
    /give either as_of or as_of_fraction, not both/,
  );
  await assert.rejects(
    split({ input: ratings, by: 'timestamp', as_of: '2020-01-01' }),
    /ratings\.csv: as_of '2020-01-01' is a date but time column 'timestamp' holds numbers \(int\)/,
  );
  await assert.rejects(
    split({ input: ratings, by: 'timestamp', as_of: 5 }),
    /ratings\.csv: no row is at or before as_of 5/,
  );
  await assert.rejects(split({ input: ratings, by: 'timestamp', as_of_fraction: 0 }), /as_of_fraction/);
  const none = await split({ input: ratings, by: 'timestamp', as_of: 100 }, ['train', 'test']);
  assert.match(none.logs.join('\n'), /warning: 10 rows after as_of are left out; declare the output `future`/);
  assert.equal(existsSync(path.join(path.dirname(none.files.train as string), 'future.csv')), false);
});
