import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { z } from 'zod';
import { initBackend } from '../../../runtime/src/ml/backend.js';
import { permutationImportance, type PermutationImportance } from '../../../runtime/src/ml/explain/permutation.js';
import { studentTQuantile } from '../../../runtime/src/ml/explain/stats.js';
import type { TabularModel } from '../../../runtime/src/ml/models/artifact.js';
import { tabularPredictor } from '../../../runtime/src/ml/models/tabular.js';
import type { Scores, Table, TabularPredictor } from '../../../runtime/src/ml/types.js';
import { CASES, explainTable, FEATURES, gbdtModel, networkModel, type Case } from './explainFixture.js';

// Permutation importance equals scikit-learn's sklearn.inspection.permutation_importance run by /usr/bin/python3 on
// the same model predictions and the same row orders: python gets every prediction Cairn's model made (in call
// order) and Cairn's permutations, checks that scikit-learn asked for exactly those permuted inputs, and scores them.

const PY = '/usr/bin/python3';

const SCRIPT = String.raw`
import json, sys
import numpy as np
try:
    from sklearn.inspection import _permutation_importance as pi
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError as e:
    sys.exit('scikit-learn is missing from /usr/bin/python3 (%s): '
             'run scripts/setup.sh, which installs python3-sklearn' % e)
d = json.load(sys.stdin)
X0 = np.array(d['X'], dtype=object)
n, width = X0.shape
perms = d['perms']
preds = [np.array(p, dtype=float).reshape(n, -1) for p in d['preds']]
expected = [X0]
for f in range(width):
    for o in perms[f]:
        Xe = X0.copy()
        Xe[:, f] = X0[np.array(o), f]
        expected.append(Xe)
calls = []
class Lookup(BaseEstimator):
    def fit(self, X, y=None):
        return self
    def _next(self, X):
        k = len(calls)
        calls.append(k)
        if not (X == expected[k]).all():
            sys.exit('call %d: scikit-learn asked for other inputs than Cairn permuted' % k)
        return preds[k]
class Clf(ClassifierMixin, Lookup):
    def predict_proba(self, X):
        return self._next(X)
    def predict(self, X):
        return self.classes_[self._next(X).argmax(axis=1)]
class Reg(RegressorMixin, Lookup):
    def predict(self, X):
        return self._next(X)[:, 0]
if d['scoring'] == 'neg_root_mean_squared_error':
    est = Reg()
else:
    est = Clf()
    est.classes_ = np.array(d['classes'])
class Fixed(np.random.RandomState):
    # Hands out Cairn's row orders: sklearn shuffles its index array and then the already-permuted column with it.
    def __init__(self, f):
        super().__init__(0)
        self.f, self.r, self.P = f, 0, np.arange(n)
    def shuffle(self, a):
        o = np.array(perms[self.f][self.r])
        self.r += 1
        a[:] = np.argsort(self.P)[o]
        self.P = o
real = pi.check_random_state
made = []
def patched(rs):
    made.append(rs)
    return real(rs) if len(made) == 1 else Fixed(len(made) - 2)
pi.check_random_state = patched
r = pi.permutation_importance(est, X0, np.array(d['y']), scoring=d['scoring'], n_repeats=d['repeats'], random_state=0)
print(json.dumps({'mean': r.importances_mean.tolist(), 'std': r.importances_std.tolist(),
                  'importances': r.importances.tolist(), 'calls': len(calls)}))
`;

const referenceSchema = z.object({
  mean: z.array(z.number()),
  std: z.array(z.number()),
  importances: z.array(z.array(z.number())),
  calls: z.number(),
});

function rowsOf(t: Table, cols: string[]): Array<Array<string | number | null>> {
  return Array.from({ length: t.rowCount }, (_, i) =>
    cols.map((name) => {
      const c = t.columns.find((x) => x.name === name);
      if (!c) throw new Error(`no column ${name}`);
      return c.type === 'string' ? (c.values[i] ?? null) : (c.values[i] ?? 0);
    }),
  );
}

async function crossCheck(model: TabularModel, c: Case, t: Table, repeats: number): Promise<PermutationImportance> {
  const inner = tabularPredictor(model);
  const preds: number[][] = [];
  const recording: TabularPredictor = {
    ...inner,
    async predict(table): Promise<Scores> {
      const s = await inner.predict(table);
      preds.push(Array.from(s.values));
      return s;
    },
  };
  const perms: number[][][] = FEATURES.map(() => []);
  const ours = await permutationImportance(recording, t, c.target, {
    repeats,
    seed: 11,
    onPermutation: (f, _r, order) => perms[f]?.push(Array.from(order)),
  });
  const y = rowsOf(t, [c.target]).map((r) => r[0]);
  const input = JSON.stringify({
    X: rowsOf(t, FEATURES),
    y,
    scoring: ours.scoring,
    classes: model.classes ?? [],
    repeats,
    perms,
    preds,
  });
  const out = execFileSync(PY, ['-c', SCRIPT], {
    input,
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  const ref = referenceSchema.parse(JSON.parse(out));
  assert.equal(ref.calls, 1 + FEATURES.length * repeats, 'scikit-learn scored every permutation once');
  FEATURES.forEach((name, f) => {
    const mine = ours.features.find((x) => x.feature === name);
    assert.ok(mine, `importance of ${name}`);
    const tol = 1e-12;
    assert.ok(Math.abs(mine.mean - (ref.mean[f] ?? NaN)) <= tol, `${name} mean ${mine.mean} vs sklearn ${ref.mean[f]}`);
    assert.ok(Math.abs(mine.std - (ref.std[f] ?? NaN)) <= tol, `${name} std ${mine.std} vs sklearn ${ref.std[f]}`);
    mine.importances.forEach((v, r) => assert.ok(Math.abs(v - (ref.importances[f]?.[r] ?? NaN)) <= tol));
  });
  return ours;
}

const t = explainTable(400, 5);

test('gradient boosting, binary (ROC AUC): equals scikit-learn; a matters, noise barely', async () => {
  const res = await crossCheck(await gbdtModel(t, CASES.binary), CASES.binary, t, 5);
  assert.equal(res.scoring, 'roc_auc');
  assert.equal(res.features[0]?.feature, 'a');
  const noise = res.features.find((f) => f.feature === 'noise');
  assert.ok(noise && Math.abs(noise.mean) < (res.features[0]?.mean ?? 0) / 5, JSON.stringify(res.features));
});

test('gradient boosting, multiclass (accuracy) and regression (−RMSE): equal scikit-learn', async () => {
  const m = await crossCheck(await gbdtModel(t, CASES.multiclass), CASES.multiclass, t, 3);
  assert.equal(m.scoring, 'accuracy');
  const r = await crossCheck(await gbdtModel(t, CASES.regression), CASES.regression, t, 3);
  assert.equal(r.scoring, 'neg_root_mean_squared_error');
  assert.equal(r.features[0]?.feature, 'a');
});

test('logistic regression and an MLP (tfjs): equal scikit-learn', async () => {
  await initBackend();
  await crossCheck(await networkModel(t, CASES.binary, []), CASES.binary, t, 3);
  await crossCheck(await networkModel(t, CASES.regression, [6]), CASES.regression, t, 3);
});

test('the interval is mean ± t(0.975, n−1)·s/√n; a seed fixes the row orders', async () => {
  const model = tabularPredictor(await gbdtModel(t, CASES.binary));
  const orders = async (seed: number) => {
    const seen: string[] = [];
    const res = await permutationImportance(model, t, 'label', {
      repeats: 4,
      seed,
      onPermutation: (_f, _r, o) => seen.push(o.join()),
    });
    return { res, seen };
  };
  const a = await orders(1);
  const b = await orders(1);
  const c = await orders(2);
  assert.deepEqual(a.seen, b.seen);
  assert.deepEqual(a.res, b.res);
  assert.notDeepEqual(a.seen, c.seen);
  for (const f of a.res.features) {
    const n = f.importances.length;
    const s = Math.sqrt(f.importances.reduce((x, v) => x + (v - f.mean) ** 2, 0) / (n - 1));
    const half = (studentTQuantile(0.975, n - 1) * s) / Math.sqrt(n);
    assert.ok(Math.abs(f.ci[0] - (f.mean - half)) < 1e-15 && Math.abs(f.ci[1] - (f.mean + half)) < 1e-15);
  }
  await assert.rejects(permutationImportance(model, t, 'label', { repeats: 0, seed: 1 }), /repeats must be/);
});

test('the t quantile equals scipy.stats.t.ppf', () => {
  const dfs = [1, 2, 4, 9, 29, 120];
  const out = execFileSync(
    PY,
    ['-c', `from scipy.stats import t\nprint(*[t.ppf(0.975, d) for d in ${JSON.stringify(dfs)}])`],
    { encoding: 'utf8' },
  );
  out
    .trim()
    .split(' ')
    .map(Number)
    .forEach((ref, i) => {
      const df = dfs[i] ?? 1;
      assert.ok(
        Math.abs(studentTQuantile(0.975, df) - ref) < 1e-8,
        `df ${df}: ${studentTQuantile(0.975, df)} vs ${ref}`,
      );
    });
});
