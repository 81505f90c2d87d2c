import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { z } from 'zod';
import { initBackend } from '../../../runtime/src/ml/backend.js';
import { contributions } from '../../../runtime/src/ml/explain/contributions.js';
import { treeContributions } from '../../../runtime/src/ml/explain/treeshap.js';
import type { GbdtEnsemble, GbdtTree, TabularModel } from '../../../runtime/src/ml/models/artifact.js';
import { applyEncoding } from '../../../runtime/src/ml/models/encoding.js';
import { tabularPredictor } from '../../../runtime/src/ml/models/tabular.js';
import { rawScores } from '../../../runtime/src/ml/train/gbdt.js';
import { CASES, explainTable, gbdtModel, networkModel } from './explainFixture.js';

// Exact contributions: for every row, base + Σ contributions equals the model's margin (1e-9); TreeSHAP equals a
// brute-force Shapley computation over all 2^6 feature subsets (1e-9) and xgboost's pred_contribs on trees xgboost
// trained and Cairn loaded (float32 precision); linear models give w·(x − mean).

const PY = '/usr/bin/python3';
const t = explainTable(300, 8);

function assertLocalAccuracy(m: TabularModel): void {
  const c = contributions(m, t);
  const k = c.outputs.length;
  const g = c.features.length;
  const own = m.ensemble ? rawScores(m.ensemble, applyEncoding(m.encoding, t), t.rowCount, m.encoding.width) : null;
  for (let ro = 0; ro < t.rowCount * k; ro++) {
    let sum = c.base[ro % k] ?? 0;
    for (let f = 0; f < g; f++) sum += c.values[ro * g + f] ?? 0;
    const margin = own ? (own[ro] ?? NaN) : (c.margin[ro] ?? NaN);
    const d = Math.abs(sum - margin);
    assert.ok(
      d <= 1e-9 * Math.max(1, Math.abs(margin)),
      `row ${Math.floor(ro / k)}: base + Σ ${sum}, margin ${margin}`,
    );
  }
}

test('gradient boosting: contributions sum to the margin minus the base value on every row (3 tasks)', async () => {
  for (const c of Object.values(CASES)) assertLocalAccuracy(await gbdtModel(t, c));
  const bin = contributions(await gbdtModel(t, CASES.binary), t);
  assert.deepEqual(bin.features, ['a', 'b', 'city', 'noise']);
  assert.equal(bin.link, 'log-odds');
  assert.deepEqual(bin.outputs, ['1']);
});

/** E[f(x) | x_S] of one tree, integrating features outside S by cover (the path-dependent definition). */
function conditional(tree: GbdtTree, x: Float32Array, offset: number, inS: (f: number) => boolean): number {
  const cover = tree.cover ?? [];
  const at = (n: number): number => {
    const f = tree.feature[n] ?? -1;
    if (f < 0) return tree.value[n] ?? 0;
    const l = tree.left[n] ?? 0;
    const r = tree.right[n] ?? 0;
    if (inS(f)) return at((x[offset + f] ?? 0) <= (tree.threshold[n] ?? 0) ? l : r);
    return ((cover[l] ?? 0) * at(l) + (cover[r] ?? 0) * at(r)) / (cover[n] ?? 1);
  };
  return at(0);
}

function bruteForce(e: GbdtEnsemble, x: Float32Array, offset: number, width: number): number[] {
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const v = (mask: number) =>
    e.trees.reduce((s, tr) => s + conditional(tr, x, offset, (f) => ((mask >> f) & 1) === 1), 0);
  const phi = new Array<number>(width).fill(0);
  for (let i = 0; i < width; i++)
    for (let mask = 0; mask < 1 << width; mask++) {
      if ((mask >> i) & 1) continue;
      let size = 0;
      for (let b = 0; b < width; b++) size += (mask >> b) & 1;
      const w = (fact(size) * fact(width - size - 1)) / fact(width);
      phi[i] = (phi[i] ?? 0) + w * (v(mask | (1 << i)) - v(mask));
    }
  return phi;
}

test('TreeSHAP equals brute-force Shapley values over all feature subsets (1e-9)', async () => {
  const m = await gbdtModel(t, CASES.regression, { trees: 6, maxDepth: 4 });
  const e = m.ensemble;
  assert.ok(e);
  const width = m.encoding.width;
  assert.equal(width, 6, 'a, b, city (3 one-hot columns), noise');
  const x = applyEncoding(m.encoding, t);
  const rows = 25;
  const ours = treeContributions(e, x, rows, width);
  for (let r = 0; r < rows; r++) {
    const ref = bruteForce(e, x, r * width, width);
    for (let j = 0; j < width; j++) {
      const got = ours.values[r * width + j] ?? NaN;
      assert.ok(Math.abs(got - (ref[j] ?? NaN)) <= 1e-9, `row ${r} input ${j}: TreeSHAP ${got}, brute force ${ref[j]}`);
    }
  }
});

const XGB = String.raw`
import json, sys
import numpy as np
try:
    import xgboost as xgb
except ImportError as e:
    sys.exit('xgboost is missing from /usr/bin/python3 (%s): run scripts/setup.sh, which installs python3-xgboost' % e)
d = json.load(sys.stdin)
X = np.array(d['x'], dtype=np.float32).reshape(d['rows'], d['width'])
params = {'max_depth': 3, 'eta': 0.3, 'tree_method': 'hist', 'base_score': 0.5, 'nthread': 1, 'seed': 0}
if d['classes'] > 2:
    params.update(objective='multi:softprob', num_class=d['classes'])
else:
    params.update(objective='binary:logistic')
dm = xgb.DMatrix(X, label=np.array(d['y']))
bst = xgb.train(params, dm, num_boost_round=12)
model = json.loads(bst.save_raw(raw_format='json'))
print(json.dumps({'trees': model['learner']['gradient_booster']['model']['trees'],
                  'contribs': bst.predict(dm, pred_contribs=True).reshape(-1).tolist(),
                  'margin': bst.predict(dm, output_margin=True).reshape(-1).tolist()}))
`;

const xgbTree = z.object({
  left_children: z.array(z.number().int()),
  right_children: z.array(z.number().int()),
  split_indices: z.array(z.number().int()),
  split_conditions: z.array(z.number()),
  sum_hessian: z.array(z.number()),
});
const xgbOut = z.object({ trees: z.array(xgbTree), contribs: z.array(z.number()), margin: z.array(z.number()) });

/** The largest float32 below v: xgboost goes left on x < v, Cairn on x ≤ threshold. */
function below(v: number): number {
  const f = new Float32Array([v]);
  const i = new Int32Array(f.buffer);
  if (f[0] === 0) return -1.4e-45;
  i[0] = (i[0] ?? 0) + ((f[0] ?? 0) > 0 ? -1 : 1);
  return f[0] ?? 0;
}

function fromXgboost(trees: Array<z.infer<typeof xgbTree>>, outputs: number): GbdtEnsemble {
  return {
    objective: outputs > 1 ? 'softmax' : 'logloss',
    // base_score 0.5: the log-odds 0 (binary); added to every class's margin as is (multiclass).
    baseScore: outputs > 1 ? new Array<number>(outputs).fill(0.5) : [0],
    outputs,
    trees: trees.map((tr) => {
      const leaf = tr.left_children.map((l) => l < 0);
      return {
        feature: tr.split_indices.map((f, n) => (leaf[n] ? -1 : f)),
        threshold: tr.split_conditions.map((c, n) => (leaf[n] ? 0 : below(c))),
        left: tr.left_children,
        right: tr.right_children,
        value: tr.split_conditions.map((c, n) => (leaf[n] ? c : 0)),
        cover: tr.sum_hessian,
      };
    }),
  };
}

test("TreeSHAP equals xgboost's pred_contribs on xgboost's own trees (binary and multiclass)", async () => {
  const m = await gbdtModel(t, CASES.binary);
  const x = applyEncoding(m.encoding, t);
  const width = m.encoding.width;
  for (const c of [CASES.binary, CASES.multiclass]) {
    const ycol = t.columns.find((col) => col.name === c.target);
    assert.ok(ycol && ycol.type !== 'string');
    const input = JSON.stringify({
      x: Array.from(x),
      rows: t.rowCount,
      width,
      y: Array.from(ycol.values),
      classes: c.classes,
    });
    const out = xgbOut.parse(
      JSON.parse(
        execFileSync(PY, ['-c', XGB], { input, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } }),
      ),
    );
    const k = c.classes > 2 ? c.classes : 1;
    const e = fromXgboost(out.trees, k);
    const margin = rawScores(e, x, t.rowCount, width);
    margin.forEach((v, i) =>
      assert.ok(Math.abs(v - (out.margin[i] ?? NaN)) < 1e-5, `margin ${i}: ${v} vs ${out.margin[i]}`),
    );
    const ours = treeContributions(e, x, t.rowCount, width);
    for (let ro = 0; ro < t.rowCount * k; ro++) {
      for (let j = 0; j <= width; j++) {
        const got = j < width ? (ours.values[ro * width + j] ?? NaN) : (ours.base[ro % k] ?? NaN);
        const ref = out.contribs[ro * (width + 1) + j] ?? NaN;
        assert.ok(Math.abs(got - ref) < 1e-5, `${c.target} row·output ${ro} input ${j}: Cairn ${got}, xgboost ${ref}`);
      }
    }
  }
});

test('linear models: w·(x − mean) sums to the margin (its sigmoid: the probability); MLP: an error', async () => {
  await initBackend();
  const lr = await networkModel(t, CASES.binary, []);
  assertLocalAccuracy(lr);
  const reg = await networkModel(t, CASES.regression, []);
  assertLocalAccuracy(reg);
  const c = contributions(lr, t);
  const p = await tabularPredictor(lr).predict(t);
  for (let r = 0; r < t.rowCount; r++) {
    const q = 1 / (1 + Math.exp(-(c.margin[r] ?? 0)));
    assert.ok(Math.abs(q - (p.values[r * p.width + p.width - 1] ?? NaN)) < 1e-5, `row ${r}`);
  }
  // One row by hand: a's contribution is its weight times its distance from the training mean.
  const layer = lr.layers[0];
  const x = applyEncoding(lr.encoding, t);
  assert.ok(layer && lr.background);
  const want = (layer.weights[0] ?? 0) * ((x[0] ?? 0) - (lr.background[0] ?? 0));
  assert.ok(Math.abs((c.values[0] ?? NaN) - want) < 1e-12);
  const mlp = await networkModel(t, CASES.binary, [4]);
  assert.throws(() => contributions(mlp, t), /an MLP has no exact per-row contributions/);
  const old = await gbdtModel(t, CASES.binary);
  const { ensemble } = old;
  assert.ok(ensemble);
  const trees = ensemble.trees.map(({ cover: _, ...tr }) => tr);
  assert.throws(() => contributions({ ...old, ensemble: { ...ensemble, trees } }, t), /train it again/);
});
