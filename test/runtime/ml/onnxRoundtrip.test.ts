import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../../runtime/src/ml/backend.js';
import type { MfModel, TabularModel } from '../../../runtime/src/ml/models/artifact.js';
import { fitEncoding } from '../../../runtime/src/ml/models/encoding.js';
import { loadPredictor } from '../../../runtime/src/ml/models/index.js';
import { mfToOnnx, tabularToOnnx } from '../../../runtime/src/ml/onnx/export.js';
import { decodeModel } from '../../../runtime/src/ml/onnx/schema.js';
import { applyEncoding } from '../../../runtime/src/ml/models/encoding.js';
import { normal, rng } from '../../../runtime/src/ml/train/loop.js';
import { trainMf } from '../../../runtime/src/ml/train/mf.js';
import { trainTabular } from '../../../runtime/src/ml/train/tabular.js';
import type { Table } from '../../../runtime/src/ml/types.js';

// Export → onnxruntime-node → the same predictions as tfjs within 1e-5, for every model kind Cairn exports.

const dir = mkdtempSync(join(tmpdir(), 'cairn-onnx-'));

function table(n: number, seed: number, classes: number): Table {
  const r = rng(seed);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const city: Array<string | null> = [];
  const label = new Float64Array(n);
  const amount = new Float64Array(n);
  const missing = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = normal(r) * 10 + 50;
    b[i] = normal(r);
    city.push(i % 7 === 0 ? null : (['oslo', 'lima', 'pune'][i % 3] ?? null));
    label[i] = (a[i]! > 50 ? 1 : 0) + (classes > 2 && b[i]! > 0.5 ? 1 : 0);
    amount[i] = 3 * a[i]! - 20 * b[i]! + (city[i] === 'oslo' ? 15 : 0);
    if (i % 11 === 0) missing[i] = 1;
  }
  return {
    rowCount: n,
    columns: [
      { name: 'a', type: 'float', values: a, missing },
      { name: 'b', type: 'float', values: b, missing: null },
      { name: 'city', type: 'string', values: city },
      { name: 'label', type: 'int', values: label, missing: null },
      { name: 'amount', type: 'float', values: amount, missing: null },
    ],
  };
}

async function roundTrip(
  task: 'classification' | 'regression',
  classes: number,
  hidden: number[],
  name: string,
): Promise<void> {
  await initBackend();
  const t = table(400, classes + hidden.length, classes);
  const features = ['a', 'b', 'city'];
  const encoding = fitEncoding(t, features);
  const x = applyEncoding(encoding, t);
  const target = task === 'classification' ? 'label' : 'amount';
  const y = Float64Array.from((t.columns.find((c) => c.name === target)?.values ?? []) as Float64Array);
  const res = await trainTabular(
    { x, width: encoding.width, y },
    {
      epochs: 3,
      lr: 0.05,
      l2: 0.001,
      batchSize: 32,
      seed: 1,
      validFraction: 0.1,
      task,
      classes,
      hidden,
      activation: 'tanh',
      dropout: 0,
    },
  );
  const model: TabularModel = {
    format: 'cairn-model',
    formatVersion: 1,
    kind: 'tabular',
    algorithm: hidden.length ? 'mlp' : 'logistic-regression',
    task,
    target,
    ...(task === 'classification' ? { classes: Array.from({ length: classes }, (_, i) => i) } : {}),
    ...(res.targetScale ? { targetScale: res.targetScale } : {}),
    inputColumns: features,
    encoding,
    layers: res.layers,
    backend: 'test',
    seed: 1,
    metrics: res.metrics,
  };
  const json = join(dir, `${name}.json`);
  const onnx = join(dir, `${name}.onnx`);
  writeFileSync(json, JSON.stringify(model));
  writeFileSync(onnx, tabularToOnnx(model));
  const viaTfjs = await loadPredictor(json);
  const viaOnnx = await loadPredictor(onnx);
  assert.equal(viaTfjs.kind, 'tabular');
  assert.equal(viaOnnx.kind, 'tabular');
  if (viaTfjs.kind !== 'tabular' || viaOnnx.kind !== 'tabular') return;
  assert.deepEqual(viaOnnx.inputColumns, features);
  assert.equal(viaOnnx.task, task);
  const p = await viaTfjs.predict(t);
  const q = await viaOnnx.predict(t);
  assert.equal(p.width, task === 'classification' ? classes : 1);
  assert.equal(q.width, p.width);
  assert.equal(q.values.length, p.values.length);
  let maxDiff = 0;
  for (let i = 0; i < p.values.length; i++)
    maxDiff = Math.max(
      maxDiff,
      Math.abs((p.values[i] ?? NaN) - (q.values[i] ?? NaN)) / Math.max(1, Math.abs(p.values[i] ?? 0)),
    );
  assert.ok(maxDiff <= 1e-5, `max relative difference ${maxDiff}`);
  // The predictions are not trivial (e.g. all equal), so agreement means something.
  assert.ok(new Set(Array.from(p.values, (v) => v.toFixed(4))).size > 10);
}

test('ONNX round trip: binary logistic regression', () => roundTrip('classification', 2, [], 'binary'));
test('ONNX round trip: multiclass MLP', () => roundTrip('classification', 3, [16, 8], 'multi'));
test('ONNX round trip: MLP regression', () => roundTrip('regression', 0, [12], 'regression'));

test('ONNX round trip: matrix factorization scores and recommendations', async () => {
  await initBackend();
  const r = rng(5);
  const users: number[] = [];
  const items: number[] = [];
  const ratings: number[] = [];
  for (let u = 0; u < 30; u++) {
    for (let i = 0; i < 25; i++) {
      if (r() >= 0.5) continue;
      users.push(u);
      items.push(i);
      ratings.push(1 + Math.round(r() * 8) / 2);
    }
  }
  const data = {
    users: Int32Array.from(users),
    items: Int32Array.from(items),
    ratings: Float32Array.from(ratings),
    nUsers: 30,
    nItems: 25,
  };
  const res = await trainMf(data, {
    epochs: 5,
    lr: 0.05,
    l2: 0.01,
    batchSize: 32,
    seed: 3,
    validFraction: 0,
    factors: 4,
    implicit: false,
  });
  const ids = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}${i}`);
  const model: MfModel = {
    format: 'cairn-model',
    formatVersion: 1,
    kind: 'matrix-factorization',
    implicit: false,
    columns: { user: 'u', item: 'i', rating: 'r' },
    factors: 4,
    users: ids(30, 'u'),
    items: ids(25, 'i'),
    userFactors: Array.from(res.userFactors),
    itemFactors: Array.from(res.itemFactors),
    userBias: Array.from(res.userBias),
    itemBias: Array.from(res.itemBias),
    globalMean: res.globalMean,
    clip: { min: 1, max: 5 },
    backend: 'test',
    seed: 3,
    metrics: res.metrics,
  };
  writeFileSync(join(dir, 'mf.json'), JSON.stringify(model));
  writeFileSync(join(dir, 'mf.onnx'), mfToOnnx(model));
  const a = await loadPredictor(join(dir, 'mf.json'));
  const b = await loadPredictor(join(dir, 'mf.onnx'));
  assert.ok(a.kind === 'recommender' && b.kind === 'recommender');
  if (a.kind !== 'recommender' || b.kind !== 'recommender') return;
  const us = Array.from({ length: 750 }, (_, k) => `u${k % 30}`);
  const is = Array.from({ length: 750 }, (_, k) => `i${Math.floor(k / 30)}`);
  const sa = await a.score(us, is);
  const sb = await b.score(us, is);
  for (let k = 0; k < sa.length; k++)
    assert.ok(Math.abs((sa[k] ?? NaN) - (sb[k] ?? NaN)) <= 1e-5, `pair ${k}: ${sa[k]} vs ${sb[k]}`);
  assert.deepEqual(await a.recommend(['u1', 'u2'], 5), await b.recommend(['u1', 'u2'], 5));
  // The metadata carries the id maps but not the weights (those are initializers).
  const meta =
    decodeModel(readFileSync(join(dir, 'mf.onnx'))).metadataProps?.find((p) => p.key === 'cairn.model')?.value ?? '';
  assert.ok(meta.includes('"u29"') && !meta.includes('userFactors'));
});
