import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracy,
  averagePrecisionAtK,
  catalogueCoverage,
  classificationReport,
  classificationSlices,
  confusionMatrix,
  fairnessGaps,
  hitAtK,
  logLoss,
  MetricInputError,
  ndcgAtK,
  prAuc,
  precisionAtK,
  precisionRecallF1,
  rankingMetrics,
  recallAtK,
  regressionReport,
  rocAuc,
  type Average,
  type Label,
} from '../../../runtime/src/ml/metrics/index.js';
import { assertClose, loadGolden } from './golden.js';

type Prf = Record<string, { precision: number; recall: number; f1: number }>;
interface BinaryCase {
  name: string;
  labels: Label[];
  yTrue: Label[];
  proba: number[][];
  threshold: number;
  accuracy: number;
  averages: Prf;
  roc_auc: number;
  pr_auc: number;
  log_loss: number;
  confusion: number[][];
}
interface MetricsGolden {
  binary: BinaryCase[];
  multiclass: Omit<BinaryCase, 'roc_auc' | 'pr_auc' | 'threshold'> & {
    roc_auc: Record<'macro' | 'weighted', number>;
    pr_auc: Record<'macro' | 'weighted', number>;
  };
  regression: { y: number[]; pred: number[]; rmse: number; mae: number; r2: number };
  ranking: { relevance: number[][]; scores: number[][]; ndcg: Record<string, number[]>; ndcgMean10: number };
  fairness: {
    group: string[];
    yTrue: number[];
    yPred: number[];
    selectionRate: Record<string, number>;
    truePositiveRate: Record<string, number>;
    demographicParityDifference: number;
    equalOpportunityDifference: number;
  };
}

const golden = loadGolden<MetricsGolden>('metrics.json');
const flat = (rows: number[][]) => ({ values: Float64Array.from(rows.flat()), width: rows[0]?.length ?? 0 });

test('binary classification metrics equal sklearn (real data, ties, string labels, threshold)', () => {
  for (const c of golden.binary) {
    const proba = flat(c.proba);
    const rep = classificationReport(c.yTrue, proba, c.labels, { threshold: c.threshold });
    assertClose(rep.accuracy, c.accuracy, `${c.name} accuracy`);
    for (const [avg, want] of Object.entries(c.averages)) {
      const got = rep.averages[avg as Average];
      assertClose(got?.precision, want.precision, `${c.name} precision ${avg}`);
      assertClose(got?.recall, want.recall, `${c.name} recall ${avg}`);
      assertClose(got?.f1, want.f1, `${c.name} f1 ${avg}`);
    }
    assertClose(rep.roc_auc, c.roc_auc, `${c.name} roc_auc`);
    assertClose(rep.pr_auc, c.pr_auc, `${c.name} pr_auc`);
    assertClose(rep.log_loss, c.log_loss, `${c.name} log_loss`);
    assert.deepEqual(rep.confusion.matrix, c.confusion, `${c.name} confusion`);
    assert.equal(rep.precision, rep.averages.binary?.precision);
  }
});

test('multiclass metrics equal sklearn (micro/macro/weighted, one-vs-rest ROC-AUC and PR-AUC, log loss)', () => {
  const c = golden.multiclass;
  const proba = flat(c.proba);
  const rep = classificationReport(c.yTrue, proba, c.labels, { average: 'weighted' });
  assertClose(rep.accuracy, c.accuracy, 'accuracy');
  for (const [avg, want] of Object.entries(c.averages)) {
    const got = rep.averages[avg as Average];
    assertClose(got?.precision, want.precision, `precision ${avg}`);
    assertClose(got?.recall, want.recall, `recall ${avg}`);
    assertClose(got?.f1, want.f1, `f1 ${avg}`);
  }
  assert.equal(rep.f1, rep.averages.weighted?.f1);
  assertClose(rocAuc(c.yTrue, proba, c.labels, 'macro'), c.roc_auc.macro, 'roc macro');
  assertClose(rocAuc(c.yTrue, proba, c.labels, 'weighted'), c.roc_auc.weighted, 'roc weighted');
  assertClose(prAuc(c.yTrue, proba, c.labels, 'macro'), c.pr_auc.macro, 'pr macro');
  assertClose(prAuc(c.yTrue, proba, c.labels, 'weighted'), c.pr_auc.weighted, 'pr weighted');
  assertClose(logLoss(c.yTrue, proba, c.labels), c.log_loss, 'log loss');
  assert.deepEqual(rep.confusion.matrix, c.confusion);
});

test('regression metrics equal sklearn', () => {
  const r = golden.regression;
  const rep = regressionReport(r.y, r.pred);
  assertClose(rep.rmse, r.rmse, 'rmse');
  assertClose(rep.mae, r.mae, 'mae');
  assertClose(rep.r2, r.r2, 'r2');
  assert.equal(regressionReport([2, 2, 2], [2, 2, 2]).r2, 1);
  assert.equal(regressionReport([2, 2, 2], [1, 2, 3]).r2, 0);
});

test('NDCG@k equals sklearn ndcg_score per user and on average', () => {
  const { relevance, scores, ndcg } = golden.ranking;
  for (const [kText, perUser] of Object.entries(ndcg)) {
    const k = Number(kText);
    relevance.forEach((rel, u) => {
      const row = scores[u] as number[];
      const list = row.map((_, i) => i).sort((a, b) => (row[b] as number) - (row[a] as number));
      const gains = new Map(rel.map((g, i) => [i, g] as [number, number]));
      assertClose(ndcgAtK(list, gains, k), perUser[u] as number, `ndcg@${k} user ${u}`);
    });
  }
  const lists = new Map(
    scores.map((row, u) => [u, row.map((_, i) => i).sort((a, b) => (row[b] as number) - (row[a] as number))]),
  );
  const rel = new Map(relevance.map((r, u) => [u, new Map(r.map((g, i) => [i, g] as [number, number]))]));
  assertClose(rankingMetrics(lists, rel, 10, 40)['ndcg@k'], golden.ranking.ndcgMean10, 'mean ndcg@10');
});

test('ranking metrics by their definitions on a worked example', () => {
  const rel = new Map<string, number>([
    ['a', 1],
    ['c', 1],
    ['x', 1],
  ]);
  const list = ['a', 'b', 'c', 'd'];
  assert.equal(precisionAtK(list, rel, 4), 2 / 4);
  assert.equal(recallAtK(list, rel, 4), 2 / 3);
  assert.equal(hitAtK(list, rel, 1), 1);
  assert.equal(hitAtK(['b'], rel, 1), 0);
  // AP@4 = (1/1 + 2/3) / min(4, 3)
  assertClose(averagePrecisionAtK(list, rel, 4), (1 + 2 / 3) / 3, 'ap@4');
  assertClose(ndcgAtK(list, rel, 4), (1 + 1 / Math.log2(4)) / (1 + 1 / Math.log2(3) + 1 / Math.log2(4)), 'ndcg@4');
  assert.equal(
    catalogueCoverage(
      [
        ['a', 'b'],
        ['b', 'c', 'z'],
      ],
      10,
      2,
    ),
    3 / 10,
  );
  const m = rankingMetrics(
    new Map([
      ['u1', list],
      ['u2', ['x']],
    ]),
    new Map([
      ['u1', rel],
      ['u2', new Map([['x', 1]])],
      ['u3', new Map([['q', 0]])],
    ]),
    4,
    8,
  );
  assert.equal(m.users, 2);
  assertClose(m['hit_rate@k'], 1, 'hit rate');
  assertClose(m['precision@k'], (2 / 4 + 1 / 4) / 2, 'mean precision');
});

test('fairness gaps equal fairlearn definitions (computed with sklearn per group)', () => {
  const f = golden.fairness;
  const gaps = fairnessGaps(f.yTrue, f.yPred, f.group, 1);
  for (const g of gaps.groups) {
    assertClose(g.selectionRate, f.selectionRate[g.group] as number, `selection ${g.group}`);
    assertClose(g.truePositiveRate, f.truePositiveRate[g.group] as number, `tpr ${g.group}`);
  }
  assertClose(gaps.demographicParityDifference, f.demographicParityDifference, 'dp difference');
  assertClose(gaps.equalOpportunityDifference, f.equalOpportunityDifference, 'eo difference');
});

test('slices: per-group metrics; undefined metrics are null with a note, never NaN', () => {
  const yTrue = [0, 1, 1, 0, 1, 1];
  const proba = flat([
    [0.9, 0.1],
    [0.2, 0.8],
    [0.6, 0.4],
    [0.3, 0.7],
    [0.1, 0.9],
    [0.4, 0.6],
  ]);
  const s = classificationSlices('g', ['a', 'a', 'a', 'b', 'b', 'b'], yTrue, proba, [0, 1]);
  assert.deepEqual(
    s.groups.map((g) => g.value),
    ['a', 'b'],
  );
  assert.equal(s.groups[0]?.metrics.accuracy, 2 / 3);
  const only = classificationReport(
    [1, 1],
    flat([
      [0.2, 0.8],
      [0.6, 0.4],
    ]),
    [0, 1],
  );
  assert.equal(only.roc_auc, null);
  assert.match(only.notes.join(' '), /roc_auc: ROC-AUC needs both classes/);
  assert.ok(s.fairness);
  assert.throws(() => accuracy([1], [1, 2]), MetricInputError);
  assert.throws(
    () => classificationReport([2], flat([[0.5, 0.5]]), [0, 1]),
    /true label 2 is not one of the model's classes/,
  );
  assert.deepEqual(confusionMatrix(['x', 'y'], ['y', 'y']), [
    [0, 1],
    [0, 1],
  ]);
  assert.deepEqual(precisionRecallF1([0, 0], [0, 0], 'binary', 1, [0, 1]), { precision: 0, recall: 0, f1: 0 });
});
