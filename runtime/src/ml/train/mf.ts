import { tf } from '../backend.js';
import type { MfModel } from '../models/artifact.js';
import type { IndexedInteractions, Interactions } from './interactions.js';

export type { Interactions } from './interactions.js';
import {
  EpochTracker,
  TrainingError,
  checkFinite,
  normal,
  rng,
  shuffled,
  splitRows,
  throwIfAborted,
  yieldToEventLoop,
  YIELD_EVERY,
  type Rng,
  type TrainHooks,
  type TrainOptions,
  type TrainSummary,
} from './loop.js';

/**
 * Matrix factorization with biases, r̂(u,i) = μ + b_u + b_i + p_u·q_i, trained with tfjs by mini-batch SGD on the
 * per-rating objective ½e² + ½λ(‖p_u‖² + ‖q_i‖² + b_u² + b_i²) summed over the batch — the classic Funk-SVD update,
 * applied to a batch at once (each rating's gradient lands on its own rows through a scatter-add, so the step size
 * means the same as in per-rating SGD). Gradients are written out rather than taken by autodiff: the same kernels,
 * fewer of them per batch.
 *
 * Implicit feedback: every observed pair is a positive, each epoch draws `negatives` unobserved items per positive
 * (seeded), and the loss is the logistic loss of σ(b_u + b_i + p_u·q_i).
 */
export interface MfTrainOptions extends TrainOptions {
  factors: number;
  implicit: boolean;
  /** Sampled negatives per positive (implicit). */
  negatives?: number;
  /** Std of the initial factors. */
  initStd?: number;
}

export interface MfTrainResult extends TrainSummary {
  userFactors: Float32Array;
  itemFactors: Float32Array;
  userBias: Float32Array;
  itemBias: Float32Array;
  globalMean: number;
}

/**
 * The biases ride along as two extra columns so one gather and one scatter per side serve factors and biases:
 * user row [p_u, b_u, 1], item row [q_i, 1, b_i]; their dot product is p_u·q_i + b_u + b_i. The constant-1 columns
 * are masked out of the updates. (tfjs spends tens of µs per op on small tensors, so fewer ops is what makes it fast.)
 */
interface MfVars {
  user: tf.Variable;
  item: tf.Variable;
}

function predictRows(pu: tf.Tensor2D, qi: tf.Tensor2D, mu: number): tf.Tensor1D {
  return tf.add<tf.Tensor1D>(tf.sum(tf.mul(pu, qi), 1), mu);
}

/** Draws unobserved items for each positive of `rows`. */
function sampleNegatives(
  data: Interactions,
  rows: Uint32Array,
  per: number,
  seen: Set<number>,
  random: Rng,
): { users: Int32Array; items: Int32Array } {
  const users = new Int32Array(rows.length * per);
  const items = new Int32Array(rows.length * per);
  let k = 0;
  for (const r of rows) {
    const u = data.users[r] ?? 0;
    for (let j = 0; j < per; j++) {
      let item = 0;
      // A few redraws avoid most observed items; a rare collision only adds label noise.
      for (let t = 0; t < 5; t++) {
        item = Math.floor(random() * data.nItems);
        if (!seen.has(u * data.nItems + item)) break;
      }
      users[k] = u;
      items[k] = item;
      k++;
    }
  }
  return { users, items };
}

export async function trainMf(
  data: Interactions,
  opts: MfTrainOptions,
  hooks: TrainHooks = {},
): Promise<MfTrainResult> {
  const n = data.ratings.length;
  if (n === 0) throw new TrainingError('the ratings table has no rows');
  const random = rng(opts.seed);
  const { train, valid } = splitRows(n, opts.validFraction, random);
  const k = opts.factors;
  const std = opts.initStd ?? 0.1;
  let mu = 0;
  if (!opts.implicit) {
    for (const r of train) mu += data.ratings[r] ?? 0;
    mu /= train.length;
  }
  const w = k + 2;
  /** Rows [factors…, bias, 1] (users) or [factors…, 1, bias] (items), factors drawn from N(0, std²). */
  const init = (rows: number, biasAt: number) => {
    const a = new Float32Array(rows * w);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < k; j++) a[r * w + j] = normal(random) * std;
      a[r * w + (biasAt === k ? k + 1 : k)] = 1;
    }
    return a;
  };
  const v: MfVars = {
    // tidy disposes the initial values; the variables (copies) survive it.
    user: tf.tidy(() => tf.variable(tf.tensor2d(init(data.nUsers, k), [data.nUsers, w]), false)),
    item: tf.tidy(() => tf.variable(tf.tensor2d(init(data.nItems, k + 1), [data.nItems, w]), false)),
  };
  const userMask = tf.tensor2d(
    Float32Array.from({ length: w }, (_, j) => (j === k + 1 ? 0 : 1)),
    [1, w],
  );
  const itemMask = tf.tensor2d(
    Float32Array.from({ length: w }, (_, j) => (j === k ? 0 : 1)),
    [1, w],
  );
  const seen = new Set<number>();
  if (opts.implicit) for (let r = 0; r < n; r++) seen.add((data.users[r] ?? 0) * data.nItems + (data.items[r] ?? 0));
  const per = opts.negatives ?? 4;

  const decay = tf.scalar(opts.lr * opts.l2);
  /**
   * The epoch's training loss, summed on the backend as the batches go (the errors before each update, as Keras
   * reports `loss`): reading it once per epoch is far cheaper than a second pass over the training rows.
   */
  let epochLoss: tf.Scalar = tf.scalar(0);
  /** One SGD step on a batch of (user, item, target) triples. */
  const step = (u: Int32Array, i: Int32Array, target: Float32Array) => {
    const next = tf.tidy(() => {
      const ui = tf.tensor2d(u, [u.length, 1], 'int32');
      const ii = tf.tensor2d(i, [i.length, 1], 'int32');
      const pu = tf.gatherND(v.user, ui) as tf.Tensor2D;
      const qi = tf.gatherND(v.item, ii) as tf.Tensor2D;
      const pred = predictRows(pu, qi, mu);
      const y = tf.tensor1d(target);
      const err = opts.implicit ? tf.sub(y, tf.sigmoid(pred)) : tf.sub(y, pred);
      const loss = opts.implicit ? tf.sum(tf.sub(tf.softplus(pred), tf.mul(y, pred))) : tf.sum(tf.square(err));
      // e·lr per rating; the update of a row is lr·(e·other − λ·own), masked to leave the constant columns alone.
      const e = tf.expandDims(tf.mul(err, opts.lr), 1);
      const du = tf.mul(tf.sub(tf.mul(e, qi), tf.mul(decay, pu)), userMask);
      const di = tf.mul(tf.sub(tf.mul(e, pu), tf.mul(decay, qi)), itemMask);
      // scatterND sums the updates of repeated indices (a user who rated several items of the batch); the wasm
      // backend has it, unlike unsortedSegmentSum (and so unlike gather's gradient).
      v.user.assign(tf.add(v.user, tf.scatterND(ui, du, [data.nUsers, w])));
      v.item.assign(tf.add(v.item, tf.scatterND(ii, di, [data.nItems, w])));
      return tf.add<tf.Scalar>(epochLoss, loss);
    });
    epochLoss.dispose();
    epochLoss = next;
  };

  /** Mean squared error (explicit) or mean logistic loss (implicit) of the current factors on `rows` (+ negatives). */
  const evaluate = (rows: Uint32Array, negatives?: { users: Int32Array; items: Int32Array }): number => {
    let total = 0;
    let count = 0;
    const run = (u: Int32Array, i: Int32Array, target: Float32Array) => {
      for (let s = 0; s < u.length; s += 16384) {
        const end = Math.min(u.length, s + 16384);
        total += tf.tidy(() => {
          const pu = tf.gather(v.user, tf.tensor1d(u.subarray(s, end), 'int32')) as tf.Tensor2D;
          const pred = predictRows(pu, tf.gather(v.item, tf.tensor1d(i.subarray(s, end), 'int32')) as tf.Tensor2D, mu);
          const y = tf.tensor1d(target.subarray(s, end));
          const l = opts.implicit
            ? tf.sum(tf.sub(tf.softplus(pred), tf.mul(y, pred)))
            : tf.sum(tf.square(tf.sub(y, pred)));
          return l.dataSync()[0] ?? NaN;
        });
      }
      count += u.length;
    };
    run(
      Int32Array.from(rows, (r) => data.users[r] ?? 0),
      Int32Array.from(rows, (r) => data.items[r] ?? 0),
      opts.implicit ? new Float32Array(rows.length).fill(1) : Float32Array.from(rows, (r) => data.ratings[r] ?? 0),
    );
    if (negatives) run(negatives.users, negatives.items, new Float32Array(negatives.users.length));
    return total / count;
  };

  const take = (): Omit<MfTrainResult, keyof TrainSummary | 'globalMean'> => {
    const split = (rows: Float32Array, n: number, biasAt: number) => {
      const factors = new Float32Array(n * k);
      const bias = new Float32Array(n);
      for (let r = 0; r < n; r++) {
        factors.set(rows.subarray(r * w, r * w + k), r * k);
        bias[r] = rows[r * w + biasAt] ?? 0;
      }
      return { factors, bias };
    };
    const us = split(v.user.dataSync() as Float32Array, data.nUsers, k);
    const it = split(v.item.dataSync() as Float32Array, data.nItems, k + 1);
    return { userFactors: us.factors, itemFactors: it.factors, userBias: us.bias, itemBias: it.bias };
  };
  // Validation negatives are drawn once, so val_loss compares like with like across epochs.
  const validNegatives =
    opts.implicit && valid.length > 0 ? sampleNegatives(data, valid, per, seen, random) : undefined;
  const tracker = new EpochTracker(opts, hooks, take);

  try {
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      epochLoss.dispose();
      epochLoss = tf.scalar(0);
      let seenRows = 0;
      const order = shuffled(train.length, random);
      const rows = Uint32Array.from(order, (o) => train[o] ?? 0);
      let negatives: { users: Int32Array; items: Int32Array } | undefined;
      if (opts.implicit) negatives = sampleNegatives(data, rows, per, seen, random);
      for (let s = 0, b = 0; s < rows.length; s += opts.batchSize, b++) {
        if (b % YIELD_EVERY === 0) await yieldToEventLoop();
        throwIfAborted(hooks.signal);
        const batch = rows.subarray(s, Math.min(rows.length, s + opts.batchSize));
        let u = Int32Array.from(batch, (r) => data.users[r] ?? 0);
        let i = Int32Array.from(batch, (r) => data.items[r] ?? 0);
        let y = opts.implicit
          ? new Float32Array(batch.length).fill(1)
          : Float32Array.from(batch, (r) => data.ratings[r] ?? 0);
        if (negatives) {
          // Each positive travels with its own negatives, so a batch holds (1 + per) × batch rows.
          const nu = negatives.users.subarray(s * per, (s + batch.length) * per);
          const ni = negatives.items.subarray(s * per, (s + batch.length) * per);
          u = Int32Array.from([...u, ...nu]);
          i = Int32Array.from([...i, ...ni]);
          y = Float32Array.from([...y, ...new Float32Array(nu.length)]);
        }
        step(u, i, y);
        seenRows += u.length;
      }
      const trainLoss = (epochLoss.dataSync()[0] ?? NaN) / seenRows;
      checkFinite(trainLoss, 'the training loss', epoch);
      const metrics: Record<string, number> = { loss: trainLoss };
      if (!opts.implicit) metrics['rmse'] = Math.sqrt(trainLoss);
      if (valid.length > 0) {
        const vl = evaluate(valid, validNegatives);
        metrics['val_loss'] = vl;
        if (!opts.implicit) metrics['val_rmse'] = Math.sqrt(vl);
      }
      if (tracker.endEpoch(epoch, metrics, metrics['val_loss'] ?? trainLoss)) break;
    }
    const { kept, summary } = tracker.finish();
    return { ...kept, globalMean: mu, ...summary };
  } finally {
    for (const t of [v.user, v.item, userMask, itemMask, decay, epochLoss]) t.dispose();
  }
}

/** model.json of a trained MF: the factors and biases with the id maps of its interactions. */
export function mfArtifact(
  ix: IndexedInteractions,
  result: MfTrainResult,
  o: { columns: MfModel['columns']; factors: number; implicit: boolean; backend: string; seed: number },
): MfModel {
  return {
    format: 'cairn-model',
    formatVersion: 1,
    kind: 'matrix-factorization',
    implicit: o.implicit,
    columns: o.columns,
    factors: o.factors,
    users: ix.users,
    items: ix.items,
    userFactors: Array.from(result.userFactors),
    itemFactors: Array.from(result.itemFactors),
    userBias: Array.from(result.userBias),
    itemBias: Array.from(result.itemBias),
    globalMean: result.globalMean,
    ...(o.implicit ? {} : { clip: ix.ratingRange }),
    backend: o.backend,
    seed: o.seed,
    metrics: result.metrics,
  };
}
