import { readFile, writeFile } from 'node:fs/promises';
import type { BuiltinOptions } from '@cairn/protocol';
import { registerBuiltins } from './index.js';
import { StepError, type BuiltinContext } from './types.js';
import { initBackend } from '../ml/backend.js';
import { DataError, applyTransform, parseTransform, readTable, type FittedTransform } from '../ml/data/index.js';
import { builtinSpec as spec, parseOptions } from './support.js';
import type { PopularityModel, TabularModel } from '../ml/models/artifact.js';
import { EncodingError, applyEncoding, fitEncoding } from '../ml/models/encoding.js';
import { mfToOnnx, tabularToOnnx } from '../ml/onnx/export.js';
import { readItemFeatures, trainContent, type ContentFeatureOptions, type ItemFeatures } from '../ml/train/content.js';
import { trainHybrid } from '../ml/train/hybrid.js';
import { columnOf, indexInteractions, ratingRows } from '../ml/train/interactions.js';
import { rmse } from '../ml/metrics/index.js';
import { contentPredictor } from '../ml/models/recommender.js';
import {
  TrainingCancelled,
  TrainingError,
  type TrainHooks,
  type TrainOptions,
  type TrainSummary,
} from '../ml/train/loop.js';
import { trainGbdt } from '../ml/train/gbdt.js';
import { mfArtifact, trainMf } from '../ml/train/mf.js';
import { trainPopularity } from '../ml/train/popularity.js';
import { trainTabular } from '../ml/train/tabular.js';
import { encodedMeans } from '../ml/explain/contributions.js';
import type { Table } from '../ml/types.js';

/**
 * The train.* built-ins: read the table, train on the best tfjs backend (recorded as the run's `backend` tag), stream
 * per-epoch metrics (x = epoch), then record the kept epoch's metrics once more, at that epoch, as the step's summary
 * values (what gates and model cards read), and write model.json (+ model.onnx).
 */

/** The optimizer options every network trainer (tabular, MF, hybrid) shares in the catalogue. */
type Knobs = Pick<
  BuiltinOptions<'train.logistic-regression'>,
  'epochs' | 'lr' | 'l2' | 'batch_size' | 'seed' | 'valid_fraction' | 'early_stopping'
>;

function trainOptions(o: Knobs): TrainOptions {
  const es = o.early_stopping;
  return {
    epochs: o.epochs,
    lr: o.lr,
    l2: o.l2,
    batchSize: o.batch_size,
    seed: o.seed,
    validFraction: o.valid_fraction,
    ...(es ? { earlyStopping: { patience: es.patience, minDelta: es.min_delta } } : {}),
  };
}

function hooks(ctx: BuiltinContext): TrainHooks {
  return {
    signal: ctx.signal,
    log: (l) => ctx.log(l),
    onEpoch: (epoch, metrics) => {
      for (const [k, v] of Object.entries(metrics)) ctx.metric(k, v, epoch);
      ctx.log(
        `epoch ${epoch}: ${Object.entries(metrics)
          .map(([k, v]) => `${k} ${v.toFixed(4)}`)
          .join(', ')}`,
      );
    },
  };
}

async function backend(ctx: BuiltinContext): Promise<string> {
  const b = await initBackend();
  ctx.tag('backend', b.name);
  ctx.log(`training on ${b.name}${b.skipped.length ? ` (not available: ${b.skipped.join('; ')})` : ''}`);
  return b.name;
}

function summarize(ctx: BuiltinContext, s: TrainSummary): void {
  // At the kept epoch's x: the summary is the step's latest value (gates, cards) and lands on its own point in charts.
  for (const [k, v] of Object.entries(s.metrics)) ctx.metric(k, v, s.bestEpoch);
  if (s.stoppedEarly) ctx.log(`kept the weights of epoch ${s.bestEpoch} of ${s.epochsRun}`);
}

async function writeJson(file: string | undefined, value: unknown): Promise<void> {
  if (file) await writeFile(file, JSON.stringify(value) + '\n');
}

/** Runs a step body, turning errors the user can fix into StepErrors and a cancellation into a quiet return. */
async function guarded(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof TrainingCancelled) return;
    if (error instanceof DataError || error instanceof EncodingError || error instanceof TrainingError)
      throw new StepError(error.message);
    throw error;
  }
}

/** Class labels in a stable order: numbers ascending, else text ascending. */
function classesOf(table: Table, target: string, file: string): { classes: Array<string | number>; y: Float64Array } {
  const col = table.columns.find((c) => c.name === target);
  if (!col)
    throw new TrainingError(
      `${file}: no target column "${target}" (the columns are ${table.columns.map((c) => c.name).join(', ')})`,
    );
  const labels: Array<string | number> = [];
  for (let r = 0; r < table.rowCount; r++) {
    const v = col.type === 'string' ? col.values[r] : col.missing?.[r] ? null : col.values[r];
    if (v === null || v === undefined)
      throw new TrainingError(
        `${file}:${r + 2}: the target "${target}" is missing; drop such rows (data.validate drop_missing: true)`,
      );
    labels.push(v);
  }
  const distinct = [...new Set(labels)];
  distinct.sort((a, b) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)),
  );
  const at = new Map(distinct.map((c, i) => [c, i]));
  return { classes: distinct, y: Float64Array.from(labels, (l) => at.get(l) ?? 0) };
}

function regressionTarget(table: Table, target: string, file: string): Float64Array {
  const col = table.columns.find((c) => c.name === target);
  if (!col)
    throw new TrainingError(
      `${file}: no target column "${target}" (the columns are ${table.columns.map((c) => c.name).join(', ')})`,
    );
  if (col.type === 'string')
    throw new TrainingError(
      `${file}: the regression target "${target}" holds text; use task: classification or a numeric column`,
    );
  const y = Float64Array.from(col.values);
  const missing = col.missing?.findIndex((m) => m === 1) ?? -1;
  if (missing >= 0)
    throw new TrainingError(
      `${file}:${missing + 2}: the target "${target}" is missing; drop such rows (data.validate drop_missing: true)`,
    );
  return y;
}

async function readTransform(file: string): Promise<FittedTransform> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new DataError(
      `cannot read the transform (${error instanceof Error ? error.message : String(error)}); give a features.transform \`transform\` output`,
      file,
    );
  }
  return parseTransform(json, file);
}

/** What every tabular trainer reads: the table, its saved transform, the target, and the encoded feature matrix. */
async function tabularInputs(
  name: string,
  o: BuiltinOptions<'train.logistic-regression' | 'train.mlp' | 'train.gradient-boosting'>,
  task: 'classification' | 'regression',
  ctx: BuiltinContext,
) {
  const file = o.train;
  const target = o.target;
  const raw = await readTable(file);
  if (raw.rowCount === 0) throw new TrainingError(`${file}: the training data has no rows`);
  const transform = typeof o.transform === 'string' ? await readTransform(o.transform) : undefined;
  // A saved transform runs first (it passes the target through); the model's own encoding follows.
  const table = transform ? applyTransform(raw, transform, file) : raw;
  const features = o.features ?? table.columns.map((c) => c.name).filter((c) => c !== target);
  const inputColumns = transform
    ? [...new Set(transform.steps.map((s) => s.column))].filter((c) => c !== target)
    : features;
  if (features.includes(target)) throw new TrainingError(`${name}: the target "${target}" is also listed as a feature`);
  if (features.length === 0) throw new TrainingError(`${file}: no feature columns besides the target "${target}"`);
  const labelled =
    task === 'classification'
      ? classesOf(table, target, file)
      : { classes: undefined, y: regressionTarget(table, target, file) };
  const encoding = fitEncoding(table, features);
  const x = applyEncoding(encoding, table);
  ctx.log(
    `${table.rowCount} rows, ${features.length} features → ${encoding.width} inputs${labelled.classes ? `, classes ${labelled.classes.join(', ')}` : ''}`,
  );
  return { target, transform, inputColumns, labelled, encoding, x };
}

function tabularStep(algorithm: 'logistic-regression' | 'mlp') {
  const name = `train.${algorithm}` as const;
  return (ctx: BuiltinContext) =>
    guarded(async () => {
      const o = parseOptions(spec(name), ctx);
      const backendName = await backend(ctx);
      const mlp = algorithm === 'mlp' && 'hidden' in o ? o : undefined; // 'hidden' (default [64, 32]) narrows the type
      const task = mlp ? mlp.task : 'classification';
      const { target, transform, inputColumns, labelled, encoding, x } = await tabularInputs(name, o, task, ctx);
      const result = await trainTabular(
        { x, width: encoding.width, y: labelled.y },
        {
          ...trainOptions(o),
          task,
          classes: labelled.classes?.length ?? 0,
          hidden: mlp ? mlp.hidden : [],
          activation: mlp ? mlp.activation : 'relu',
          dropout: mlp ? mlp.dropout : 0,
        },
        hooks(ctx),
      );
      if (ctx.signal.aborted) return;
      const model: TabularModel = {
        format: 'cairn-model',
        formatVersion: 1,
        kind: 'tabular',
        algorithm,
        task,
        target,
        ...(labelled.classes ? { classes: labelled.classes } : {}),
        ...(result.targetScale ? { targetScale: result.targetScale } : {}),
        inputColumns,
        ...(transform ? { transform } : {}),
        encoding,
        layers: result.layers,
        background: encodedMeans(x, labelled.y.length, encoding.width),
        backend: backendName,
        seed: o.seed,
        metrics: result.metrics,
      };
      summarize(ctx, result);
      await writeJson(ctx.outputs.model, model);
      if (ctx.outputs.onnx) await writeFile(ctx.outputs.onnx, tabularToOnnx(model));
    });
}

/**
 * The model's `backend` for trees: Cairn's own TypeScript booster, no tfjs. Not a run tag: the run's `backend` tag
 * names the tfjs backend its networks trained on.
 */
const GBDT_BACKEND = 'cairn-gbdt';

async function gradientBoosting(ctx: BuiltinContext): Promise<void> {
  await guarded(async () => {
    const name = 'train.gradient-boosting';
    const o = parseOptions(spec(name), ctx);
    const task = o.task;
    const threads = o.threads;
    const { target, transform, inputColumns, labelled, encoding, x } = await tabularInputs(name, o, task, ctx);
    const es = o.early_stopping;
    const result = await trainGbdt(
      { x, width: encoding.width, y: labelled.y },
      {
        task,
        classes: labelled.classes?.length ?? 0,
        trees: o.trees,
        lr: o.lr,
        l2: o.l2,
        growth: o.growth,
        maxDepth: o.max_depth,
        maxLeaves: o.max_leaves,
        minChildWeight: o.min_child_weight,
        minSamplesLeaf: o.min_samples_leaf,
        subsample: o.subsample,
        colsample: o.colsample,
        maxBins: o.max_bins,
        seed: o.seed,
        validFraction: o.valid_fraction,
        threads,
        ...(es ? { earlyStopping: { patience: es.patience, minDelta: es.min_delta } } : {}),
      },
      hooks(ctx),
    );
    if (ctx.signal.aborted) return;
    // The number of boosting rounds kept, beside the kept round's losses (the summary values gates and cards read).
    const metrics = { ...result.metrics, trees: result.bestEpoch };
    const model: TabularModel = {
      format: 'cairn-model',
      formatVersion: 1,
      kind: 'tabular',
      algorithm: 'gradient-boosting',
      task,
      target,
      ...(labelled.classes ? { classes: labelled.classes } : {}),
      inputColumns,
      ...(transform ? { transform } : {}),
      encoding,
      layers: [],
      ensemble: result.ensemble,
      backend: GBDT_BACKEND,
      seed: o.seed,
      metrics,
    };
    summarize(ctx, { ...result, metrics });
    await writeJson(ctx.outputs.model, model);
    if (ctx.outputs.onnx) await writeFile(ctx.outputs.onnx, tabularToOnnx(model));
  });
}

const columnsOf = (
  o: BuiltinOptions<'train.matrix-factorization' | 'train.popularity' | 'train.content-based' | 'train.hybrid'>,
) => ({
  user: o.user,
  item: o.item,
  rating: o.rating,
});

async function matrixFactorization(ctx: BuiltinContext): Promise<void> {
  await guarded(async () => {
    const o = parseOptions(spec('train.matrix-factorization'), ctx);
    const backendName = await backend(ctx);
    const file = o.ratings;
    const columns = columnsOf(o);
    const ix = indexInteractions(await readTable(file), columns, file);
    const implicit = o.implicit;
    ctx.log(
      `${ix.data.ratings.length} interactions, ${ix.data.nUsers} users, ${ix.data.nItems} items, ${o.factors} factors${implicit ? ', implicit' : ''}`,
    );
    const result = await trainMf(ix.data, { ...trainOptions(o), factors: o.factors, implicit }, hooks(ctx));
    if (ctx.signal.aborted) return;
    const model = mfArtifact(ix, result, {
      columns,
      factors: o.factors,
      implicit,
      backend: backendName,
      seed: o.seed,
    });
    summarize(ctx, result);
    await writeJson(ctx.outputs.model, model);
    if (ctx.outputs.onnx) await writeFile(ctx.outputs.onnx, mfToOnnx(model));
  });
}

async function popularity(ctx: BuiltinContext): Promise<void> {
  await guarded(async () => {
    const o = parseOptions(spec('train.popularity'), ctx);
    const file = o.ratings;
    const columns = columnsOf(o);
    const ix = indexInteractions(await readTable(file), columns, file);
    const model: PopularityModel = trainPopularity(ix, columns);
    ctx.log(`${model.items.length} items; most popular: ${model.items.slice(0, 5).join(', ')}`);
    await writeJson(ctx.outputs.model, model);
  });
}

function featureOptions(o: BuiltinOptions<'train.content-based' | 'train.hybrid'>): ContentFeatureOptions {
  return {
    item: o.item,
    genres: o.genres,
    ...(typeof o.title === 'string' ? { title: o.title } : {}),
    separator: o.separator,
    weighting: o.weighting,
    minDf: o.min_df,
  };
}

/** The item features of `items:` tables (default: the ratings table itself). */
async function itemFeatures(
  o: BuiltinOptions<'train.content-based' | 'train.hybrid'>,
  ratings: { table: Table; file: string },
): Promise<Map<string, ItemFeatures>> {
  const files = o.items;
  const tables = files
    ? await Promise.all(files.map(async (file) => ({ table: await readTable(file), file })))
    : [ratings];
  return readItemFeatures(tables, featureOptions(o));
}

async function contentBased(ctx: BuiltinContext): Promise<void> {
  await guarded(async () => {
    const o = parseOptions(spec('train.content-based'), ctx);
    const file = o.ratings;
    const columns = columnsOf(o);
    const table = await readTable(file);
    const ix = indexInteractions(table, columns, file);
    const features = await itemFeatures(o, { table, file });
    const model = trainContent(ix, features, columns, featureOptions(o));
    const predict = contentPredictor(model);
    const fitted = await predict.score(
      Array.from(ix.data.users, (u) => ix.users[u] ?? u),
      Array.from(ix.data.items, (i) => ix.items[i] ?? i),
    );
    const trainRmse = rmse(ix.data.ratings, fitted);
    const cold = model.items.length - ix.items.length;
    ctx.log(
      `${model.items.length} items (${cold} without ratings), ${model.vocabulary.length} terms, ${ix.users.length} user profiles; rating = means + ${model.scale.toFixed(3)} · cosine`,
    );
    ctx.metric('vocabulary', model.vocabulary.length);
    ctx.metric('rmse', trainRmse);
    await writeJson(ctx.outputs.model, model);
  });
}

async function hybrid(ctx: BuiltinContext): Promise<void> {
  await guarded(async () => {
    const o = parseOptions(spec('train.hybrid'), ctx);
    const backendName = await backend(ctx);
    const file = o.ratings;
    const columns = columnsOf(o);
    const table = await readTable(file);
    const rows = ratingRows(table, columns, file);
    let times: Float64Array | undefined;
    if (typeof o.time === 'string') {
      const col = columnOf(table, o.time, file, 'time');
      if (col.type === 'string')
        throw new TrainingError(`${file}: the time column "${o.time}" holds text; give a numeric timestamp column`);
      times = col.values;
    }
    const features = await itemFeatures(o, { table, file });
    const result = await trainHybrid(
      rows,
      times,
      features,
      {
        ...trainOptions(o),
        factors: o.factors,
        columns,
        features: featureOptions(o),
        blendFraction: o.blend_fraction,
        halfLife: o.popularity_half_life,
        k: o.k,
        relevance: o.relevance,
        backend: backendName,
      },
      hooks(ctx),
    );
    if (ctx.signal.aborted) return;
    // The summary at the kept epoch, as the other trainers record it.
    for (const [k, v] of Object.entries(result.metrics)) if (Number.isFinite(v)) ctx.metric(k, v, result.bestEpoch);
    await writeJson(ctx.outputs.model, result.model);
  });
}

registerBuiltins({
  'train.logistic-regression': tabularStep('logistic-regression'),
  'train.mlp': tabularStep('mlp'),
  'train.gradient-boosting': gradientBoosting,
  'train.matrix-factorization': matrixFactorization,
  'train.popularity': popularity,
  'train.content-based': contentBased,
  'train.hybrid': hybrid,
});
