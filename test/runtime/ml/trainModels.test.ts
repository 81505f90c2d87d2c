import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../../runtime/src/ml/backend.js';
import { TrainingCancelled, TrainingError, normal, rng } from '../../../runtime/src/ml/train/loop.js';
import { trainMf, type Interactions } from '../../../runtime/src/ml/train/mf.js';
import { predictTabular, trainTabular, type TabularData } from '../../../runtime/src/ml/train/tabular.js';

// Training sanity on small synthetic data with known structure: losses fall, the models recover the truth, the same
// seed on the same backend gives the same numbers, and early stopping / cancellation behave.

/** Two Gaussian blobs per class, 3 classes, 2 features (+ a noise feature). */
function blobs(n: number, seed: number, classes = 3): TabularData {
  const r = rng(seed);
  const width = 3;
  const x = new Float32Array(n * width);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = c;
    x[i * width] = Math.cos((2 * Math.PI * c) / classes) * 3 + normal(r);
    x[i * width + 1] = Math.sin((2 * Math.PI * c) / classes) * 3 + normal(r);
    x[i * width + 2] = normal(r);
  }
  return { x, width, y };
}

const base = { epochs: 15, lr: 0.05, l2: 0, batchSize: 32, seed: 7, validFraction: 0.2 };

test('logistic regression: loss falls and separable blobs are learned', async () => {
  await initBackend();
  const r = await trainTabular(blobs(600, 1), {
    ...base,
    task: 'classification',
    classes: 3,
    hidden: [],
    activation: 'relu',
    dropout: 0,
  });
  const first = r.history[0]?.['loss'] ?? NaN;
  const last = r.history.at(-1)?.['loss'] ?? NaN;
  assert.ok(last < first * 0.7, `loss should fall: ${first} → ${last}`);
  assert.ok((r.metrics['val_accuracy'] ?? 0) > 0.9, `val_accuracy ${r.metrics['val_accuracy']}`);
  assert.equal(r.layers.length, 1);
});

test('same seed and backend give the same metrics and weights; another seed does not', async () => {
  await initBackend();
  const data = blobs(300, 2, 2);
  const opts = {
    ...base,
    epochs: 5,
    task: 'classification' as const,
    classes: 2,
    hidden: [8],
    activation: 'tanh' as const,
    dropout: 0.1,
  };
  const tensors = tf.memory().numTensors;
  const a = await trainTabular(data, opts);
  assert.equal(tf.memory().numTensors, tensors, 'training leaks no tensors');
  const b = await trainTabular(data, opts);
  const c = await trainTabular(data, { ...opts, seed: 8 });
  assert.deepEqual(a.history, b.history);
  assert.deepEqual(a.layers, b.layers);
  assert.notDeepEqual(a.layers, c.layers);
});

test('MLP regression recovers a smooth function', async () => {
  await initBackend();
  const r = rng(3);
  const n = 800;
  const x = new Float32Array(n * 2);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = r() * 4 - 2;
    const b = r() * 4 - 2;
    x[i * 2] = a;
    x[i * 2 + 1] = b;
    y[i] = 100 + 20 * a - 10 * b + 5 * a * a + normal(r);
  }
  const res = await trainTabular(
    { x, width: 2, y },
    { ...base, epochs: 40, lr: 0.01, task: 'regression', classes: 0, hidden: [32, 16], activation: 'relu', dropout: 0 },
  );
  // The target's std is about 30; a fit within a few units shows the network learned the surface.
  assert.ok((res.metrics['val_mae'] ?? Infinity) < 4, `val_mae ${res.metrics['val_mae']}`);
  const pred = predictTabular(res.layers, Float32Array.from([0, 0]), 1, 'regression', 0, res.targetScale);
  assert.ok(Math.abs((pred[0] ?? 0) - 100) < 6, `prediction at the origin ${pred[0]}`);
});

/** A rank-3 rating matrix with biases, observed on 60% of cells with N(0, 0.1²) noise. */
function lowRank(seed: number): { data: Interactions; noise: number } {
  const r = rng(seed);
  const nUsers = 80;
  const nItems = 60;
  const k = 3;
  const pu = Array.from({ length: nUsers * k }, () => normal(r) * 0.7);
  const qi = Array.from({ length: nItems * k }, () => normal(r) * 0.7);
  const bu = Array.from({ length: nUsers }, () => normal(r) * 0.3);
  const bi = Array.from({ length: nItems }, () => normal(r) * 0.3);
  const users: number[] = [];
  const items: number[] = [];
  const ratings: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    for (let i = 0; i < nItems; i++) {
      if (r() > 0.6) continue;
      let s = 3.5 + (bu[u] ?? 0) + (bi[i] ?? 0);
      for (let j = 0; j < k; j++) s += (pu[u * k + j] ?? 0) * (qi[i * k + j] ?? 0);
      users.push(u);
      items.push(i);
      ratings.push(s + normal(r) * 0.1);
    }
  }
  return {
    data: {
      users: Int32Array.from(users),
      items: Int32Array.from(items),
      ratings: Float32Array.from(ratings),
      nUsers,
      nItems,
    },
    noise: 0.1,
  };
}

test('matrix factorization recovers a low-rank matrix: held-out RMSE near the noise level', async () => {
  await initBackend();
  const { data, noise } = lowRank(11);
  let sd = 0;
  const mean = data.ratings.reduce((a, b) => a + b, 0) / data.ratings.length;
  for (const v of data.ratings) sd += (v - mean) ** 2;
  sd = Math.sqrt(sd / data.ratings.length);
  const res = await trainMf(data, {
    epochs: 120,
    lr: 0.02,
    l2: 0.01,
    batchSize: 64,
    seed: 1,
    validFraction: 0.15,
    factors: 3,
    implicit: false,
  });
  const valRmse = res.metrics['val_rmse'] ?? Infinity;
  // The ratings spread by about 1; the best possible held-out RMSE is the noise, 0.1.
  assert.ok(sd > 0.8, `rating std ${sd}`);
  assert.ok(valRmse < 2.5 * noise, `val_rmse ${valRmse} (noise ${noise}, rating std ${sd})`);
  assert.ok((res.history.at(-1)?.['loss'] ?? Infinity) < (res.history[0]?.['loss'] ?? 0), 'loss falls');
});

test('matrix factorization is reproducible for a seed', async () => {
  await initBackend();
  const { data } = lowRank(12);
  const opts = {
    epochs: 3,
    lr: 0.02,
    l2: 0.01,
    batchSize: 64,
    seed: 5,
    validFraction: 0.1,
    factors: 4,
    implicit: false,
  };
  const tensors = tf.memory().numTensors;
  const a = await trainMf(data, opts);
  assert.equal(tf.memory().numTensors, tensors, 'training leaks no tensors');
  const b = await trainMf(data, opts);
  assert.deepEqual(a.history, b.history);
  assert.deepEqual(a.itemFactors, b.itemFactors);
  const c = await trainMf(data, { ...opts, seed: 6 });
  assert.notDeepEqual(a.itemFactors, c.itemFactors);
});

test('implicit matrix factorization: the logistic loss falls', async () => {
  await initBackend();
  const { data } = lowRank(13);
  const res = await trainMf(data, {
    epochs: 8,
    lr: 0.05,
    l2: 0.001,
    batchSize: 64,
    seed: 2,
    validFraction: 0.1,
    factors: 4,
    implicit: true,
    negatives: 2,
  });
  const first = res.history[0]?.['loss'] ?? 0;
  const last = res.history.at(-1)?.['loss'] ?? Infinity;
  assert.ok(last < first, `loss ${first} → ${last}`);
  assert.ok(!('rmse' in res.metrics), 'implicit models report no RMSE');
});

test('early stopping stops an overfitting model and keeps its best epoch', async () => {
  await initBackend();
  const { data } = lowRank(14);
  // Many factors, no regularisation, a high step: the validation loss turns up after a few epochs.
  const res = await trainMf(data, {
    epochs: 200,
    lr: 0.1,
    l2: 0,
    batchSize: 16,
    seed: 3,
    validFraction: 0.3,
    factors: 30,
    implicit: false,
    earlyStopping: { patience: 2, minDelta: 0 },
  });
  assert.ok(res.stoppedEarly, `ran ${res.epochsRun} epochs`);
  assert.ok(res.epochsRun < 200);
  assert.equal(res.epochsRun, res.bestEpoch + 2);
  const best = Math.min(...res.history.map((h) => h['val_loss'] ?? Infinity));
  assert.equal(res.metrics['val_loss'], best);
});

test('cancellation stops training promptly; divergence is a clear error', async () => {
  await initBackend();
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(
    trainTabular(
      blobs(50, 4),
      { ...base, task: 'classification', classes: 3, hidden: [], activation: 'relu', dropout: 0 },
      { signal: ac.signal },
    ),
    TrainingCancelled,
  );
  // A cancel that arrives from outside while training runs (the trainer yields to the event loop between batches).
  const outside = new AbortController();
  let epochs = 0;
  const hooks = {
    signal: outside.signal,
    onEpoch: () => {
      epochs++;
      setImmediate(() => outside.abort());
    },
  };
  await assert.rejects(
    trainTabular(
      blobs(400, 4),
      {
        ...base,
        epochs: 50,
        batchSize: 8,
        task: 'classification',
        classes: 3,
        hidden: [],
        activation: 'relu',
        dropout: 0,
      },
      hooks,
    ),
    TrainingCancelled,
  );
  assert.ok(epochs < 50, `stopped after ${epochs} epochs`);
  const { data } = lowRank(15);
  await assert.rejects(
    trainMf(data, { epochs: 5, lr: 50, l2: 0, batchSize: 64, seed: 1, validFraction: 0, factors: 3, implicit: false }),
    (e: unknown) => e instanceof TrainingError && /diverged/.test(e.message),
  );
  await assert.rejects(
    trainTabular(blobs(10, 4, 2), {
      ...base,
      task: 'classification',
      classes: 1,
      hidden: [],
      activation: 'relu',
      dropout: 0,
    }),
    TrainingError,
  );
});
