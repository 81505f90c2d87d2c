import { tf } from '../backend.js';
import type { DenseLayer } from '../models/artifact.js';
import {
  EpochTracker,
  TrainingError,
  checkFinite,
  rng,
  shuffled,
  splitRows,
  throwIfAborted,
  yieldToEventLoop,
  YIELD_EVERY,
  type TrainHooks,
  type TrainOptions,
  type TrainSummary,
} from './loop.js';

/**
 * Logistic regression and MLPs on an encoded feature matrix, with tfjs. Logistic regression is the MLP with no hidden
 * layer. The last layer is linear (logits); the output function follows the task: sigmoid for two classes (one
 * output, the probability of the second class), softmax for more, identity for regression (on a standardized target).
 */
export interface TabularData {
  /** Row-major [rows × width] encoded features. */
  x: Float32Array;
  width: number;
  /** Class index per row (classification) or target value (regression). */
  y: Float64Array;
}

export interface TabularTrainOptions extends TrainOptions {
  task: 'classification' | 'regression';
  /** Number of classes (classification). */
  classes: number;
  hidden: number[];
  activation: 'relu' | 'tanh' | 'sigmoid';
  dropout: number;
}

export interface TabularTrainResult extends TrainSummary {
  layers: DenseLayer[];
  targetScale?: { mean: number; std: number };
}

interface LayerVars {
  w: tf.Variable;
  b: tf.Variable;
  activation: DenseLayer['activation'];
}

function activate(x: tf.Tensor2D, a: DenseLayer['activation']): tf.Tensor2D {
  switch (a) {
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'linear':
      return x;
  }
}

/** Logits (or the standardized regression output) of the network. */
export function forwardLogits(
  x: tf.Tensor2D,
  layers: Array<{ w: tf.Tensor; b: tf.Tensor; activation: DenseLayer['activation'] }>,
  dropout?: { rate: number; seed: () => number },
): tf.Tensor2D {
  let h = x;
  layers.forEach((l, i) => {
    h = activate(tf.add<tf.Tensor2D>(tf.matMul(h, l.w), l.b), l.activation);
    if (dropout && dropout.rate > 0 && i < layers.length - 1)
      h = tf.dropout(h, dropout.rate, undefined, dropout.seed()) as tf.Tensor2D;
  });
  return h;
}

/** Output probabilities (classification, [rows × classes]) or predictions ([rows × 1]) from logits. */
export function outputOf(
  logits: tf.Tensor2D,
  task: 'classification' | 'regression',
  classes: number,
  scale?: { mean: number; std: number },
): tf.Tensor2D {
  if (task === 'regression') return scale ? tf.add<tf.Tensor2D>(tf.mul(logits, scale.std), scale.mean) : logits;
  if (classes === 2) {
    const p = tf.sigmoid(logits);
    return tf.concat([tf.sub<tf.Tensor2D>(1, p), p], 1);
  }
  return tf.softmax(logits);
}

export async function trainTabular(
  data: TabularData,
  opts: TabularTrainOptions,
  hooks: TrainHooks = {},
): Promise<TabularTrainResult> {
  const n = data.y.length;
  if (n === 0) throw new TrainingError('the training data has no rows');
  if (opts.task === 'classification' && opts.classes < 2)
    throw new TrainingError(`the target has ${opts.classes} class: a classifier needs at least two`);
  const random = rng(opts.seed);
  const { train, valid } = splitRows(n, opts.validFraction, random);

  let targetScale: { mean: number; std: number } | undefined;
  if (opts.task === 'regression') {
    let s = 0;
    for (const i of train) s += data.y[i] ?? 0;
    const mean = s / train.length;
    let ss = 0;
    for (const i of train) ss += ((data.y[i] ?? 0) - mean) ** 2;
    const std = Math.sqrt(ss / train.length);
    targetScale = { mean, std: std > 1e-12 ? std : 1 };
  }
  const binary = opts.task === 'classification' && opts.classes === 2;
  const outUnits = opts.task === 'regression' || binary ? 1 : opts.classes;

  const sizes = [data.width, ...opts.hidden, outUnits];
  const vars: LayerVars[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l] ?? 1;
    const fanOut = sizes[l + 1] ?? 1;
    const limit = Math.sqrt(6 / (fanIn + fanOut)); // Glorot uniform, drawn from the seeded generator
    const w = new Float32Array(fanIn * fanOut).map(() => (random() * 2 - 1) * limit);
    vars.push({
      // tidy disposes the initial values; the variables (copies) survive it.
      w: tf.tidy(() => tf.variable(tf.tensor2d(w, [fanIn, fanOut]), true)),
      b: tf.tidy(() => tf.variable(tf.zeros([fanOut]), true)),
      activation: l + 2 < sizes.length ? opts.activation : 'linear',
    });
  }

  const xAll = tf.tensor2d(data.x, [n, data.width]);
  const yTarget = (rows: Uint32Array): tf.Tensor => {
    if (opts.task === 'regression') {
      const s = targetScale ?? { mean: 0, std: 1 };
      return tf.tensor2d(
        Float32Array.from(rows, (i) => ((data.y[i] ?? 0) - s.mean) / s.std),
        [rows.length, 1],
      );
    }
    if (binary)
      return tf.tensor2d(
        Float32Array.from(rows, (i) => data.y[i] ?? 0),
        [rows.length, 1],
      );
    return tf.oneHot(
      tf.tensor1d(
        Int32Array.from(rows, (i) => data.y[i] ?? 0),
        'int32',
      ),
      opts.classes,
    );
  };
  const dataLoss = (logits: tf.Tensor2D, y: tf.Tensor): tf.Scalar => {
    if (opts.task === 'regression') return tf.losses.meanSquaredError(y, logits);
    if (binary) return tf.losses.sigmoidCrossEntropy(y, logits);
    return tf.losses.softmaxCrossEntropy(y, logits);
  };
  // Reported losses are in the target's own units: the standardized MSE times std².
  const lossUnit = targetScale ? targetScale.std ** 2 : 1;

  /** Loss and accuracy / MAE of the current weights on `rows`, evaluated in chunks. */
  const evaluate = (rows: Uint32Array): { loss: number; score: number } => {
    let loss = 0;
    let score = 0;
    for (let s = 0; s < rows.length; s += 4096) {
      const chunk = rows.subarray(s, Math.min(rows.length, s + 4096));
      const [l, sc] = tf.tidy(() => {
        const idx = tf.tensor1d(Int32Array.from(chunk), 'int32');
        const logits = forwardLogits(tf.gather<tf.Tensor2D>(xAll, idx), vars);
        const y = yTarget(chunk);
        const lossV = dataLoss(logits, y).mul(chunk.length);
        let scoreV: tf.Tensor;
        if (opts.task === 'regression') scoreV = tf.sum(tf.abs(tf.sub(logits, y))).mul(targetScale?.std ?? 1);
        else if (binary) scoreV = tf.sum(tf.cast(tf.equal(tf.cast(tf.greater(logits, 0), 'float32'), y), 'float32'));
        else scoreV = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'float32'));
        return [lossV.dataSync()[0] ?? NaN, scoreV.dataSync()[0] ?? NaN];
      });
      loss += l;
      score += sc;
    }
    return { loss: (loss / rows.length) * lossUnit, score: score / rows.length };
  };

  const optimizer = tf.train.adam(opts.lr);
  const weights = vars.map((v) => v.w);
  const trainable = vars.flatMap((v) => [v.w, v.b]);
  const scoreName = opts.task === 'regression' ? 'mae' : 'accuracy';
  const dropoutSeed = () => Math.floor(random() * 2 ** 31);

  const takeSnapshot = (): DenseLayer[] =>
    vars.map((v, l) => ({
      inputs: sizes[l] ?? 1,
      units: sizes[l + 1] ?? 1,
      weights: Array.from(v.w.dataSync()),
      bias: Array.from(v.b.dataSync()),
      activation: v.activation,
    }));
  const tracker = new EpochTracker(opts, hooks, takeSnapshot);

  try {
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      const order = shuffled(train.length, random);
      for (let s = 0, b = 0; s < order.length; s += opts.batchSize, b++) {
        if (b % YIELD_EVERY === 0) await yieldToEventLoop();
        throwIfAborted(hooks.signal);
        const batch = Uint32Array.from(
          order.subarray(s, Math.min(order.length, s + opts.batchSize)),
          (k) => train[k] ?? 0,
        );
        tf.tidy(() => {
          const idx = tf.tensor1d(Int32Array.from(batch), 'int32');
          const xb = tf.gather<tf.Tensor2D>(xAll, idx);
          const yb = yTarget(batch);
          optimizer.minimize(
            () => {
              const logits = forwardLogits(
                xb,
                vars,
                opts.dropout > 0 ? { rate: opts.dropout, seed: dropoutSeed } : undefined,
              );
              const loss = dataLoss(logits, yb);
              if (opts.l2 <= 0) return loss;
              return tf.add<tf.Scalar>(loss, tf.mul(opts.l2, tf.addN(weights.map((w) => tf.sum(tf.square(w))))));
            },
            false,
            trainable,
          );
        });
      }
      const tr = evaluate(train);
      const metrics: Record<string, number> = { loss: tr.loss, [scoreName]: tr.score };
      checkFinite(tr.loss, 'the training loss', epoch);
      if (valid.length > 0) {
        const va = evaluate(valid);
        metrics['val_loss'] = va.loss;
        metrics[`val_${scoreName}`] = va.score;
      }
      if (tracker.endEpoch(epoch, metrics, metrics['val_loss'] ?? tr.loss)) break;
    }
    const { kept: layers, summary } = tracker.finish();
    return { layers, ...(targetScale ? { targetScale } : {}), ...summary };
  } finally {
    xAll.dispose();
    optimizer.dispose();
    for (const v of vars) {
      v.w.dispose();
      v.b.dispose();
    }
  }
}

/** Scores of a trained network for an encoded matrix: [rows × classes] probabilities or [rows × 1] predictions. */
export function predictTabular(
  layers: DenseLayer[],
  x: Float32Array,
  rows: number,
  task: 'classification' | 'regression',
  classes: number,
  targetScale?: { mean: number; std: number },
): Float32Array {
  return tf.tidy(() => {
    const ts = layers.map((l) => ({
      w: tf.tensor2d(l.weights, [l.inputs, l.units]),
      b: tf.tensor1d(l.bias),
      activation: l.activation,
    }));
    const width = layers[0]?.inputs ?? 0;
    const out = outputOf(forwardLogits(tf.tensor2d(x, [rows, width]), ts), task, classes, targetScale);
    return out.dataSync() as Float32Array;
  });
}
