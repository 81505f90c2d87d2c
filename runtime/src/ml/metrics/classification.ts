/**
 * Classification metrics, each defined as scikit-learn 1.2 defines it (docs/ml.md, "Metrics"). Labels are strings or
 * numbers; the label set is the sorted union of true and predicted labels unless given (sklearn's unique_labels).
 * Ill-defined ratios (no predicted positives for precision, no true positives for recall) are 0, as sklearn's
 * zero_division default gives (after its warning).
 */

export type Label = string | number;
export type Average = 'binary' | 'micro' | 'macro' | 'weighted';

/** Bad metric input (lengths differ, one class only where two are needed). */
export class MetricInputError extends Error {
  override name = 'MetricInputError';
}

export function compareLabels(a: Label, b: Label): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function uniqueLabels(...arrays: Array<readonly Label[]>): Label[] {
  const set = new Set<Label>();
  for (const a of arrays) for (const v of a) set.add(v);
  return [...set].sort(compareLabels);
}

function sameLength(a: { length: number }, b: { length: number }): void {
  if (a.length !== b.length)
    throw new MetricInputError(`true and predicted values differ in length (${a.length} vs ${b.length})`);
  if (a.length === 0) throw new MetricInputError('no rows to evaluate');
}

/** Share of exact matches. */
export function accuracy(yTrue: readonly Label[], yPred: readonly Label[]): number {
  sameLength(yTrue, yPred);
  let ok = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) ok++;
  return ok / yTrue.length;
}

/** Rows: true label, columns: predicted label, in `labels` order (sklearn's confusion_matrix). */
export function confusionMatrix(
  yTrue: readonly Label[],
  yPred: readonly Label[],
  labels = uniqueLabels(yTrue, yPred),
): number[][] {
  sameLength(yTrue, yPred);
  const index = new Map(labels.map((l, i) => [l, i]));
  const m = labels.map(() => labels.map(() => 0));
  for (let i = 0; i < yTrue.length; i++) {
    const r = index.get(yTrue[i] as Label);
    const c = index.get(yPred[i] as Label);
    if (r !== undefined && c !== undefined) (m[r] as number[])[c] = ((m[r] as number[])[c] ?? 0) + 1;
  }
  return m;
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
const f1Of = (p: number, r: number): number => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

export interface PrfResult {
  precision: number;
  recall: number;
  f1: number;
}

export interface PerClass extends PrfResult {
  label: Label;
  support: number;
}

/** Precision, recall and F1 for every label (one-vs-rest counts). */
export function perClassPrf(
  yTrue: readonly Label[],
  yPred: readonly Label[],
  labels = uniqueLabels(yTrue, yPred),
): PerClass[] {
  const cm = confusionMatrix(yTrue, yPred, labels);
  return labels.map((label, k) => {
    const tp = (cm[k] as number[])[k] ?? 0;
    let predicted = 0;
    let actual = 0;
    for (let j = 0; j < labels.length; j++) {
      predicted += (cm[j] as number[])[k] ?? 0;
      actual += (cm[k] as number[])[j] ?? 0;
    }
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, actual);
    return { label, support: actual, precision, recall, f1: f1Of(precision, recall) };
  });
}

/**
 * sklearn's precision_recall_fscore_support(average=…): binary scores `positive` only; micro pools the counts of all
 * labels; macro is the unweighted mean over labels; weighted weighs each label by its support (true count).
 */
export function precisionRecallF1(
  yTrue: readonly Label[],
  yPred: readonly Label[],
  average: Average,
  positive?: Label,
  labels = uniqueLabels(yTrue, yPred),
): PrfResult {
  const per = perClassPrf(yTrue, yPred, labels);
  if (average === 'binary') {
    if (labels.length > 2)
      throw new MetricInputError(
        `binary averaging needs two classes, found ${labels.length} (${labels.slice(0, 5).join(', ')}…); use micro, macro or weighted`,
      );
    const pos = positive ?? labels[labels.length - 1];
    const c = per.find((p) => p.label === pos);
    if (!c)
      throw new MetricInputError(`the positive class ${String(pos)} is not among the labels (${labels.join(', ')})`);
    return { precision: c.precision, recall: c.recall, f1: c.f1 };
  }
  if (average === 'micro') {
    let tp = 0;
    let predicted = 0;
    let actual = 0;
    const cm = confusionMatrix(yTrue, yPred, labels);
    for (let k = 0; k < labels.length; k++) {
      tp += (cm[k] as number[])[k] ?? 0;
      for (let j = 0; j < labels.length; j++) {
        predicted += (cm[j] as number[])[k] ?? 0;
        actual += (cm[k] as number[])[j] ?? 0;
      }
    }
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, actual);
    return { precision, recall, f1: f1Of(precision, recall) };
  }
  const total = per.reduce((s, p) => s + p.support, 0);
  const w = (p: PerClass) => (average === 'macro' ? 1 / per.length : total === 0 ? 0 : p.support / total);
  return {
    precision: per.reduce((s, p) => s + w(p) * p.precision, 0),
    recall: per.reduce((s, p) => s + w(p) * p.recall, 0),
    f1: per.reduce((s, p) => s + w(p) * p.f1, 0),
  };
}

/** Points of the ROC / PR curves: cumulative true and false positives at each distinct score, highest first. */
function curveCounts(isPos: readonly boolean[], scores: ArrayLike<number>): { tps: number[]; fps: number[] } {
  const order = Array.from({ length: isPos.length }, (_, i) => i).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number),
  );
  const tps: number[] = [];
  const fps: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k] as number;
    if (isPos[i]) tp++;
    else fp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[i]) {
      tps.push(tp);
      fps.push(fp);
    }
  }
  return { tps, fps };
}

/** Area under the ROC curve, trapezoids through every distinct threshold (sklearn's roc_auc_score, binary). */
export function rocAucBinary(isPos: readonly boolean[], scores: ArrayLike<number>): number {
  sameLength(isPos, scores);
  const { tps, fps } = curveCounts(isPos, scores);
  const P = tps[tps.length - 1] ?? 0;
  const N = fps[fps.length - 1] ?? 0;
  if (P === 0 || N === 0)
    throw new MetricInputError('ROC-AUC needs both classes among the true labels; only one is present');
  let area = 0;
  let px = 0;
  let py = 0;
  for (let k = 0; k < tps.length; k++) {
    const x = (fps[k] as number) / N;
    const y = (tps[k] as number) / P;
    area += ((x - px) * (y + py)) / 2;
    px = x;
    py = y;
  }
  return area;
}

/** Average precision Σₙ (Rₙ − Rₙ₋₁) Pₙ over distinct thresholds, highest first (sklearn's average_precision_score). */
export function averagePrecisionBinary(isPos: readonly boolean[], scores: ArrayLike<number>): number {
  sameLength(isPos, scores);
  const { tps, fps } = curveCounts(isPos, scores);
  const P = tps[tps.length - 1] ?? 0;
  if (P === 0) throw new MetricInputError('average precision needs at least one positive true label');
  let ap = 0;
  let prevR = 0;
  for (let k = 0; k < tps.length; k++) {
    const tp = tps[k] as number;
    const r = tp / P;
    const p = tp / (tp + (fps[k] as number));
    ap += (r - prevR) * p;
    prevR = r;
  }
  return ap;
}

/** Row-major class probabilities, `width` classes in `labels` order. */
export interface ProbaMatrix {
  values: ArrayLike<number>;
  width: number;
}

function column(p: ProbaMatrix, k: number): Float64Array {
  const n = p.values.length / p.width;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = p.values[i * p.width + k] as number;
  return out;
}

/**
 * ROC-AUC: binary → the positive class's scores (`labels[1]` unless `positive` is given); more classes →
 * one-vs-rest averaged 'macro' (or 'weighted' by prevalence), as roc_auc_score(multi_class='ovr').
 */
export function rocAuc(
  yTrue: readonly Label[],
  proba: ProbaMatrix,
  labels: readonly Label[],
  average: 'macro' | 'weighted' = 'macro',
  positive?: Label,
): number {
  return binaryOrOvr(yTrue, proba, labels, average, positive, rocAucBinary);
}

/** PR-AUC as average precision; more classes → one-vs-rest macro / weighted average. */
export function prAuc(
  yTrue: readonly Label[],
  proba: ProbaMatrix,
  labels: readonly Label[],
  average: 'macro' | 'weighted' = 'macro',
  positive?: Label,
): number {
  return binaryOrOvr(yTrue, proba, labels, average, positive, averagePrecisionBinary);
}

/** A binary score of the positive class's column (`labels[1]` unless `positive` is given), else one-vs-rest. */
function binaryOrOvr(
  yTrue: readonly Label[],
  proba: ProbaMatrix,
  labels: readonly Label[],
  average: 'macro' | 'weighted',
  positive: Label | undefined,
  binary: (isPos: boolean[], scores: Float64Array) => number,
): number {
  if (labels.length !== 2) return ovrAverage(yTrue, proba, labels, average, binary);
  const pos = positive ?? labels[1] ?? '';
  return binary(
    yTrue.map((y) => y === pos),
    column(proba, labels.indexOf(pos)),
  );
}

function ovrAverage(
  yTrue: readonly Label[],
  proba: ProbaMatrix,
  labels: readonly Label[],
  average: 'macro' | 'weighted',
  f: (isPos: boolean[], s: Float64Array) => number,
): number {
  let sum = 0;
  let wsum = 0;
  labels.forEach((label, k) => {
    const isPos = yTrue.map((y) => y === label);
    const support = isPos.filter(Boolean).length;
    const w = average === 'macro' ? 1 : support;
    sum += w * f(isPos, column(proba, k));
    wsum += w;
  });
  return sum / wsum;
}

/**
 * Mean negative log-likelihood of the true class (sklearn's log_loss): probabilities clipped to [ε, 1−ε] with
 * ε = 2.22e-16, each row renormalised to sum 1.
 */
export function logLoss(yTrue: readonly Label[], proba: ProbaMatrix, labels: readonly Label[]): number {
  const n = yTrue.length;
  if (proba.values.length !== n * proba.width)
    throw new MetricInputError(`${n} labels but ${proba.values.length / proba.width} probability rows`);
  if (labels.length < 2) throw new MetricInputError('log loss needs at least two classes');
  const index = new Map(labels.map((l, i) => [l, i]));
  const eps = 2.220446049250313e-16;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const k = index.get(yTrue[i] as Label);
    if (k === undefined)
      throw new MetricInputError(`label ${String(yTrue[i])} is not one of the model's classes (${labels.join(', ')})`);
    let rowSum = 0;
    for (let j = 0; j < proba.width; j++)
      rowSum += Math.min(Math.max(proba.values[i * proba.width + j] as number, eps), 1 - eps);
    const p = Math.min(Math.max(proba.values[i * proba.width + k] as number, eps), 1 - eps) / rowSum;
    total -= Math.log(p);
  }
  return total / n;
}
