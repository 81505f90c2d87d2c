import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { implementations } from '../../../runtime/src/builtins/index.js';
import '../../../runtime/src/builtins/train.js';
import '../../../runtime/src/builtins/model.js';
import { StepError, type BuiltinContext } from '../../../runtime/src/builtins/types.js';
import { fitTransform, readTable } from '../../../runtime/src/ml/data/index.js';
import { loadPredictor } from '../../../runtime/src/ml/models/index.js';

// The train.* and model.register built-ins as the executor calls them: options after interpolation and defaults,
// absolute paths, metrics and tags through the context.

const dir = mkdtempSync(join(tmpdir(), 'cairn-train-'));

interface Recorded {
  ctx: BuiltinContext;
  metrics: Array<{ key: string; value: number; step?: number }>;
  tags: Map<string, string>;
  logs: string[];
}

function context(
  step: string,
  options: Record<string, unknown>,
  outputs: Record<string, string>,
  signal = new AbortController().signal,
): Recorded {
  const rec: Recorded = { metrics: [], tags: new Map(), logs: [], ctx: undefined as unknown as BuiltinContext };
  rec.ctx = {
    root: dir,
    step,
    options,
    outputs,
    dataSchemas: {},
    log: (l) => rec.logs.push(l),
    metric: (key, value, s) => rec.metrics.push(s === undefined ? { key, value } : { key, value, step: s }),
    tag: (k, v) => rec.tags.set(k, v),
    signal,
  };
  return rec;
}

async function run(name: string, rec: Recorded): Promise<void> {
  const impl = implementations.get(name);
  assert.ok(impl, `${name} is registered`);
  await impl(rec.ctx);
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const credit = (() => {
  const lines = ['age,income,home,status'];
  for (let i = 0; i < 300; i++) {
    const age = 20 + ((i * 7) % 50);
    const income = 50 + ((i * 13) % 200);
    const home = ['rent', 'owner', 'parents'][i % 3] ?? 'rent';
    lines.push(`${age},${income},${home},${income + (home === 'owner' ? 40 : 0) > 150 ? 'good' : 'bad'}`);
  }
  return file('credit.csv', lines.join('\n') + '\n');
})();

test('train.logistic-regression writes model.json and model.onnx, streams epochs and tags the backend', async () => {
  const out = { model: join(dir, 'lr.json'), onnx: join(dir, 'lr.onnx') };
  const rec = context(
    'train',
    { train: credit, target: 'status', epochs: 4, lr: 0.05, l2: 0, batch_size: 32, seed: 1, valid_fraction: 0.2 },
    out,
  );
  await run('train.logistic-regression', rec);
  assert.match(rec.tags.get('backend') ?? '', /^tfjs-(wasm|cpu|node|node-gpu)$/);
  const points = rec.metrics.filter((m) => m.key === 'val_accuracy');
  // One point per epoch, then the summary (the kept epoch's value, recorded at that epoch: no early stopping → the last).
  assert.deepEqual(
    points.map((m) => m.step),
    [1, 2, 3, 4, 4],
  );
  const summary = points.at(-1);
  assert.ok(summary && summary.value > 0.7, `val_accuracy ${summary?.value}`);
  assert.equal(summary.value, points[3]?.value);
  const model = JSON.parse(readFileSync(out.model, 'utf8')) as {
    classes: string[];
    inputColumns: string[];
    backend: string;
  };
  assert.deepEqual(model.classes, ['bad', 'good']);
  assert.deepEqual(model.inputColumns, ['age', 'income', 'home']);
  assert.equal(model.backend, rec.tags.get('backend'));
  const p = await loadPredictor(out.onnx);
  assert.equal(p.kind, 'tabular');
});

test('train.gradient-boosting: a learning curve per round, the kept round as summary, model.json and a served ONNX tree ensemble', async () => {
  const out = { model: join(dir, 'gb.json'), onnx: join(dir, 'gb.onnx') };
  const rec = context(
    'gb',
    {
      train: credit,
      target: 'status',
      trees: 12,
      max_depth: 3,
      seed: 1,
      valid_fraction: 0.2,
      early_stopping: { patience: 50 },
    },
    out,
  );
  await run('train.gradient-boosting', rec);
  assert.equal(rec.tags.get('backend'), undefined, 'no tfjs backend to tag');
  const curve = rec.metrics.filter((m) => m.key === 'val_loss');
  // One point per round, then the kept round's value at that round.
  assert.deepEqual(
    curve.slice(0, 12).map((m) => m.step),
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
  const kept = curve.at(-1);
  assert.ok(kept && kept.step !== undefined);
  assert.equal(kept.value, Math.min(...curve.slice(0, 12).map((m) => m.value)));
  assert.deepEqual(
    rec.metrics.find((m) => m.key === 'trees'),
    { key: 'trees', value: kept.step, step: kept.step },
  );
  const model = JSON.parse(readFileSync(out.model, 'utf8')) as {
    algorithm: string;
    backend: string;
    classes: string[];
    ensemble: { trees: unknown[] };
  };
  assert.equal(model.algorithm, 'gradient-boosting');
  assert.equal(model.backend, 'cairn-gbdt');
  assert.deepEqual(model.classes, ['bad', 'good']);
  assert.equal(model.ensemble.trees.length, kept.step);
  const raw = await readTable(credit);
  const [a, b] = await Promise.all([loadPredictor(out.model), loadPredictor(out.onnx)]);
  assert.ok(a?.kind === 'tabular' && b?.kind === 'tabular');
  if (a.kind !== 'tabular' || b.kind !== 'tabular') return;
  const [pa, pb] = await Promise.all([a.predict(raw), b.predict(raw)]);
  pa.values.forEach((v, i) =>
    assert.ok(Math.abs(v - (pb.values[i] ?? NaN)) < 1e-5, `row ${i >> 1}: ${v} vs ${pb.values[i]}`),
  );
  const correct =
    raw.columns[3]?.type === 'string'
      ? raw.columns[3].values.filter((l, r) => (l === 'good') === pa.values[2 * r + 1]! > 0.5).length
      : 0;
  assert.ok(correct / raw.rowCount > 0.9, `training accuracy ${correct / raw.rowCount}`);
});

test('a features.transform output is saved in the model and applied again at prediction', async () => {
  const raw = await readTable(credit);
  const transform = file(
    'transform.json',
    JSON.stringify(fitTransform(raw, { standardize: ['income'], oneHot: ['home'], drop: ['age'], target: 'status' })),
  );
  const out = { model: join(dir, 'tr.json'), onnx: join(dir, 'tr.onnx') };
  await run(
    'train.mlp',
    context(
      't',
      {
        train: credit,
        target: 'status',
        transform,
        task: 'classification',
        hidden: [4],
        activation: 'relu',
        dropout: 0,
        epochs: 2,
        lr: 0.05,
        l2: 0,
        batch_size: 32,
        seed: 1,
        valid_fraction: 0,
      },
      out,
    ),
  );
  const model = JSON.parse(readFileSync(out.model, 'utf8')) as { inputColumns: string[]; transform?: unknown };
  assert.deepEqual(model.inputColumns.sort(), ['home', 'income']);
  assert.ok(model.transform);
  for (const f of [out.model, out.onnx]) {
    const p = await loadPredictor(f);
    assert.ok(p.kind === 'tabular');
    if (p.kind !== 'tabular') continue;
    const s = await p.predict(raw);
    assert.equal(s.values.length, raw.rowCount * 2);
    assert.ok(s.values.every((v) => v >= 0 && v <= 1));
  }
});

test('train.mlp: the same seed twice gives the same metrics', async () => {
  const opts = {
    train: credit,
    target: 'income',
    task: 'regression',
    hidden: [8],
    activation: 'relu',
    dropout: 0,
    epochs: 3,
    lr: 0.01,
    l2: 0,
    batch_size: 64,
    seed: 9,
    valid_fraction: 0.1,
  };
  const a = context('mlp', opts, { model: join(dir, 'mlp-a.json') });
  const b = context('mlp', opts, { model: join(dir, 'mlp-b.json') });
  await run('train.mlp', a);
  await run('train.mlp', b);
  assert.deepEqual(a.metrics, b.metrics);
  assert.ok(a.metrics.some((m) => m.key === 'val_mae'));
  assert.equal(readFileSync(join(dir, 'mlp-a.json'), 'utf8'), readFileSync(join(dir, 'mlp-b.json'), 'utf8'));
});

const ratings = (() => {
  const lines = ['userId,movieId,rating'];
  for (let u = 1; u <= 20; u++)
    for (let m = 1; m <= 15; m++) if ((u * m) % 3 !== 0) lines.push(`${u},${100 + m},${1 + ((u + m) % 5)}`);
  return file('ratings.csv', lines.join('\n') + '\n');
})();

test('train.matrix-factorization and train.popularity produce recommenders', async () => {
  const mf = context(
    'mf',
    {
      ratings,
      user: 'userId',
      item: 'movieId',
      rating: 'rating',
      factors: 4,
      implicit: false,
      epochs: 3,
      lr: 0.02,
      l2: 0.01,
      batch_size: 32,
      seed: 2,
      valid_fraction: 0.1,
    },
    { model: join(dir, 'mf.json'), onnx: join(dir, 'mf.onnx') },
  );
  await run('train.matrix-factorization', mf);
  assert.ok(mf.metrics.some((m) => m.key === 'val_rmse' && m.step === 3));
  const pop = context(
    'pop',
    { ratings, user: 'userId', item: 'movieId', rating: 'rating' },
    { model: join(dir, 'pop.json') },
  );
  await run('train.popularity', pop);
  for (const f of ['mf.json', 'mf.onnx', 'pop.json']) {
    const p = await loadPredictor(join(dir, f));
    assert.equal(p.kind, 'recommender');
    if (p.kind !== 'recommender') continue;
    const [list] = await p.recommend([1], 5, new Map([[1, new Set<string | number>([101, 102])]]));
    assert.equal(list?.length, 5);
    assert.ok(!list?.includes(101) && !list?.includes(102), `seen items excluded: ${list?.join(',')}`);
    const scores = await p.score([1, 999], [101, 101]);
    assert.ok(
      scores.every((s) => Number.isFinite(s)),
      'unknown users still get a finite score',
    );
  }
});

test('bad input gets a clear StepError naming the file and what to do', async () => {
  const ragged = file('ragged.csv', 'a,b,status\n1,2,good\n3,bad\n');
  const empty = file('empty.csv', '');
  const noLabel = file('nolabel.csv', 'a,status\n1,good\n2,\n3,bad\n');
  const common = { epochs: 1, lr: 0.01, l2: 0, batch_size: 8, seed: 1, valid_fraction: 0 };
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['train.logistic-regression', { ...common, train: credit, target: 'nope' }, /credit\.csv.*no target column "nope"/],
    ['train.logistic-regression', { ...common, train: ragged, target: 'status' }, /ragged\.csv/],
    ['train.logistic-regression', { ...common, train: empty, target: 'status' }, /empty\.csv/],
    [
      'train.logistic-regression',
      { ...common, train: noLabel, target: 'status' },
      /nolabel\.csv:3: the target "status" is missing/,
    ],
    [
      'train.mlp',
      { ...common, train: credit, target: 'status', task: 'regression', hidden: [4], activation: 'relu', dropout: 0 },
      /holds text/,
    ],
    [
      'train.matrix-factorization',
      { ...common, ratings: credit, user: 'userId', item: 'movieId', rating: 'rating', factors: 2, implicit: false },
      /no column "userId"/,
    ],
  ];
  for (const [name, options, message] of cases) {
    const rec = context('bad', options, { model: join(dir, 'bad.json') });
    await assert.rejects(
      run(name, rec),
      (e: unknown) => e instanceof StepError && message.test(e.message),
      `${name} ${JSON.stringify(options)}`,
    );
  }
  assert.ok(!existsSync(join(dir, 'bad.json')), 'a failed step writes no model');
});

test('a cancelled training step returns without writing its outputs', async () => {
  const ac = new AbortController();
  ac.abort();
  const out = join(dir, 'cancelled.json');
  await run(
    'train.logistic-regression',
    context(
      'c',
      { train: credit, target: 'status', epochs: 50, lr: 0.01, l2: 0, batch_size: 8, seed: 1, valid_fraction: 0 },
      { model: out },
      ac.signal,
    ),
  );
  assert.ok(!existsSync(out));
});

test('model.register checks the model and the card', async () => {
  const ok = context('register', { model: join(dir, 'pop.json'), name: 'recommender' }, {});
  await run('model.register', ok);
  assert.equal(ok.tags.get('registered_model'), 'recommender');
  const noCard = context(
    'register',
    { model: join(dir, 'pop.json'), name: 'recommender', card: join(dir, 'MISSING.md') },
    {},
  );
  await assert.rejects(
    run('model.register', noCard),
    (e: unknown) => e instanceof StepError && /MISSING\.md does not exist/.test(e.message),
  );
  const notModel = context('register', { model: credit, name: 'x' }, {});
  await assert.rejects(
    run('model.register', notModel),
    (e: unknown) => e instanceof StepError && /credit\.csv/.test(e.message),
  );
});
