import type { ClassPrediction, ServeInputField, ServeModelInfo } from '@cairn/protocol';
import { loadPredictor } from '../ml/models/index.js';
import type { Column, RecommenderPredictor, Scores, Table, TabularPredictor } from '../ml/types.js';
import { servedExplainer, type Explainer } from './explain.js';
import { inputFields, recommenderFields } from './inputs.js';
import { RequestError } from './request.js';

/** One row's answer: a number (regression, recommender rating), a class prediction, or top-k item ids. */
export type Prediction = number | ClassPrediction | Array<string | number>;

/** A model ready to serve: everything a request needs, swapped as one reference. */
export interface Loaded {
  fields: ServeInputField[];
  info: ServeModelInfo;
  /** The registered version (null: a model file). */
  version: number | null;
  /** Answers for every row of `table`, in order. */
  predict(table: Table): Promise<Prediction[]>;
  /** Recommenders: the same model answering rows of the user column alone with its `k` best items. */
  topK?: (k: number) => Loaded;
  /** Tabular models: per-row contributions for `explain: true` (./explain.ts). */
  explain?: Explainer;
}

export class ServeLoadError extends Error {}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A NaN or infinite score is a model fault, not a number to pass on. */
function finite(v: number | undefined): number {
  if (v === undefined || !Number.isFinite(v)) throw new Error(`the model produced a non-finite score (${String(v)})`);
  return v;
}

function tabular(predictor: TabularPredictor): (table: Table) => Promise<Prediction[]> {
  if (predictor.task === 'regression') {
    return async (table) => {
      const { values, width } = await predictor.predict(table);
      const out = new Array<Prediction>(table.rowCount);
      for (let r = 0; r < table.rowCount; r++) out[r] = finite(values[r * width]);
      return out;
    };
  }
  return async (table) => classify(predictor, await predictor.predict(table), table.rowCount);
}

function classify(predictor: TabularPredictor, { values, width }: Scores, rows: number): Prediction[] {
  const classes = predictor.classes && predictor.classes.length === width ? predictor.classes : undefined;
  const keys = classes ? classes.map(String) : Array.from({ length: width }, (_, j) => String(j));
  const out = new Array<Prediction>(rows);
  for (let r = 0; r < rows; r++) {
    const probabilities: Record<string, number> = {};
    let best = 0;
    for (let j = 0; j < width; j++) {
      const p = finite(values[r * width + j]);
      probabilities[keys[j] ?? String(j)] = p;
      if (p > finite(values[r * width + best])) best = j;
    }
    out[r] = { label: classes?.[best] ?? best, probabilities };
  }
  return out;
}

/** Ids of a request column: numbers or text (compared as text by the predictor, as training did); null is refused. */
function ids(col: Column | undefined, name: string): Array<string | number> {
  if (!col) throw new Error(`the request table has no column "${name}"`);
  const out = new Array<string | number>(col.values.length);
  for (let r = 0; r < col.values.length; r++) {
    const v = col.type === 'string' ? col.values[r] : col.missing?.[r] ? null : col.values[r];
    if (v === null || v === undefined)
      throw new RequestError(
        400,
        'missing_value',
        `row ${r + 1}: column "${name}" is null; send an id (an id the model has not seen gets its fallback score)`,
      );
    out[r] = v;
  }
  return out;
}

function recommender(
  predictor: RecommenderPredictor,
  user: string,
  item: string,
): (table: Table) => Promise<Prediction[]> {
  return async (table) => {
    const scores = await predictor.score(ids(table.columns[0], user), ids(table.columns[1], item));
    return Array.from(scores, (s) => finite(s));
  };
}

/** Top-k: best items first (seen items are not excluded: the server keeps no history); an unknown user gets the model's fallback list. */
function recommendations(
  predictor: RecommenderPredictor,
  user: string,
  k: number,
): (table: Table) => Promise<Prediction[]> {
  return (table) => predictor.recommend(ids(table.columns[0], user), k);
}

/**
 * onnxruntime intra-op threads per served model. One, by measurement (bench:serve:calls, docs/deploy.md "Batching"):
 * on the 2-core machine the serving thread (HTTP, JSON, transform) needs a core, and a second spinning intra-op thread
 * made a 64-row tree batch cost more CPU and more time than one thread did.
 */
export const SERVE_INTRA_OP_THREADS = 1;

/** Loads a model file for serving; a file that does not load, or that cannot be served, is a ServeLoadError. */
export async function loadServedModel(
  file: string,
  registered?: { name: string; version: number },
  intraOpThreads = SERVE_INTRA_OP_THREADS,
): Promise<Loaded> {
  try {
    const predictor = await loadPredictor(file, { intraOpThreads });
    const common = { ...(registered ? { registered } : {}), loadedAt: new Date().toISOString() };
    if (predictor.kind === 'recommender') {
      const cols = await recommenderFields(file);
      const info: ServeModelInfo = { path: file, task: 'recommender', inputs: cols.fields, ...common };
      const version = registered?.version ?? null;
      const userOnly = cols.fields.slice(0, 1);
      const topK = (k: number): Loaded => ({
        fields: userOnly,
        info,
        version,
        predict: recommendations(predictor, cols.user, k),
      });
      return { fields: cols.fields, info, version, predict: recommender(predictor, cols.user, cols.item), topK };
    }
    const fields = await inputFields(file, predictor.inputColumns);
    const classes = predictor.classes;
    const info: ServeModelInfo = {
      path: file,
      task: predictor.task,
      ...(classes ? { classes } : {}),
      inputs: fields,
      ...common,
    };
    const explain = await servedExplainer(file);
    return { fields, info, version: registered?.version ?? null, predict: tabular(predictor), explain };
  } catch (e) {
    throw e instanceof ServeLoadError ? e : new ServeLoadError(message(e));
  }
}
