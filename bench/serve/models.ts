/**
 * The models Cairn produces, trained by the real train.* built-ins for bench:serve and bench/serve/calls.ts: the credit
 * sample's logistic regression, MLP and gradient-boosted trees (samples/credit/cairn.yaml's options, on
 * samples/credit/data/credit.csv), and a matrix-factorization recommender on a synthetic ratings table of MovieLens's users and movies
 * (MovieLens itself is not redistributable and needs `scripts/setup.sh --with-data`; the ONNX graph's per-call cost
 * depends on its operators, not on the ratings). Each comes with one request row in the client's columns and the
 * encoded input a bare server would feed session.run.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { implementations } from '../../runtime/src/builtins/index.js';
import '../../runtime/src/builtins/train.js';
import type { BuiltinContext } from '../../runtime/src/builtins/types.js';

export interface BenchModel {
  name: string;
  /** The .onnx file `cairn serve` loads. */
  onnx: string;
  /** One request row, as a client sends it (dataframe_split columns and cells). */
  columns: string[];
  row: Array<string | number | null>;
  /** What a bare server feeds session.run for that row: input name → type, data and per-row width. */
  bare: Record<string, { type: 'float32' | 'int64'; data: number[]; width: number }>;
}

const root = join(__dirname, '..', '..');
const CREDIT = join(root, 'samples', 'credit', 'data', 'credit.csv');
const FEATURES = [
  'Seniority',
  'Home',
  'Time',
  'Age',
  'Marital',
  'Records',
  'Job',
  'Expenses',
  'Income',
  'Assets',
  'Debt',
  'Amount',
  'Price',
];

/** Trains once per checkout: models are kept in dist/bench/models/ (delete it to retrain). */
async function train(name: string, dir: string, step: string, options: Record<string, unknown>): Promise<string> {
  const onnx = join(dir, `${step}.onnx`);
  if (existsSync(onnx)) return onnx;
  const impl = implementations.get(name);
  if (!impl) throw new Error(`${name} is not registered`);
  const t0 = performance.now();
  const ctx: BuiltinContext = {
    root: dir,
    step,
    options,
    outputs: { model: join(dir, `${step}.json`), onnx },
    dataSchemas: {},
    log: () => undefined,
    metric: () => undefined,
    tag: () => undefined,
    signal: new AbortController().signal,
  };
  await impl(ctx);
  console.log(`trained ${step} (${name}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return onnx;
}

/** MovieLens latest-small's users and movies (610, 9,000), 30,000 ratings (seeded, so every run trains the same). */
function writeRatings(dir: string): string {
  // mulberry32: exact in 32-bit integer arithmetic (a float LCG loses bits and cycles).
  let s = 12345;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const lines = ['userId,movieId,rating'];
  const seen = new Set<number>();
  while (seen.size < 30_000) {
    const u = 1 + Math.floor(rand() * 610);
    const m = 1 + Math.floor(rand() * rand() * 9000);
    const key = u * 10_000 + m;
    if (seen.has(key)) continue;
    seen.add(key);
    lines.push(`${u},${m},${(1 + Math.round(rand() * 8) / 2).toFixed(1)}`);
  }
  const file = join(dir, 'ratings.csv');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** The six models, trained into dist/bench/models/ on first use (minutes on a loaded 2-core machine). */
export async function benchModels(dir = join(root, 'dist', 'bench', 'models')): Promise<BenchModel[]> {
  mkdirSync(dir, { recursive: true });
  const tabular = { train: CREDIT, target: 'Status', features: FEATURES, seed: 42 };
  const net = { ...tabular, epochs: 40, lr: 0.01, l2: 0.001, batch_size: 64, early_stopping: { patience: 5 } };
  const lr = await train('train.logistic-regression', dir, 'lr', net);
  const mlp = await train('train.mlp', dir, 'mlp', { ...net, hidden: [32, 16], dropout: 0.1 });
  const gbdt = await train('train.gradient-boosting', dir, 'gbdt', {
    ...tabular,
    trees: 300,
    lr: 0.05,
    max_depth: 4,
    min_samples_leaf: 10,
    subsample: 0.8,
    colsample: 0.8,
    early_stopping: { patience: 20 },
  });
  // Larger members of the same families, where the model call is a larger share of a request: a wider MLP and a
  // 1,000-tree ensemble (no early stopping), both within what the credit sample's built-ins accept.
  const wide = await train('train.mlp', dir, 'mlp-wide', { ...net, hidden: [256, 128], dropout: 0.1 });
  const forest = await train('train.gradient-boosting', dir, 'gbdt-1000', {
    ...tabular,
    trees: 1000,
    lr: 0.02,
    max_depth: 6,
    min_samples_leaf: 10,
    subsample: 0.8,
    colsample: 0.8,
  });
  const mf = await train('train.matrix-factorization', dir, 'mf', {
    ratings: writeRatings(dir),
    user: 'userId',
    item: 'movieId',
    rating: 'rating',
    factors: 32,
    epochs: 2,
    lr: 0.01,
    l2: 0.05,
    batch_size: 256,
    seed: 42,
  });
  // A credit application (the sample's second row) and its encoded width per model (the bare server skips encoding).
  const credit = { columns: FEATURES, row: [17, 'rent', 60, 58, 'widow', 'no', 'fixed', 48, 131, 0, 0, 1000, 1658] };
  const width = async (file: string): Promise<number> => {
    const ort = await import('onnxruntime-node');
    const s = await ort.InferenceSession.create(file, { logSeverityLevel: 3 });
    const meta = s.inputMetadata[0];
    const shape = meta && meta.isTensor ? meta.shape : [];
    await s.release();
    const w = shape[1];
    if (typeof w !== 'number') throw new Error(`${file}: no fixed feature width`);
    return w;
  };
  const encoded = async (file: string): Promise<BenchModel['bare']> => {
    const w = await width(file);
    return { features: { type: 'float32', data: Array.from({ length: w }, (_, i) => (i % 3) - 1), width: w } };
  };
  return [
    { name: 'credit logistic regression', onnx: lr, ...credit, bare: await encoded(lr) },
    { name: 'credit MLP 32-16', onnx: mlp, ...credit, bare: await encoded(mlp) },
    { name: 'credit gradient boosting', onnx: gbdt, ...credit, bare: await encoded(gbdt) },
    { name: 'credit MLP 256-128', onnx: wide, ...credit, bare: await encoded(wide) },
    { name: 'credit gradient boosting, 1000 trees', onnx: forest, ...credit, bare: await encoded(forest) },
    {
      name: 'recommender (MF, 32 factors)',
      onnx: mf,
      columns: ['userId', 'movieId'],
      row: [7, 42],
      bare: { user: { type: 'int64', data: [6], width: 1 }, item: { type: 'int64', data: [41], width: 1 } },
    },
  ];
}
