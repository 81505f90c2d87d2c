import {
  EpochTracker,
  TrainingError,
  checkFinite,
  rng,
  shuffled,
  splitRows,
  throwIfAborted,
  yieldToEventLoop,
  type Rng,
  type TrainHooks,
  type TrainSummary,
} from './loop.js';
import type { GbdtEnsemble, GbdtObjective, GbdtTree } from '../models/artifact.js';
import { NO_DEFAULT } from './gbdtHistogram.js';
import { HistogramPool, type PoolData } from './gbdtThreads.js';

/**
 * Histogram-based gradient-boosted trees on an encoded feature matrix (the XGBoost `hist` / LightGBM /
 * scikit-learn HistGradientBoosting family): each feature is cut into at most 255 quantile bins once, at the cut
 * points scikit-learn's binning picks (tested against its _BinMapper); a tree node's
 * split is found from per-bin gradient / hessian sums; a node's larger child gets its histogram by subtracting the
 * smaller child's from the parent's, so only the smaller one is built from rows. Second-order (Newton) leaf values
 * with L2 regularisation: a leaf holds −lr·G/(H+λ), a split's gain is G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ).
 *
 * Thresholds are float32 values halfway between two training values (or a training value, where a quantile falls
 * inside a run of ties), and a row goes left when x ≤ threshold, so the
 * in-process prediction and ONNX's TreeEnsemble (BRANCH_LEQ on float32 inputs) take the same path for every row.
 */
export interface GbdtData {
  /** Row-major [rows × width] encoded features (no NaN: the saved encoding imputes missing values). */
  x: Float32Array;
  width: number;
  /** Class index per row (classification) or target value (regression). */
  y: Float64Array;
}

export interface GbdtOptions {
  task: 'classification' | 'regression';
  /** Number of classes (classification). */
  classes: number;
  /** Boosting rounds (a multiclass round grows one tree per class). */
  trees: number;
  /** Shrinkage applied to every leaf. */
  lr: number;
  /** L2 regularisation of leaf values (λ). */
  l2: number;
  growth: 'depthwise' | 'leafwise';
  /** Deepest level a leaf may sit at (root = 0); 0: no limit. */
  maxDepth: number;
  /** Most leaves per tree; 0: no limit (depthwise) — leafwise needs one. */
  maxLeaves: number;
  /** Smallest hessian sum of a child (XGBoost's min_child_weight). */
  minChildWeight: number;
  /** Smallest number of rows in a child (scikit-learn's min_samples_leaf). */
  minSamplesLeaf: number;
  /** Share of rows each tree sees, drawn without replacement (1: all). */
  subsample: number;
  /** Share of features each tree may split on (1: all). */
  colsample: number;
  maxBins: number;
  seed: number;
  validFraction: number;
  /** Rounds without a better validation loss before stopping (scikit-learn's n_iter_no_change). */
  earlyStopping?: { patience: number; minDelta: number };
  /** Worker threads building histograms (0 or 1: the calling thread only). */
  threads: number;
  /** Fewest sparse entries a histogram sums before the workers help (default THREADED_ENTRIES; tests lower it). */
  threadedMinEntries?: number;
}

export interface GbdtTrainResult extends TrainSummary {
  ensemble: GbdtEnsemble;
}

/** Per-feature cut points: bin b holds values in (cuts[b-1], cuts[b]]; the last bin is open above. */
interface Binned extends PoolData {
  /** Row-major [rows × width] bin indices (routing rows through splits). */
  bins: Uint8Array;
  /** cuts[f]: float32 thresholds, nbins(f) − 1 of them. */
  cuts: Float32Array[];
}

function binsOf(x: Float32Array, width: number, rows: Uint32Array, maxBins: number): Binned['cuts'] {
  const cuts: Float32Array[] = [];
  const col = new Float32Array(rows.length);
  for (let f = 0; f < width; f++) {
    for (let i = 0; i < rows.length; i++) col[i] = x[(rows[i] ?? 0) * width + f] ?? 0;
    col.sort();
    const distinct: number[] = [];
    for (let i = 0; i < col.length; i++) {
      const v = col[i] ?? 0;
      if (Number.isNaN(v)) throw new TrainingError(`feature column ${f} holds NaN; impute missing values first`);
      if (distinct.length === 0 || distinct[distinct.length - 1] !== v) distinct.push(v);
    }
    // Few distinct values: a cut halfway between each two. Many: scikit-learn's cuts, the midpoint percentiles of
    // the sorted column at 100·j/max_bins (j = 1 … max_bins − 1), equal ones merged.
    const pairs: Array<[number, number]> = [];
    if (distinct.length <= maxBins) {
      for (let d = 0; d + 1 < distinct.length; d++) pairs.push([distinct[d] ?? 0, distinct[d + 1] ?? 0]);
    } else {
      for (let j = 1; j < maxBins; j++) {
        // As numpy computes it (np.linspace steps, then the fraction of n − 1), so the same rows are picked.
        const at = ((j * (100 / maxBins)) / 100) * (col.length - 1);
        const lo = col[Math.floor(at)] ?? 0;
        const hi = col[Math.ceil(at)] ?? lo;
        const last = pairs[pairs.length - 1];
        if (!last || last[0] !== lo || last[1] !== hi) pairs.push([lo, hi]);
      }
    }
    const c: number[] = [];
    for (const [lo, hi] of pairs) {
      const mid = Math.fround(lo + (hi - lo) / 2);
      // lo ≤ mid < hi must hold in float32, or a training value would land in the wrong bin.
      const cut = mid >= hi || mid < lo ? lo : mid;
      if (c.length === 0 || cut > (c[c.length - 1] ?? 0)) c.push(cut);
    }
    cuts.push(Float32Array.from(c));
  }
  return cuts;
}

function binRows(x: Float32Array, width: number, cuts: Float32Array[]): Uint8Array {
  const n = x.length / width;
  const bins = new Uint8Array(n * width);
  for (let f = 0; f < width; f++) {
    const c = cuts[f] ?? new Float32Array(0);
    for (let r = 0; r < n; r++) {
      const v = x[r * width + f] ?? 0;
      // First cut ≥ v: binary search (≤ 254 cuts).
      let lo = 0;
      let hi = c.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (v <= (c[mid] ?? 0)) hi = mid;
        else lo = mid + 1;
      }
      bins[r * width + f] = lo;
    }
  }
  return bins;
}

/**
 * Bins every row with cut points fitted on the `fit` rows, and lists each row's non-default bins per block of
 * features (`blocks` blocks of about equal entry counts; see gbdtHistogram.ts).
 */
export function binData(x: Float32Array, width: number, fit: Uint32Array, maxBins: number, blocks = 1): Binned {
  if (maxBins < 2 || maxBins > 255) throw new TrainingError(`max_bins is ${maxBins}: give 2 to 255`);
  const cuts = binsOf(x, width, fit, maxBins);
  const offsets = new Uint32Array(width + 1);
  for (let f = 0; f < width; f++) offsets[f + 1] = offsets[f]! + (cuts[f]?.length ?? 0) + 1;
  const bins = binRows(x, width, cuts);
  const n = bins.length / width;
  // Default bin: the most frequent on the fitted rows.
  const defaults = new Uint32Array(width);
  const nnz = new Float64Array(width);
  const counts = new Uint32Array(offsets[width]!);
  for (const r of fit) for (let f = 0; f < width; f++) counts[offsets[f]! + bins[r * width + f]!]! += 1;
  for (let f = 0; f < width; f++) {
    let best = offsets[f]!;
    for (let s = offsets[f]!; s < offsets[f + 1]!; s++) if (counts[s]! > counts[best]!) best = s;
    // Without a dominant bin the trick saves little and costs a pass over the feature's bins per histogram.
    const dominant = 2 * counts[best]! >= fit.length;
    defaults[f] = dominant ? best : NO_DEFAULT;
    nnz[f] = dominant ? fit.length - counts[best]! : fit.length;
  }
  // Contiguous feature ranges with about equal entry counts (+1 per feature: its default fill costs too).
  const total = nnz.reduce((a, b) => a + b + 1, 0);
  const ranges: Array<[number, number]> = [];
  let from = 0;
  let seen = 0;
  for (let f = 0; f < width; f++) {
    seen += nnz[f]! + 1;
    if (seen >= ((ranges.length + 1) * total) / blocks && ranges.length < blocks - 1) {
      ranges.push([from, f + 1]);
      from = f + 1;
    }
  }
  ranges.push([from, width]);
  const sparse = ranges.map(([lo, hi]) => {
    const rowStart = new Uint32Array(n + 1);
    for (let r = 0; r < n; r++) {
      let k = 0;
      for (let f = lo; f < hi; f++) if (offsets[f]! + bins[r * width + f]! !== defaults[f]) k++;
      rowStart[r + 1] = rowStart[r]! + k;
    }
    const slots = new Uint32Array(rowStart[n]!);
    for (let r = 0, k = 0; r < n; r++) {
      for (let f = lo; f < hi; f++) {
        const s = offsets[f]! + bins[r * width + f]!;
        if (s !== defaults[f]) slots[k++] = s;
      }
    }
    return { rowStart, slots };
  });
  return { bins, cuts, offsets, defaults, blocks: sparse };
}

/** A split candidate of an open leaf. */
interface Split {
  gain: number;
  feature: number;
  bin: number;
}

interface OpenLeaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  hist: Float64Array;
  split: Split | null;
  /** Order of creation: the depthwise queue and tie-breaks follow it. */
  order: number;
}

/** Training-time tree: split bins beside thresholds (to route binned rows). */
interface GrowingTree extends GbdtTree {
  bin: number[];
  cover: number[];
}

const leafValue = (g: number, h: number, l2: number, lr: number) => (-g / (h + l2)) * lr;

/** Grows one tree on rows[0, rowCount) with the current gradients; reorders `rows` (each leaf owns a range). */
class TreeGrower {
  private readonly width: number;
  private readonly l2: number;
  private readonly scratch: Uint32Array;
  private readonly slots: number;

  constructor(
    private readonly binned: Binned,
    width: number,
    private readonly opts: GbdtOptions,
    private readonly pool: HistogramPool,
  ) {
    this.width = width;
    this.l2 = opts.l2;
    this.scratch = new Uint32Array(binned.bins.length / width);
    this.slots = binned.offsets[width] ?? 0;
  }

  private bestSplit(hist: Float64Array, g: number, h: number, count: number, features: Uint32Array): Split | null {
    const { l2, opts } = this;
    const { offsets } = this.binned;
    const parent = (g * g) / (h + l2);
    let bestGain = 1e-12;
    let bestFeature = -1;
    let bestBin = 0;
    if (count < 2 * opts.minSamplesLeaf || h < 2 * opts.minChildWeight) return null;
    for (let j = 0; j < features.length; j++) {
      const f = features[j] ?? 0;
      const from = offsets[f] ?? 0;
      const to = (offsets[f + 1] ?? 0) - 1;
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let s = from; s < to; s++) {
        const c = hist[3 * s + 2]!;
        // An empty bin moves no row: the same split as the bin before.
        if (c === 0) continue;
        gl += hist[3 * s]!;
        hl += hist[3 * s + 1]!;
        cl += c;
        if (cl < opts.minSamplesLeaf || hl < opts.minChildWeight) continue;
        const cr = count - cl;
        const hr = h - hl;
        if (cr < opts.minSamplesLeaf) break;
        if (hr < opts.minChildWeight) continue;
        const gr = g - gl;
        const gain = (gl * gl) / (hl + l2) + (gr * gr) / (hr + l2) - parent;
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = f;
          bestBin = s - from;
        }
      }
    }
    return bestFeature < 0 ? null : { gain: bestGain, feature: bestFeature, bin: bestBin };
  }

  grow(
    rows: Uint32Array,
    rowCount: number,
    grad: Float64Array,
    hess: Float64Array,
    features: Uint32Array,
  ): GrowingTree {
    const { opts, binned, width } = this;
    const tree: GrowingTree = {
      feature: [-1],
      threshold: [0],
      left: [-1],
      right: [-1],
      value: [0],
      bin: [0],
      cover: [rowCount],
    };
    let g = 0;
    let h = 0;
    for (let i = 0; i < rowCount; i++) {
      const r = rows[i] ?? 0;
      g += grad[r] ?? 0;
      h += hess[r] ?? 0;
    }
    let order = 0;
    const rootHist = this.pool.build(0, rowCount, features, g, h, rowCount);
    const open: OpenLeaf[] = [
      {
        node: 0,
        start: 0,
        end: rowCount,
        depth: 0,
        g,
        h,
        hist: rootHist,
        split: this.bestSplit(rootHist, g, h, rowCount, features),
        order: order++,
      },
    ];
    const leaves: OpenLeaf[] = [];
    const maxLeaves = opts.maxLeaves > 0 ? opts.maxLeaves : Infinity;
    let leafCount = 1;
    while (open.length > 0) {
      // Depthwise: the oldest open leaf (level by level); leafwise: the largest gain.
      let pick = 0;
      if (opts.growth === 'leafwise') {
        for (let i = 1; i < open.length; i++)
          if ((open[i]?.split?.gain ?? -1) > (open[pick]?.split?.gain ?? -1)) pick = i;
      }
      const leaf = open.splice(pick, 1)[0];
      if (!leaf) break;
      const canSplit =
        leaf.split !== null && leafCount < maxLeaves && (opts.maxDepth === 0 || leaf.depth < opts.maxDepth);
      if (!canSplit || !leaf.split) {
        leaves.push(leaf);
        this.pool.release(leaf.hist);
        if (opts.growth === 'leafwise' && leaf.split !== null && leafCount >= maxLeaves) {
          // No more leaves allowed: every open leaf stays a leaf.
          for (const o of open) {
            leaves.push(o);
            this.pool.release(o.hist);
          }
          open.length = 0;
        }
        continue;
      }
      const { feature: f, bin } = leaf.split;
      // Stable partition: rows with bin ≤ split bin first.
      let l = leaf.start;
      let k = 0;
      const bins = binned.bins;
      const scratch = this.scratch;
      for (let i = leaf.start; i < leaf.end; i++) {
        const r = rows[i]!;
        if (bins[r * width + f]! <= bin) rows[l++] = r;
        else scratch[k++] = r;
      }
      rows.set(this.scratch.subarray(0, k), l);
      const mid = l;
      const leftCount = mid - leaf.start;
      const rightCount = leaf.end - mid;
      let gl = 0;
      let hl = 0;
      for (let i = leaf.start; i < mid; i++) {
        const r = rows[i]!;
        gl += grad[r]!;
        hl += hess[r]!;
      }
      const leftSmall = leftCount <= rightCount;
      const smallHist = leftSmall
        ? this.pool.build(leaf.start, mid, features, gl, hl, leftCount)
        : this.pool.build(mid, leaf.end, features, leaf.g - gl, leaf.h - hl, rightCount);
      let bigHist = leaf.hist;
      const bigCount = leftSmall ? rightCount : leftCount;
      if (bigCount * this.pool.entriesPerRow < this.slots / 2) {
        // A small node: building the larger child from its few rows beats a pass over every bin.
        this.pool.release(bigHist);
        bigHist = leftSmall
          ? this.pool.build(mid, leaf.end, features, leaf.g - gl, leaf.h - hl, rightCount)
          : this.pool.build(leaf.start, mid, features, gl, hl, leftCount);
      } else {
        const { offsets } = binned;
        for (let j = 0; j < features.length; j++) {
          const ff = features[j]!;
          for (let s = 3 * offsets[ff]!, to = 3 * offsets[ff + 1]!; s < to; s++) bigHist[s]! -= smallHist[s]!;
        }
      }
      const [leftHist, rightHist] = leftSmall ? [smallHist, bigHist] : [bigHist, smallHist];
      const node = leaf.node;
      const li = tree.feature.length;
      const ri = li + 1;
      tree.feature[node] = f;
      tree.bin[node] = bin;
      tree.threshold[node] = binned.cuts[f]?.[bin] ?? 0;
      tree.left[node] = li;
      tree.right[node] = ri;
      for (let c = 0; c < 2; c++) {
        tree.feature.push(-1);
        tree.threshold.push(0);
        tree.left.push(-1);
        tree.right.push(-1);
        tree.value.push(0);
        tree.bin.push(0);
      }
      tree.cover.push(leftCount, rightCount);
      leafCount++;
      const gr = leaf.g - gl;
      const hr = leaf.h - hl;
      open.push(
        {
          node: li,
          start: leaf.start,
          end: mid,
          depth: leaf.depth + 1,
          g: gl,
          h: hl,
          hist: leftHist,
          split: this.bestSplit(leftHist, gl, hl, leftCount, features),
          order: order++,
        },
        {
          node: ri,
          start: mid,
          end: leaf.end,
          depth: leaf.depth + 1,
          g: gr,
          h: hr,
          hist: rightHist,
          split: this.bestSplit(rightHist, gr, hr, rightCount, features),
          order: order++,
        },
      );
    }
    for (const leaf of leaves) tree.value[leaf.node] = Math.fround(leafValue(leaf.g, leaf.h, this.l2, opts.lr));
    return tree;
  }
}

/** Adds a tree's output to `out[r·stride + k]` for binned rows (training and validation rows). */
function addBinned(
  tree: GrowingTree,
  bins: Uint8Array,
  width: number,
  rows: ArrayLike<number>,
  out: Float64Array,
  stride: number,
  k: number,
): void {
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] ?? 0;
    let n = 0;
    while ((tree.feature[n] ?? -1) >= 0)
      n =
        (bins[r * width + (tree.feature[n] ?? 0)] ?? 0) <= (tree.bin[n] ?? 0)
          ? (tree.left[n] ?? 0)
          : (tree.right[n] ?? 0);
    out[r * stride + k] = (out[r * stride + k] ?? 0) + (tree.value[n] ?? 0);
  }
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Fills grad / hess from the raw scores for output k; returns nothing, reads y. */
function gradients(
  obj: GbdtObjective,
  raw: Float64Array,
  y: Float64Array,
  outputs: number,
  k: number,
  rows: Uint32Array,
  grad: Float64Array,
  hess: Float64Array,
): void {
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] ?? 0;
    if (obj === 'squared_error') {
      grad[r] = (raw[r] ?? 0) - (y[r] ?? 0);
      hess[r] = 1;
    } else if (obj === 'logloss') {
      const p = sigmoid(raw[r] ?? 0);
      grad[r] = p - (y[r] ?? 0);
      hess[r] = Math.max(p * (1 - p), 1e-16);
    } else {
      let max = -Infinity;
      for (let c = 0; c < outputs; c++) max = Math.max(max, raw[r * outputs + c] ?? 0);
      let sum = 0;
      for (let c = 0; c < outputs; c++) sum += Math.exp((raw[r * outputs + c] ?? 0) - max);
      const p = Math.exp((raw[r * outputs + k] ?? 0) - max) / sum;
      grad[r] = p - ((y[r] ?? 0) === k ? 1 : 0);
      hess[r] = Math.max(p * (1 - p), 1e-16);
    }
  }
}

/** Mean loss (MSE or log loss) and MAE / accuracy of raw scores on `rows`. */
function lossOf(
  obj: GbdtObjective,
  raw: Float64Array,
  y: Float64Array,
  outputs: number,
  rows: Uint32Array,
): { loss: number; score: number } {
  let loss = 0;
  let score = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] ?? 0;
    const t = y[r] ?? 0;
    if (obj === 'squared_error') {
      const d = (raw[r] ?? 0) - t;
      loss += d * d;
      score += Math.abs(d);
    } else if (obj === 'logloss') {
      const z = raw[r] ?? 0;
      // log(1 + e^z) − t·z, stable for large |z|.
      loss += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - t * z;
      score += (z > 0 ? 1 : 0) === t ? 1 : 0;
    } else {
      let max = -Infinity;
      let arg = 0;
      for (let c = 0; c < outputs; c++) {
        const v = raw[r * outputs + c] ?? 0;
        if (v > max) {
          max = v;
          arg = c;
        }
      }
      let sum = 0;
      for (let c = 0; c < outputs; c++) sum += Math.exp((raw[r * outputs + c] ?? 0) - max);
      loss += Math.log(sum) + max - (raw[r * outputs + t] ?? 0);
      score += arg === t ? 1 : 0;
    }
  }
  return { loss: loss / rows.length, score: score / rows.length };
}

/** k of n indices drawn without replacement, ascending (rows stay in memory order: faster histograms). */
function sample(n: number, k: number, random: Rng): Uint32Array {
  if (k >= n) return Uint32Array.from({ length: n }, (_, i) => i);
  return shuffled(n, random).slice(0, k).sort();
}

function baseScores(obj: GbdtObjective, y: Float64Array, rows: Uint32Array, outputs: number): number[] {
  if (obj === 'squared_error') {
    let s = 0;
    for (const r of rows) s += y[r] ?? 0;
    return [s / rows.length];
  }
  const counts = new Float64Array(obj === 'logloss' ? 2 : outputs);
  for (const r of rows) counts[y[r] ?? 0]! += 1;
  // Class priors (as scikit-learn starts): a class absent from the rows gets a small share, not log 0.
  const share = (c: number) => Math.min(Math.max((counts[c] ?? 0) / rows.length, 1e-6), 1 - 1e-6);
  if (obj === 'logloss') return [Math.log(share(1) / (1 - share(1)))];
  return Array.from(counts, (_, c) => Math.log(share(c)));
}

const strip = (t: GrowingTree): GbdtTree => ({
  feature: t.feature,
  threshold: t.threshold,
  left: t.left,
  right: t.right,
  value: t.value,
  cover: t.cover,
});

export async function trainGbdt(data: GbdtData, opts: GbdtOptions, hooks: TrainHooks = {}): Promise<GbdtTrainResult> {
  const n = data.y.length;
  if (n === 0) throw new TrainingError('the training data has no rows');
  if (opts.task === 'classification' && opts.classes < 2)
    throw new TrainingError(`the target has ${opts.classes} class: a classifier needs at least two`);
  if (opts.growth === 'leafwise' && opts.maxLeaves <= 0)
    throw new TrainingError('growth: leafwise needs max_leaves (e.g. 31)');
  const objective: GbdtObjective =
    opts.task === 'regression' ? 'squared_error' : opts.classes === 2 ? 'logloss' : 'softmax';
  const outputs = objective === 'softmax' ? opts.classes : 1;
  const random = rng(opts.seed);
  const { train, valid } = splitRows(n, opts.validFraction, random);
  // Row order inside the split does not change the model; memory order makes histogram building faster.
  train.sort();
  const width = data.width;
  const binned = binData(data.x, width, train, opts.maxBins, Math.max(1, Math.min(opts.threads, width)));
  const base = baseScores(objective, data.y, train, outputs);
  const raw = new Float64Array(n * outputs);
  for (let r = 0; r < n; r++) for (let k = 0; k < outputs; k++) raw[r * outputs + k] = base[k] ?? 0;
  const pool = await HistogramPool.create(binned, width, n, opts.threadedMinEntries);
  const { rows, grad, hess } = pool;
  const grower = new TreeGrower(binned, width, opts, pool);
  const trees: GbdtTree[] = [];
  const rowsPerTree = Math.max(1, Math.round(opts.subsample * train.length));
  const featuresPerTree = Math.max(1, Math.round(opts.colsample * width));
  const scoreName = objective === 'squared_error' ? 'mae' : 'accuracy';
  const tracker = new EpochTracker(
    { epochs: opts.trees, ...(opts.earlyStopping ? { earlyStopping: opts.earlyStopping } : {}) },
    hooks,
    () => trees.length,
  );
  try {
    for (let round = 1; round <= opts.trees; round++) {
      if (round % 4 === 0) await yieldToEventLoop();
      throwIfAborted(hooks.signal);
      const picked = sample(train.length, rowsPerTree, random);
      for (let i = 0; i < picked.length; i++) rows[i] = train[picked[i] ?? 0] ?? 0;
      const features = sample(width, featuresPerTree, random);
      const grown: GrowingTree[] = [];
      // Every class's gradients come from the scores before this round (as XGBoost and scikit-learn do).
      for (let k = 0; k < outputs; k++) {
        gradients(objective, raw, data.y, outputs, k, rows.subarray(0, picked.length), grad, hess);
        grown.push(grower.grow(rows, picked.length, grad, hess, features));
      }
      grown.forEach((t, k) => {
        addBinned(t, binned.bins, width, train, raw, outputs, k);
        addBinned(t, binned.bins, width, valid, raw, outputs, k);
        trees.push(strip(t));
      });
      const tr = lossOf(objective, raw, data.y, outputs, train);
      checkFinite(tr.loss, 'the training loss', round);
      const metrics: Record<string, number> = { loss: tr.loss, [scoreName]: tr.score };
      if (valid.length > 0) {
        const va = lossOf(objective, raw, data.y, outputs, valid);
        metrics['val_loss'] = va.loss;
        metrics[`val_${scoreName}`] = va.score;
      }
      if (tracker.endEpoch(round, metrics, metrics['val_loss'] ?? tr.loss)) break;
    }
  } finally {
    await pool.close();
  }
  const { kept, summary } = tracker.finish();
  return { ensemble: { objective, baseScore: base, trees: trees.slice(0, kept), outputs }, ...summary };
}

/** Raw scores [rows × outputs] of an ensemble for an encoded float32 matrix. */
export function rawScores(e: GbdtEnsemble, x: Float32Array, rows: number, width: number): Float64Array {
  const out = new Float64Array(rows * e.outputs);
  for (let r = 0; r < rows; r++) for (let k = 0; k < e.outputs; k++) out[r * e.outputs + k] = e.baseScore[k] ?? 0;
  e.trees.forEach((t, i) => {
    const k = i % e.outputs;
    for (let r = 0; r < rows; r++) {
      let n = 0;
      while ((t.feature[n] ?? -1) >= 0)
        n = (x[r * width + (t.feature[n] ?? 0)] ?? 0) <= (t.threshold[n] ?? 0) ? (t.left[n] ?? 0) : (t.right[n] ?? 0);
      out[r * e.outputs + k] = (out[r * e.outputs + k] ?? 0) + (t.value[n] ?? 0);
    }
  });
  return out;
}

/** Class probabilities [rows × classes] (a binary model gives [1 − p, p]) or predictions [rows × 1]. */
export function predictGbdt(e: GbdtEnsemble, x: Float32Array, rows: number, width: number): Float64Array {
  const raw = rawScores(e, x, rows, width);
  if (e.objective === 'squared_error') return raw;
  if (e.objective === 'logloss') {
    const out = new Float64Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      const p = sigmoid(raw[r] ?? 0);
      out[2 * r] = 1 - p;
      out[2 * r + 1] = p;
    }
    return out;
  }
  const k = e.outputs;
  const out = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, raw[r * k + c] ?? 0);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += out[r * k + c] = Math.exp((raw[r * k + c] ?? 0) - max);
    for (let c = 0; c < k; c++) out[r * k + c] = (out[r * k + c] ?? 0) / sum;
  }
  return out;
}
