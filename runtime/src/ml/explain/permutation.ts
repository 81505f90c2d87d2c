import type { PermutationImportanceJson as PermutationImportance } from '@cairn/protocol';
import { cellText, getColumn } from '../data/table.js';
import { accuracy, rocAucBinary } from '../metrics/classification.js';
import { rmse } from '../metrics/regression.js';
import { rng, type Rng } from '../train/loop.js';
import type { Column, Scores, Table, TabularPredictor } from '../types.js';
import { studentTQuantile } from './stats.js';

/**
 * Permutation feature importance (Breiman 2001; scikit-learn's `sklearn.inspection.permutation_importance`): the
 * model's score on the evaluation rows minus its score with one raw input column shuffled, `repeats` times per
 * column. The score is the model's own metric with scikit-learn's scorer sign (higher is better): ROC AUC for a binary
 * classifier, accuracy for a multiclass one, −RMSE for a regressor. As in scikit-learn, each column's shuffles come
 * from their own seeded generator and shuffle the previous repeat's order again. It works for any tabular model
 * (it only calls `predict`), so it is an estimate: the interval is mean ± t·s/√repeats over the repeats.
 */
export type ImportanceScoring = PermutationImportance['scoring'];
export type FeatureImportance = PermutationImportance['features'][number];

export interface PermutationOptions {
  repeats: number;
  seed: number;
  /** Default 0.95. */
  confidence?: number;
  /** Sees every row order used (feature index in `model.inputColumns`, repeat, order): the tests pass them on. */
  onPermutation?: (feature: number, repeat: number, order: Uint32Array) => void;
}

export class ExplainError extends Error {}

export function scoringOf(model: TabularPredictor): ImportanceScoring {
  if (model.task === 'regression') return 'neg_root_mean_squared_error';
  return (model.classes?.length ?? 0) === 2 ? 'roc_auc' : 'accuracy';
}

/** The scorer: higher is better. `yText` holds class labels (classification), `yNum` targets (regression). */
function scorer(model: TabularPredictor, table: Table, target: string): (s: Scores) => number {
  const col = getColumn(table, target);
  const kind = scoringOf(model);
  if (kind === 'neg_root_mean_squared_error') {
    if (col.type === 'string')
      throw new ExplainError(`the target '${target}' holds text; a regression target must be numeric`);
    const y = col.values;
    return (s) => -rmse(y, s.values);
  }
  const labels = (model.classes ?? []).map(String);
  const yText = Array.from({ length: table.rowCount }, (_, i) => {
    const t = cellText(col, i);
    if (t === null)
      throw new ExplainError(`the target '${target}' is missing on row ${i + 1}; drop unlabelled rows first`);
    return t;
  });
  if (kind === 'roc_auc') {
    const isPos = yText.map((t) => t === labels[1]);
    // A single sigmoid output is P(second class); two columns: the second.
    return (s) => rocAucBinary(isPos, s.width === 1 ? s.values : s.values.filter((_, i) => i % s.width === 1));
  }
  return (s) => {
    const pred = Array.from({ length: table.rowCount }, (_, r) => {
      let best = 0;
      for (let c = 1; c < s.width; c++)
        if ((s.values[r * s.width + c] ?? 0) > (s.values[r * s.width + best] ?? 0)) best = c;
      return labels[best] ?? '';
    });
    return accuracy(yText, pred);
  };
}

function permuted(col: Column, order: Uint32Array): Column {
  if (col.type === 'string') return { ...col, values: Array.from(order, (i) => col.values[i] ?? null) };
  const { missing } = col;
  return {
    ...col,
    values: Float64Array.from(order, (i) => col.values[i] ?? 0),
    missing: missing ? Uint8Array.from(order, (i) => missing[i] ?? 0) : null,
  };
}

/** Fisher–Yates in place (numpy's RandomState.shuffle walks the same way; the generator differs). */
function shuffleInPlace(a: Uint32Array, random: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i] ?? 0;
    a[i] = a[j] ?? 0;
    a[j] = t;
  }
}

export function summarize(feature: string, drops: number[], confidence: number): FeatureImportance {
  const n = drops.length;
  const mean = drops.reduce((a, b) => a + b, 0) / n;
  const ss = drops.reduce((a, b) => a + (b - mean) ** 2, 0);
  const half = n > 1 ? (studentTQuantile((1 + confidence) / 2, n - 1) * Math.sqrt(ss / (n - 1))) / Math.sqrt(n) : 0;
  return { feature, mean, std: Math.sqrt(ss / n), ci: [mean - half, mean + half], importances: drops };
}

export type { PermutationImportance };

export async function permutationImportance(
  model: TabularPredictor,
  table: Table,
  target: string,
  opts: PermutationOptions,
): Promise<PermutationImportance> {
  const { repeats, seed } = opts;
  const confidence = opts.confidence ?? 0.95;
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new ExplainError(`repeats must be a whole number ≥ 1 (got ${repeats})`);
  if (!(confidence > 0 && confidence < 1)) throw new ExplainError(`confidence must lie in (0, 1) (got ${confidence})`);
  if (table.rowCount < 2)
    throw new ExplainError(`permutation importance needs at least 2 evaluation rows (got ${table.rowCount})`);
  const score = scorer(model, table, target);
  const baseline = score(await model.predict(table));
  const features: FeatureImportance[] = [];
  for (const [f, name] of model.inputColumns.entries()) {
    const at = table.columns.findIndex((c) => c.name === name);
    const col = table.columns[at];
    if (!col) throw new ExplainError(`the model reads column '${name}', which the evaluation table lacks`);
    // One generator per column, seeded from (seed, column): a column's importances do not depend on the others.
    const random = rng((Math.imul(seed, 0x9e3779b1) ^ (f + 1)) >>> 0);
    const order = Uint32Array.from({ length: table.rowCount }, (_, i) => i);
    const drops: number[] = [];
    for (let r = 0; r < repeats; r++) {
      shuffleInPlace(order, random);
      opts.onPermutation?.(f, r, order.slice());
      const columns = table.columns.slice();
      columns[at] = permuted(col, order);
      drops.push(baseline - score(await model.predict({ rowCount: table.rowCount, columns })));
    }
    features.push(summarize(name, drops, confidence));
  }
  features.sort((a, b) => b.mean - a.mean);
  return { scoring: scoringOf(model), baseline, repeats, seed, confidence, rows: table.rowCount, features };
}
