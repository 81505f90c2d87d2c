import { encodedMeans } from '../../../runtime/src/ml/explain/contributions.js';
import type { TabularModel } from '../../../runtime/src/ml/models/artifact.js';
import { applyEncoding, fitEncoding } from '../../../runtime/src/ml/models/encoding.js';
import { trainGbdt, type GbdtOptions } from '../../../runtime/src/ml/train/gbdt.js';
import { normal, rng } from '../../../runtime/src/ml/train/loop.js';
import { trainTabular } from '../../../runtime/src/ml/train/tabular.js';
import type { Table } from '../../../runtime/src/ml/types.js';

/** A small table with a strong feature (a), a weaker one (b), a text one (city) and pure noise. */
export function explainTable(n: number, seed: number): Table {
  const r = rng(seed);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const noise = new Float64Array(n);
  const city: Array<string | null> = [];
  const label = new Float64Array(n);
  const cls = new Float64Array(n);
  const amount = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = normal(r) * 10 + 50;
    b[i] = normal(r);
    noise[i] = normal(r);
    city.push(i % 9 === 0 ? null : (['oslo', 'lima', 'pune'][i % 3] ?? null));
    const e = normal(r) * 0.7;
    const z = (a[i]! - 50) / 10 + 0.6 * b[i]! + (city[i] === 'oslo' ? 0.5 : 0) + e;
    label[i] = z > 0 ? 1 : 0;
    cls[i] = z < -0.5 ? 0 : z < 0.7 ? 1 : 2;
    amount[i] = 3 * a[i]! - 8 * b[i]! * b[i]! + (city[i] === 'oslo' ? 6 : 0) + e;
  }
  return {
    rowCount: n,
    columns: [
      { name: 'a', type: 'float', values: a, missing: null },
      { name: 'b', type: 'float', values: b, missing: null },
      { name: 'city', type: 'string', values: city },
      { name: 'noise', type: 'float', values: noise, missing: null },
      { name: 'label', type: 'int', values: label, missing: null },
      { name: 'cls', type: 'int', values: cls, missing: null },
      { name: 'amount', type: 'float', values: amount, missing: null },
    ],
  };
}

export const FEATURES = ['a', 'b', 'city', 'noise'];

export const gbdtDefaults: GbdtOptions = {
  task: 'classification',
  classes: 2,
  trees: 20,
  lr: 0.3,
  l2: 1,
  growth: 'depthwise',
  maxDepth: 3,
  maxLeaves: 0,
  minChildWeight: 1,
  minSamplesLeaf: 5,
  subsample: 1,
  colsample: 1,
  maxBins: 255,
  seed: 3,
  validFraction: 0,
  threads: 1,
};

export type Case = { task: 'classification' | 'regression'; target: 'label' | 'cls' | 'amount'; classes: number };
export const CASES: Record<'binary' | 'multiclass' | 'regression', Case> = {
  binary: { task: 'classification', target: 'label', classes: 2 },
  multiclass: { task: 'classification', target: 'cls', classes: 3 },
  regression: { task: 'regression', target: 'amount', classes: 0 },
};

function target(t: Table, name: string): Float64Array {
  const col = t.columns.find((c) => c.name === name);
  if (!col || col.type === 'string') throw new Error(`the fixture has a numeric ${name}`);
  return Float64Array.from(col.values);
}

function header(
  c: Case,
): Pick<TabularModel, 'format' | 'formatVersion' | 'kind' | 'task' | 'target' | 'inputColumns'> &
  Partial<Pick<TabularModel, 'classes'>> {
  return {
    format: 'cairn-model',
    formatVersion: 1,
    kind: 'tabular',
    task: c.task,
    target: c.target,
    inputColumns: FEATURES,
    ...(c.task === 'classification' ? { classes: Array.from({ length: c.classes }, (_, i) => i) } : {}),
  };
}

export async function gbdtModel(t: Table, c: Case, over: Partial<GbdtOptions> = {}): Promise<TabularModel> {
  const encoding = fitEncoding(t, FEATURES);
  const res = await trainGbdt(
    { x: applyEncoding(encoding, t), width: encoding.width, y: target(t, c.target) },
    { ...gbdtDefaults, task: c.task, classes: c.classes, ...over },
  );
  return {
    ...header(c),
    algorithm: 'gradient-boosting',
    encoding,
    layers: [],
    ensemble: res.ensemble,
    backend: 'cairn-gbdt',
    seed: 3,
    metrics: res.metrics,
  };
}

/** Logistic regression (hidden: []) or an MLP, trained briefly on the tfjs backend (call initBackend first). */
export async function networkModel(t: Table, c: Case, hidden: number[]): Promise<TabularModel> {
  const encoding = fitEncoding(t, FEATURES);
  const x = applyEncoding(encoding, t);
  const res = await trainTabular(
    { x, width: encoding.width, y: target(t, c.target) },
    {
      epochs: 8,
      lr: 0.05,
      l2: 0,
      batchSize: 32,
      seed: 1,
      validFraction: 0,
      task: c.task,
      classes: c.classes,
      hidden,
      activation: 'tanh',
      dropout: 0,
    },
  );
  return {
    ...header(c),
    algorithm: hidden.length ? 'mlp' : 'logistic-regression',
    ...(res.targetScale ? { targetScale: res.targetScale } : {}),
    encoding,
    layers: res.layers,
    background: encodedMeans(x, t.rowCount, encoding.width),
    backend: 'tfjs',
    seed: 1,
    metrics: res.metrics,
  };
}

/**
 * A small credit pipeline whose gradient-boosted model is explained by its `evaluate` step (split → gbdt → evaluate
 * with `explain: true`), for the explanation RPC suites; `more` appends steps (YAML under `steps:`).
 */
export function explainedCreditPipeline(name: string, explainRows: number, more = ''): string {
  const features = '[Seniority, Home, Time, Age, Marital, Records, Job, Expenses, Income, Assets, Debt, Amount, Price]';
  return `version: 1
name: ${name}
data:
  credit: { path: data/credit.csv }
steps:
  split:
    uses: data.split
    with: { input: "\${data.credit}", by: application, test_fraction: 0.3 }
    outputs: [train, test]
  gbdt:
    uses: train.gradient-boosting
    with: { train: "\${steps.split.outputs.train}", target: Status, features: ${features}, trees: 15, max_depth: 3, seed: 1 }
    outputs: [model, onnx]
  evaluate:
    uses: evaluate.classification
    with:
      model: \${steps.gbdt.outputs.model}
      test: \${steps.split.outputs.test}
      target: Status
      positive: bad
      explain: true
      explain_rows: ${explainRows}
      explain_repeats: 2
    outputs: [report, explanations]
${more}`;
}
