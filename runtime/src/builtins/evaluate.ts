import { writeFile } from 'node:fs/promises';
import { registerBuiltins } from './index.js';
import { StepError, type BuiltinContext } from './types.js';
import { cellText, DataError, getColumn, isMissing, readTable } from '../ml/data/index.js';
import { asStepErrors, builtinSpec as spec, parseOptions } from './support.js';
import {
  classificationReport,
  classificationSlices,
  MetricInputError,
  mae,
  rankingMetrics,
  regressionReport,
  regressionSlices,
  rmse,
  type ProbaMatrix,
  type SliceReport,
} from '../ml/metrics/index.js';
import type { BuiltinOptions, RankingMetricName } from '@cairn/protocol';
import { ExplainError } from '../ml/explain/permutation.js';
import { buildExplanations } from '../ml/explain/report.js';
import type { Predictor, RecommenderPredictor, Scores, Table, TabularPredictor } from '../ml/types.js';

/**
 * The evaluate.* built-ins. Models come from `loadPredictor` (runtime/src/ml/models/): Cairn model.json files and
 * .onnx models. `deps.loadPredictor` is replaceable so tests can evaluate a fake predictor.
 */
export const deps: { loadPredictor: (path: string) => Promise<Predictor> } = {
  loadPredictor: async (path) => (await import('../ml/models/index.js')).loadPredictor(path),
};

/** Bad data becomes a StepError: its message (file, line, what to do) is shown as is. */
const userErrors = (f: () => Promise<void>): Promise<void> =>
  asStepErrors(f, [DataError, MetricInputError, ExplainError]);

async function tabular(path: string, task: 'classification' | 'regression'): Promise<TabularPredictor> {
  const p = await deps.loadPredictor(path);
  if (p.kind !== 'tabular') throw new StepError(`${path} is a recommender; evaluate it with evaluate.ranking`);
  if (p.task !== task) throw new StepError(`${path} is a ${p.task} model; use evaluate.${p.task}`);
  return p;
}

function labelsOf(table: Table, target: string, file: string): string[] {
  const col = getColumn(table, target, file);
  const out: string[] = [];
  for (let i = 0; i < table.rowCount; i++) {
    const t = cellText(col, i);
    if (t === null)
      throw new DataError(
        `the target '${target}' is missing on line ${i + 2}; drop or fill unlabelled rows before evaluating`,
        file,
        i + 2,
      );
    out.push(t);
  }
  return out;
}

function sliceValues(table: Table, column: string, file: string): string[] {
  const col = getColumn(table, column, file);
  return Array.from({ length: table.rowCount }, (_, i) => cellText(col, i) ?? '(missing)');
}

function checkScores(s: Scores, rows: number, width: number, path: string): void {
  if (s.values.length !== rows * s.width)
    throw new StepError(`${path} returned ${s.values.length} scores for ${rows} rows`);
  if (s.width !== width) throw new StepError(`${path} returned ${s.width} scores per row; expected ${width}`);
  for (let i = 0; i < s.values.length; i++) {
    if (!Number.isFinite(s.values[i]))
      throw new StepError(
        `${path} returned a non-finite score for row ${Math.floor(i / s.width) + 1}; check the input values of that row`,
      );
  }
}

/** `explain: true`: explanations.json next to metrics.json (runtime/src/ml/explain/report.ts). */
async function writeExplanations(
  ctx: BuiltinContext,
  o: BuiltinOptions<'evaluate.classification' | 'evaluate.regression'>,
  model: TabularPredictor,
  table: Table,
) {
  if (o.explain !== true) return;
  const out = ctx.outputs.explanations;
  if (!out) throw new StepError("explain: true writes explanations.json: keep `explanations` among the step's outputs");
  const opts = { repeats: o.explain_repeats, rows: o.explain_rows, seed: o.seed };
  const e = await buildExplanations(o.model, o.test, model, table, o.target, opts);
  if (ctx.signal.aborted) return;
  await writeFile(out, JSON.stringify(e, null, 1) + '\n');
  const top = e.importance.features.slice(0, 3).map((f) => `${f.feature} ${f.mean.toFixed(4)}`);
  ctx.log(`explanations: importance (${e.importance.scoring} drop) ${top.join(', ')}${e.note ? `; ${e.note}` : ''}`);
}

async function evaluateClassification(ctx: BuiltinContext): Promise<void> {
  const o = parseOptions(spec('evaluate.classification'), ctx);
  await userErrors(async () => {
    const modelPath = o.model;
    const testPath = o.test;
    const model = await tabular(modelPath, 'classification');
    const table = await readTable(testPath);
    if (table.rowCount === 0) throw new DataError('the test table has no rows', testPath);
    const yTrue = labelsOf(table, o.target, testPath);
    const labels = (model.classes ?? []).map(String);
    if (labels.length < 2)
      throw new StepError(`${modelPath} declares ${labels.length} classes; a classifier needs at least two`);
    let scores = await model.predict(table);
    if (scores.width === 1 && labels.length === 2) {
      // A single sigmoid output is P(second class).
      const v = new Float64Array(scores.values.length * 2);
      for (let i = 0; i < scores.values.length; i++) {
        v[2 * i] = 1 - (scores.values[i] as number);
        v[2 * i + 1] = scores.values[i] as number;
      }
      scores = { values: v, width: 2 };
    }
    checkScores(scores, table.rowCount, labels.length, modelPath);
    const proba: ProbaMatrix = scores;
    const options = {
      positive: typeof o.positive === 'string' || typeof o.positive === 'number' ? String(o.positive) : undefined,
      threshold: o.threshold,
      average: o.average,
    };
    const report = classificationReport(yTrue, proba, labels, options);
    const slices: SliceReport[] = (o.slices ?? []).map((c) =>
      classificationSlices(c, sliceValues(table, c, testPath), yTrue, proba, labels, options),
    );
    if (ctx.signal.aborted) return;
    await writeFile(
      ctx.outputs.report as string,
      JSON.stringify({ model: modelPath, test: testPath, ...report, slices }, null, 1) + '\n',
    );
    await writeExplanations(ctx, o, model, table);
    for (const key of ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'pr_auc', 'log_loss'] as const) {
      const v = report[key];
      if (v !== null) ctx.metric(key, v);
    }
    const dp = slices.map((s) => s.fairness?.demographicParityDifference).filter((v): v is number => v !== undefined);
    const eo = slices
      .map((s) => s.fairness?.equalOpportunityDifference)
      .filter((v): v is number => typeof v === 'number');
    // With several slice columns the gate sees the worst gap.
    if (dp.length) ctx.metric('demographic_parity_difference', Math.max(...dp));
    if (eo.length) ctx.metric('equal_opportunity_difference', Math.max(...eo));
    for (const n of report.notes) ctx.log(`note: ${n}`);
    ctx.log(
      `accuracy ${report.accuracy.toFixed(4)}, f1 (${report.average}) ${report.f1.toFixed(4)}, roc_auc ${report.roc_auc?.toFixed(4) ?? 'n/a'}`,
    );
  });
}

async function evaluateRegression(ctx: BuiltinContext): Promise<void> {
  const o = parseOptions(spec('evaluate.regression'), ctx);
  await userErrors(async () => {
    const modelPath = o.model;
    const testPath = o.test;
    const model = await tabular(modelPath, 'regression');
    const table = await readTable(testPath);
    if (table.rowCount === 0) throw new DataError('the test table has no rows', testPath);
    const col = getColumn(table, o.target, testPath);
    if (col.type === 'string')
      throw new DataError(`the target '${col.name}' holds text; a regression target must be numeric`, testPath);
    for (let i = 0; i < table.rowCount; i++)
      if (isMissing(col, i))
        throw new DataError(`the target '${col.name}' is missing on line ${i + 2}`, testPath, i + 2);
    const scores = await model.predict(table);
    checkScores(scores, table.rowCount, 1, modelPath);
    const report = regressionReport(col.values, scores.values);
    const slices = (o.slices ?? []).map((c) =>
      regressionSlices(c, sliceValues(table, c, testPath), col.values, scores.values),
    );
    if (ctx.signal.aborted) return;
    await writeFile(
      ctx.outputs.report as string,
      JSON.stringify({ model: modelPath, test: testPath, ...report, slices }, null, 1) + '\n',
    );
    await writeExplanations(ctx, o, model, table);
    ctx.metric('rmse', report.rmse);
    ctx.metric('mae', report.mae);
    ctx.metric('r2', report.r2);
  });
}

function ids(table: Table, name: string, file: string): Array<string | number> {
  const col = getColumn(table, name, file);
  return Array.from({ length: table.rowCount }, (_, i) => {
    const t = cellText(col, i);
    if (t === null) throw new DataError(`column '${name}' is missing a value on line ${i + 2}`, file, i + 2);
    return col.type === 'string' ? t : (col.values[i] as number);
  });
}

async function evaluateRanking(ctx: BuiltinContext): Promise<void> {
  const o = parseOptions(spec('evaluate.ranking'), ctx);
  await userErrors(async () => {
    const testPath = o.test;
    const k = o.k;
    const wanted = o.metrics as string[];
    const test = await readTable(testPath);
    if (test.rowCount === 0) throw new DataError('the test table has no rows', testPath);
    const users = ids(test, o.user, testPath);
    const items = ids(test, o.item, testPath);
    const ratingCol = getColumn(test, o.rating, testPath);
    if (ratingCol.type === 'string')
      throw new DataError(`rating column '${ratingCol.name}' holds text; it must be numeric`, testPath);
    const ratings = ratingCol.values;
    const relevant = new Map<string, Map<string, number>>();
    const userIds = new Map<string, string | number>();
    for (let i = 0; i < test.rowCount; i++) {
      const u = String(users[i]);
      if (!relevant.has(u)) relevant.set(u, new Map());
      userIds.set(u, users[i] as string | number);
      if ((ratings[i] as number) >= o.relevance) relevant.get(u)?.set(String(items[i]), 1);
    }
    const exclude = new Map<string | number, Set<string | number>>();
    const needSplit = wanted.includes('rmse_known') || wanted.includes('rmse_cold');
    let known: Uint8Array | undefined;
    if (o.train) {
      const trainPath = o.train;
      const train = await readTable(trainPath);
      const tu = ids(train, o.user, trainPath);
      const ti = ids(train, o.item, trainPath);
      tu.forEach((u, i) => {
        const s = exclude.get(u) ?? new Set();
        s.add(ti[i] as string | number);
        exclude.set(u, s);
      });
      // A known row: its user and its item both have training ratings; every other row is a cold-start row.
      const trainUsers = new Set(tu.map(String));
      const trainItems = new Set(ti.map(String));
      known = Uint8Array.from(users, (u, i) => (trainUsers.has(String(u)) && trainItems.has(String(items[i])) ? 1 : 0));
    } else if (needSplit) {
      throw new StepError(
        'rmse_known and rmse_cold tell known rows from cold-start ones by the training ratings: give `train:` (the training interactions)',
      );
    }
    if (wanted.includes('lift_ndcg@k') && o.models.length < 2)
      throw new StepError('lift_ndcg@k compares the first model with the baselines: list at least two `models:`');
    const evalUsers = [...relevant.entries()]
      .filter(([, r]) => r.size > 0)
      .map(([u]) => userIds.get(u) as string | number);
    const results: Array<{ model: string; metrics: Record<string, number> }> = [];
    for (const modelPath of o.models) {
      const p = await deps.loadPredictor(modelPath);
      if (p.kind !== 'recommender')
        throw new StepError(
          `${modelPath} is a tabular model; evaluate.ranking needs a recommender (matrix factorization, popularity, content-based, hybrid)`,
        );
      results.push({
        model: modelPath,
        metrics: await rankModel(p, { users, items, ratings, known, evalUsers, relevant, exclude, k, wanted }),
      });
      if (ctx.signal.aborted) return;
    }
    const candidate = results[0] as { model: string; metrics: Record<string, number> };
    if (wanted.includes('lift_ndcg@k')) {
      const ndcg = `ndcg@${k}`;
      const best = Math.max(...results.slice(1).map((r) => r.metrics[ndcg] ?? -Infinity));
      candidate.metrics[`lift_ndcg@${k}`] = (candidate.metrics[ndcg] ?? 0) - best;
    }
    await writeFile(
      ctx.outputs.report as string,
      JSON.stringify({ test: testPath, k, relevance: o.relevance, users: evalUsers.length, models: results }, null, 1) +
        '\n',
    );
    for (const [name, v] of Object.entries(candidate.metrics)) ctx.metric(name, v);
    for (const r of results)
      ctx.log(
        `${r.model}: ${Object.entries(r.metrics)
          .map(([n, v]) => `${n} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
          .join(', ')}`,
      );
  });
}

const listMetricNames: ReadonlySet<RankingMetricName> = new Set([
  'precision@k',
  'recall@k',
  'f1@k',
  'ndcg@k',
  'map@k',
  'hit_rate@k',
  'coverage',
]);

async function rankModel(
  p: RecommenderPredictor,
  d: {
    users: Array<string | number>;
    items: Array<string | number>;
    ratings: Float64Array;
    /** 1 where the row's user and item have training ratings (when `train` is given). */
    known: Uint8Array | undefined;
    evalUsers: Array<string | number>;
    relevant: Map<string, Map<string, number>>;
    exclude: Map<string | number, Set<string | number>>;
    k: number;
    wanted: string[];
  },
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const need = new Set(d.wanted);
  if (need.has('rmse') || need.has('mae') || need.has('rmse_known') || need.has('rmse_cold')) {
    const pred = await p.score(d.users, d.items);
    if (need.has('rmse')) out.rmse = rmse(d.ratings, pred);
    if (need.has('mae')) out.mae = mae(d.ratings, pred);
    if ((need.has('rmse_known') || need.has('rmse_cold')) && d.known) {
      const split = (want: number) => {
        const y: number[] = [];
        const yhat: number[] = [];
        d.known?.forEach((kn, i) => {
          if (kn === want) {
            y.push(d.ratings[i] ?? 0);
            yhat.push(pred[i] ?? 0);
          }
        });
        return { y, yhat };
      };
      const kn = split(1);
      const cold = split(0);
      out.known_rows = kn.y.length;
      out.cold_rows = cold.y.length;
      // An empty side has no RMSE: it is left out rather than reported as NaN.
      if (need.has('rmse_known') && kn.y.length) out.rmse_known = rmse(kn.y, kn.yhat);
      if (need.has('rmse_cold') && cold.y.length) out.rmse_cold = rmse(cold.y, cold.yhat);
    }
  }
  const listMetrics = d.wanted.filter((m): m is RankingMetricName => listMetricNames.has(m as RankingMetricName));
  if (need.has('lift_ndcg@k') && !listMetrics.includes('ndcg@k')) listMetrics.push('ndcg@k');
  if (listMetrics.length) {
    const recs = await p.recommend(d.evalUsers, d.k, d.exclude);
    const lists = new Map(d.evalUsers.map((u, i) => [String(u), (recs[i] ?? []).map(String)]));
    const m = rankingMetrics(lists, d.relevant, d.k, p.catalogue().length);
    for (const name of listMetrics) {
      const v = m[name as keyof typeof m];
      out[name === 'coverage' ? name : name.replace('@k', `@${d.k}`)] = v;
    }
  }
  return out;
}

registerBuiltins({
  'evaluate.classification': evaluateClassification,
  'evaluate.regression': evaluateRegression,
  'evaluate.ranking': evaluateRanking,
});
