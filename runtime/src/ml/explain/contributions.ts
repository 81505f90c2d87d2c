import { applyTransform } from '../data/transform.js';
import type { TabularModel } from '../models/artifact.js';
import { applyEncoding, type FeatureEncoding } from '../models/encoding.js';
import { rawScores } from '../train/gbdt.js';
import type { Table } from '../types.js';
import { ExplainError } from './permutation.js';
import { treeContributions, type Contributions } from './treeshap.js';

/**
 * Exact per-row contributions of a tabular model, in its margin (link) space, per model feature (a one-hot group's
 * columns are summed into its feature):
 * - gradient boosting: path-dependent TreeSHAP (treeshap.ts);
 * - logistic regression / a linear regressor: w·(x − mean), the exact Shapley values of a linear model with
 *   independent features, the mean being the encoded training inputs' (model.json `background`);
 * - an MLP: none (no exact, cheap attribution exists): ExplainError; its permutation importance still works.
 * For every row and output, base + Σ contributions = margin (log-odds, class logit, or the regression prediction).
 */
export interface RowContributions {
  /** Model features: the encoding's columns (a one-hot group is one feature). */
  features: string[];
  /** Output names: the positive class (binary), each class (multiclass), or the target (regression). */
  outputs: string[];
  /** What the margin is: `log-odds`, `logit` (per class, softmax), or `prediction`. */
  link: 'log-odds' | 'logit' | 'prediction';
  base: number[];
  /** [rows × outputs × features]. */
  values: Float64Array;
  /** [rows × outputs]: the model's margin (log-odds, logits, prediction); equals base + Σ values. */
  margin: Float64Array;
  rows: number;
}

export function explainable(m: TabularModel): string | null {
  if (m.algorithm === 'mlp')
    return (
      'an MLP has no exact per-row contributions (only permutation importance); ' +
      'use gradient boosting or logistic regression for them'
    );
  return null;
}

/** Means of the encoded columns of `x` (the linear models' reference point, saved as model.json `background`). */
export function encodedMeans(x: Float32Array, rows: number, width: number): number[] {
  const mean = new Array<number>(width).fill(0);
  for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) mean[j] = (mean[j] ?? 0) + (x[r * width + j] ?? 0);
  return mean.map((s) => s / Math.max(rows, 1));
}

function linearContributions(m: TabularModel, x: Float32Array, rows: number): Contributions {
  const layer = m.layers[0];
  if (!layer || m.layers.length !== 1 || layer.activation !== 'linear')
    throw new ExplainError(`a ${m.algorithm} model.json with ${m.layers.length} layers is not linear`);
  const { background } = m;
  if (!background || background.length !== layer.inputs)
    throw new ExplainError('the model.json has no `background` (encoded training means): train it again to explain it');
  const width = layer.inputs;
  const k = layer.units;
  // Regression predicts mean + std·(network output): scale both parts.
  const scale = m.targetScale?.std ?? 1;
  const shift = m.targetScale?.mean ?? 0;
  const base = Array.from({ length: k }, (_, c) => {
    let s = layer.bias[c] ?? 0;
    for (let j = 0; j < width; j++) s += (layer.weights[j * k + c] ?? 0) * (background[j] ?? 0);
    return shift + scale * s;
  });
  const values = new Float64Array(rows * k * width);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < k; c++)
      for (let j = 0; j < width; j++)
        values[(r * k + c) * width + j] =
          scale * (layer.weights[j * k + c] ?? 0) * ((x[r * width + j] ?? 0) - (background[j] ?? 0));
  return { values, base, outputs: k, width };
}

/** Sums each encoding column group (a numeric column, or a one-hot group) into one feature. */
function grouped(c: Contributions, enc: FeatureEncoding, rows: number): Float64Array {
  const spans = enc.columns.map((col) => (col.kind === 'numeric' ? 1 : col.categories.length));
  const g = enc.columns.length;
  const out = new Float64Array(rows * c.outputs * g);
  for (let ro = 0; ro < rows * c.outputs; ro++) {
    let j = 0;
    spans.forEach((span, f) => {
      let s = 0;
      for (let t = 0; t < span; t++) s += c.values[ro * c.width + j + t] ?? 0;
      out[ro * g + f] = s;
      j += span;
    });
  }
  return out;
}

export function contributions(m: TabularModel, table: Table): RowContributions {
  const why = explainable(m);
  if (why) throw new ExplainError(why);
  const rows = table.rowCount;
  const x = applyEncoding(m.encoding, m.transform ? applyTransform(table, m.transform) : table);
  const width = m.encoding.width;
  const c = m.ensemble ? treeContributions(m.ensemble, x, rows, width) : linearContributions(m, x, rows);
  const values = grouped(c, m.encoding, rows);
  // The model's own margin, computed without the contributions: readers check base + Σ values against it.
  const margin = marginOf(m, x, rows);
  const classes = (m.classes ?? []).map(String);
  const outputs = m.task === 'regression' ? [m.target] : c.outputs === 1 ? [classes[1] ?? '1'] : classes;
  const link = m.task === 'regression' ? 'prediction' : c.outputs === 1 ? 'log-odds' : 'logit';
  return { features: m.encoding.columns.map((col) => col.name), outputs, link, base: c.base, values, margin, rows };
}

/** The model's own margin for the encoded rows `x`: the trees' raw scores or the linear layer's output. */
function marginOf(m: TabularModel, x: Float32Array, rows: number): Float64Array {
  if (m.ensemble) return rawScores(m.ensemble, x, rows, m.encoding.width);
  const layer = m.layers[0];
  if (!layer || m.layers.length !== 1) throw new ExplainError(`a ${m.algorithm} model has no linear margin`);
  const k = layer.units;
  const out = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < k; c++) {
      let s = layer.bias[c] ?? 0;
      for (let j = 0; j < layer.inputs; j++) s += (layer.weights[j * k + c] ?? 0) * (x[r * layer.inputs + j] ?? 0);
      out[r * k + c] = (m.targetScale?.mean ?? 0) + (m.targetScale?.std ?? 1) * s;
    }
  return out;
}
