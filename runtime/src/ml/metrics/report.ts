import {
  accuracy,
  confusionMatrix,
  logLoss,
  MetricInputError,
  perClassPrf,
  prAuc,
  precisionRecallF1,
  rocAuc,
  type Average,
  type Label,
  type PerClass,
  type ProbaMatrix,
  type PrfResult,
} from './classification.js';
import { fairnessGaps, type FairnessGaps } from './fairness.js';
import { mae, r2, rmse } from './regression.js';

/**
 * Full evaluation reports (what evaluate.* writes to metrics.json). A metric that is undefined for the data (ROC-AUC
 * with one class present, say) is null with a note saying why — never NaN.
 */
export interface ClassificationReport {
  rows: number;
  labels: Label[];
  positive: Label | null;
  threshold: number | null;
  accuracy: number;
  /** The averaging asked for (`average`), flattened for gates. */
  precision: number;
  recall: number;
  f1: number;
  average: Average;
  averages: Partial<Record<Average, PrfResult>>;
  roc_auc: number | null;
  pr_auc: number | null;
  log_loss: number | null;
  confusion: { labels: Label[]; matrix: number[][] };
  perClass: PerClass[];
  notes: string[];
}

export interface SliceGroup {
  value: string;
  rows: number;
  metrics: Record<string, number | null>;
}

export interface SliceReport {
  column: string;
  groups: SliceGroup[];
  fairness?: FairnessGaps;
}

function attempt(notes: string[], what: string, f: () => number): number | null {
  try {
    const v = f();
    return Number.isFinite(v) ? v : null;
  } catch (error) {
    if (error instanceof MetricInputError) {
      notes.push(`${what}: ${error.message}`);
      return null;
    }
    throw error;
  }
}

/** Predicted labels: binary → positive when its probability ≥ threshold; more classes → the most probable class. */
export function predictLabels(
  proba: ProbaMatrix,
  labels: readonly Label[],
  threshold = 0.5,
  positive?: Label,
): Label[] {
  const n = proba.values.length / proba.width;
  const out: Label[] = new Array<Label>(n);
  if (labels.length === 2) {
    const pos = positive ?? labels[1] ?? '';
    const k = labels.indexOf(pos);
    const neg = labels[1 - k] as Label;
    for (let i = 0; i < n; i++) out[i] = (proba.values[i * proba.width + k] as number) >= threshold ? pos : neg;
    return out;
  }
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < proba.width; j++)
      if ((proba.values[i * proba.width + j] as number) > (proba.values[i * proba.width + best] as number)) best = j;
    out[i] = labels[best] as Label;
  }
  return out;
}

export interface ClassificationOptions {
  positive?: Label;
  threshold?: number;
  average?: Average;
}

export function classificationReport(
  yTrue: readonly Label[],
  proba: ProbaMatrix,
  labels: readonly Label[],
  options: ClassificationOptions = {},
): ClassificationReport {
  if (labels.length !== proba.width)
    throw new MetricInputError(`${labels.length} class labels but ${proba.width} probability columns`);
  const known = new Set(labels);
  const unknown = yTrue.find((y) => !known.has(y));
  if (unknown !== undefined)
    throw new MetricInputError(
      `true label ${String(unknown)} is not one of the model's classes (${labels.join(', ')})`,
    );
  const binary = labels.length === 2;
  const positive = binary ? (options.positive ?? labels[1] ?? '') : null;
  if (positive !== null && !known.has(positive))
    throw new MetricInputError(
      `positive class ${String(positive)} is not one of the model's classes (${labels.join(', ')})`,
    );
  const threshold = binary ? (options.threshold ?? 0.5) : null;
  const yPred = predictLabels(proba, labels, threshold ?? 0.5, positive ?? undefined);
  const notes: string[] = [];
  const averages: Partial<Record<Average, PrfResult>> = {};
  const kinds: Average[] = binary ? ['binary', 'micro', 'macro', 'weighted'] : ['micro', 'macro', 'weighted'];
  for (const a of kinds) averages[a] = precisionRecallF1(yTrue, yPred, a, positive ?? undefined, [...labels]);
  let average = options.average ?? (binary ? 'binary' : 'macro');
  if (average === 'binary' && !binary) {
    notes.push(`average 'binary' needs two classes; macro used for ${labels.length} classes`);
    average = 'macro';
  }
  const chosen = averages[average] as PrfResult;
  return {
    rows: yTrue.length,
    labels: [...labels],
    positive,
    threshold,
    accuracy: accuracy(yTrue, yPred),
    precision: chosen.precision,
    recall: chosen.recall,
    f1: chosen.f1,
    average,
    averages,
    roc_auc: attempt(notes, 'roc_auc', () => rocAuc(yTrue, proba, labels, 'macro', positive ?? undefined)),
    pr_auc: attempt(notes, 'pr_auc', () => prAuc(yTrue, proba, labels, 'macro', positive ?? undefined)),
    log_loss: attempt(notes, 'log_loss', () => logLoss(yTrue, proba, labels)),
    confusion: { labels: [...labels], matrix: confusionMatrix(yTrue, yPred, [...labels]) },
    perClass: perClassPrf(yTrue, yPred, [...labels]),
    notes,
  };
}

function groupsOf(values: readonly string[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  values.forEach((v, i) => {
    const l = m.get(v);
    if (l) l.push(i);
    else m.set(v, [i]);
  });
  return new Map([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Classification metrics per group of a slice column (missing values form the group "(missing)"), with fairness gaps. */
export function classificationSlices(
  column: string,
  groupValues: readonly string[],
  yTrue: readonly Label[],
  proba: ProbaMatrix,
  labels: readonly Label[],
  options: ClassificationOptions = {},
): SliceReport {
  const yPredAll = predictLabels(
    proba,
    labels,
    options.threshold ?? 0.5,
    labels.length === 2 ? (options.positive ?? labels[1]) : undefined,
  );
  const groups: SliceGroup[] = [];
  for (const [value, idx] of groupsOf(groupValues)) {
    const yt = idx.map((i) => yTrue[i] as Label);
    const values = new Float64Array(idx.length * proba.width);
    idx.forEach((i, r) => {
      for (let j = 0; j < proba.width; j++) values[r * proba.width + j] = proba.values[i * proba.width + j] as number;
    });
    const rep = classificationReport(yt, { values, width: proba.width }, labels, options);
    groups.push({
      value,
      rows: idx.length,
      metrics: {
        accuracy: rep.accuracy,
        precision: rep.precision,
        recall: rep.recall,
        f1: rep.f1,
        roc_auc: rep.roc_auc,
        log_loss: rep.log_loss,
      },
    });
  }
  const report: SliceReport = { column, groups };
  if (labels.length === 2)
    report.fairness = fairnessGaps(yTrue, yPredAll, groupValues, options.positive ?? (labels[1] as Label));
  return report;
}

export interface RegressionReport {
  rows: number;
  rmse: number;
  mae: number;
  r2: number;
}

export function regressionReport(y: ArrayLike<number>, p: ArrayLike<number>): RegressionReport {
  return { rows: y.length, rmse: rmse(y, p), mae: mae(y, p), r2: r2(y, p) };
}

export function regressionSlices(
  column: string,
  groupValues: readonly string[],
  y: ArrayLike<number>,
  p: ArrayLike<number>,
): SliceReport {
  const groups: SliceGroup[] = [];
  for (const [value, idx] of groupsOf(groupValues)) {
    const rep = regressionReport(
      idx.map((i) => y[i] as number),
      idx.map((i) => p[i] as number),
    );
    groups.push({ value, rows: idx.length, metrics: { rmse: rep.rmse, mae: rep.mae, r2: rep.r2 } });
  }
  return { column, groups };
}
