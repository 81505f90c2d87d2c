import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { METADATA_KEY } from '../onnx/export.js';
import { DataType, decodeModel, type ModelMsg, type ValueInfoMsg } from '../onnx/schema.js';
import type { Column, Predictor, RecommenderPredictor, Scores, Table, TabularPredictor } from '../types.js';
import { cairnModelSchema, type MfModel } from './artifact.js';
import { applyTransform } from '../data/transform.js';
import { applyEncoding, findColumn } from './encoding.js';
import { topK } from './recommender.js';

/**
 * ONNX models through onnxruntime-node. Cairn's own exports carry their transform and id maps in the `cairn.model`
 * metadata property (runtime/src/ml/onnx/export.ts). Any other model is read with the tabular conventions of
 * docs/ml.md:
 * - inputs: one input per column, named as the column ([N] or [N, 1]; float, double, int64, int32 or string — as
 *   sklearn-onnx writes them), or a single float input [N, F] whose columns are named by the metadata property
 *   `cairn.input_columns` (a JSON array) or by the caller (`inputColumns`);
 * - classifiers: a float output of shape [N, C] (probabilities; named `probabilities`, `output_probability`, or
 *   containing "prob") — convert sklearn models with `zipmap=False` so probabilities are a tensor, not a sequence of
 *   maps. Class labels come from `cairn.classes` metadata, else from the classifier node's `classlabels_*` attribute,
 *   else 0…C-1;
 * - regressors: the first float output, [N] or [N, 1].
 */
export interface OnnxLoadOptions {
  inputColumns?: string[];
  /** onnxruntime's intra-op threads (default: its own, one per core); `cairn serve` picks its own (serve/served.ts). */
  intraOpThreads?: number;
}

export class OnnxModelError extends Error {}

const sessionOptions: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3 };

function meta(m: ModelMsg, k: string): string | undefined {
  return m.metadataProps?.find((p) => p.key === k)?.value;
}

function dims(v: ValueInfoMsg): Array<number | undefined> {
  return (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue !== undefined ? Number(d.dimValue) : undefined));
}

function elemType(v: ValueInfoMsg): number {
  return v.type?.tensorType?.elemType ?? 0;
}

function columnTensor(col: Column, type: number, shape: number[], file: string): ort.Tensor {
  const n = shape[0] ?? 0;
  if (type === DataType.STRING) {
    const vals = col.type === 'string' ? col.values.map((v) => v ?? '') : Array.from(col.values, String);
    return new ort.Tensor('string', vals, shape);
  }
  if (col.type === 'string')
    throw new OnnxModelError(`${file}: input "${col.name}" is numeric in the model but holds text in the data`);
  const missingAt = col.missing?.findIndex((m) => m === 1) ?? -1;
  if (type === DataType.FLOAT || type === DataType.DOUBLE) {
    const data = type === DataType.FLOAT ? Float32Array.from(col.values) : Float64Array.from(col.values);
    // ONNX models take NaN as "missing" (sklearn-onnx imputers do); anything else would invent a value.
    if (col.missing) col.missing.forEach((m, i) => m === 1 && (data[i] = NaN));
    return new ort.Tensor(type === DataType.FLOAT ? 'float32' : 'float64', data, shape);
  }
  if (missingAt >= 0)
    throw new OnnxModelError(
      `${file}: column "${col.name}" has a missing value (row ${missingAt + 1}) but the model takes integers there; impute it first`,
    );
  if (type === DataType.INT64)
    return new ort.Tensor(
      'int64',
      BigInt64Array.from(col.values, (v) => BigInt(Math.round(v))),
      shape,
    );
  if (type === DataType.INT32) return new ort.Tensor('int32', Int32Array.from(col.values), shape);
  throw new OnnxModelError(`${file}: input "${col.name}" has ONNX type ${type}, which Cairn cannot feed (${n} rows)`);
}

function toScores(t: ort.Tensor, rows: number): Scores {
  const d = t.data;
  if (Array.isArray(d)) throw new OnnxModelError('the model returned text where numbers were expected');
  // Float outputs copy without a per-element call; int64 (BigInt) outputs need Number().
  const values =
    d instanceof Float32Array || d instanceof Float64Array
      ? new Float64Array(d)
      : Float64Array.from(d as ArrayLike<number>, Number);
  return { values, width: rows > 0 ? values.length / rows : (t.dims[1] ?? 1) };
}

function classLabels(m: ModelMsg): Array<string | number> | undefined {
  const explicit = meta(m, 'cairn.classes');
  if (explicit) return JSON.parse(explicit) as Array<string | number>;
  const dec = new TextDecoder();
  for (const n of m.graph.node) {
    for (const a of n.attribute ?? []) {
      if (a.name === 'classlabels_ints' && a.ints?.length) return a.ints.map(Number);
      if (a.name === 'classlabels_strings' && a.strings?.length) return a.strings.map((s) => dec.decode(s));
    }
  }
  return undefined;
}

function cairnOnnx(file: string, session: ort.InferenceSession, json: string): Predictor {
  const parsed = cairnModelSchema.safeParse({
    ...JSON.parse(json),
    userFactors: [],
    itemFactors: [],
    userBias: [],
    itemBias: [],
    layers: [{ inputs: 1, units: 1, weights: [0], bias: [0], activation: 'linear' }],
  });
  if (!parsed.success)
    throw new OnnxModelError(
      `${file}: the cairn.model metadata is not valid (${parsed.error.issues[0]?.message ?? 'invalid'})`,
    );
  const m = parsed.data;
  if (m.kind === 'tabular') {
    const classes = m.classes?.length ?? 0;
    const p: TabularPredictor = {
      kind: 'tabular',
      task: m.task,
      ...(m.classes ? { classes: m.classes } : {}),
      inputColumns: m.inputColumns,
      async predict(table) {
        const x = applyEncoding(m.encoding, m.transform ? applyTransform(table, m.transform) : table);
        const out = await session.run({ features: new ort.Tensor('float32', x, [table.rowCount, m.encoding.width]) });
        const t = out[m.task === 'regression' ? 'prediction' : 'probabilities'];
        if (!t)
          throw new OnnxModelError(
            `${file}: the model gave no ${m.task === 'regression' ? 'prediction' : 'probabilities'} output`,
          );
        return { values: toScores(t, table.rowCount).values, width: m.task === 'regression' ? 1 : classes };
      },
    };
    return p;
  }
  if (m.kind === 'matrix-factorization') return onnxRecommender(session, m);
  throw new OnnxModelError(`${file}: a ${m.kind} model has no ONNX form`);
}

function onnxRecommender(session: ort.InferenceSession, m: MfModel): RecommenderPredictor {
  const users = new Map(m.users.map((id, i) => [String(id), i]));
  const items = new Map(m.items.map((id, i) => [String(id), i]));
  const run = async (u: BigInt64Array, i: BigInt64Array): Promise<Float64Array> => {
    const out = await session.run({
      user: new ort.Tensor('int64', u, [u.length]),
      item: new ort.Tensor('int64', i, [i.length]),
    });
    const s = out['score'];
    if (!s) throw new OnnxModelError('the model gave no score output');
    return toScores(s, u.length).values;
  };
  return {
    kind: 'recommender',
    async score(us, is) {
      // The ONNX scorer knows indices only: unknown ids get the global mean.
      const known: number[] = [];
      const out = new Float64Array(us.length).fill(m.globalMean);
      for (let r = 0; r < us.length; r++) if (users.has(String(us[r])) && items.has(String(is[r]))) known.push(r);
      if (known.length === 0) return out;
      const s = await run(
        BigInt64Array.from(known, (r) => BigInt(users.get(String(us[r])) ?? 0)),
        BigInt64Array.from(known, (r) => BigInt(items.get(String(is[r])) ?? 0)),
      );
      known.forEach((r, j) => (out[r] = s[j] ?? m.globalMean));
      return out;
    },
    async recommend(us, n, exclude) {
      const all = BigInt64Array.from(m.items, (_, i) => BigInt(i));
      const lists: Array<Array<string | number>> = [];
      for (const user of us) {
        const u = users.get(String(user));
        if (u === undefined) {
          lists.push([]);
          continue;
        }
        const scores = await run(new BigInt64Array(all.length).fill(BigInt(u)), all);
        const seen = exclude?.get(user);
        const seenKeys = seen ? new Set([...seen].map(String)) : undefined;
        lists.push(topK(scores, n, (i) => seenKeys?.has(String(m.items[i])) ?? false).map((i) => m.items[i] ?? i));
      }
      return lists;
    },
    catalogue: () => m.items,
  };
}

function genericTabular(
  file: string,
  session: ort.InferenceSession,
  m: ModelMsg,
  opts: OnnxLoadOptions,
): TabularPredictor {
  const initialized = new Set((m.graph.initializer ?? []).map((t) => t.name));
  const inputs = m.graph.input.filter((i) => !initialized.has(i.name));
  const first = inputs[0];
  if (!first) throw new OnnxModelError(`${file}: the model has no inputs`);
  const named =
    opts.inputColumns ??
    (meta(m, 'cairn.input_columns') ? (JSON.parse(meta(m, 'cairn.input_columns') ?? '[]') as string[]) : undefined);
  const firstDims = dims(first);
  const matrix = inputs.length === 1 && firstDims.length === 2 && firstDims[1] !== 1;
  if (matrix && !named) {
    throw new OnnxModelError(
      `${file}: the model takes one matrix input "${first.name}" [N, ${firstDims[1] ?? '?'}] without column names; add the metadata property cairn.input_columns (a JSON array of column names) or give one input per column`,
    );
  }
  const outputs = m.graph.output;
  for (const o of outputs) {
    if (!o.type?.tensorType)
      throw new OnnxModelError(
        `${file}: output "${o.name}" is not a tensor (a ZipMap?); convert the model with zipmap disabled (sklearn-onnx: options={'zipmap': False})`,
      );
  }
  const floatOut = outputs.filter((o) => elemType(o) === DataType.FLOAT || elemType(o) === DataType.DOUBLE);
  const probs =
    floatOut.find((o) => /prob/i.test(o.name)) ??
    (meta(m, 'cairn.task') === 'classification' ? floatOut.find((o) => dims(o).length === 2) : undefined);
  const task: 'classification' | 'regression' = probs ? 'classification' : 'regression';
  const target = probs ?? floatOut[0];
  if (!target) throw new OnnxModelError(`${file}: no float output to read predictions from`);
  const classes = task === 'classification' ? classLabels(m) : undefined;
  const inputColumns = matrix ? (named ?? []) : inputs.map((i) => i.name);
  return {
    kind: 'tabular',
    task,
    ...(classes ? { classes } : {}),
    inputColumns,
    async predict(table: Table) {
      const feeds: Record<string, ort.Tensor> = {};
      const n = table.rowCount;
      if (matrix) {
        const width = inputColumns.length;
        const x = new Float32Array(n * width);
        inputColumns.forEach((c, j) => {
          const col = findColumn(table, c, 'input data');
          if (col.type === 'string')
            throw new OnnxModelError(`${file}: column "${c}" holds text but the model's matrix input is numeric`);
          for (let r = 0; r < n; r++) x[r * width + j] = col.missing?.[r] ? NaN : (col.values[r] ?? NaN);
        });
        feeds[first.name] = new ort.Tensor(
          elemType(first) === DataType.DOUBLE ? 'float64' : 'float32',
          elemType(first) === DataType.DOUBLE ? Float64Array.from(x) : x,
          [n, width],
        );
      } else {
        for (const input of inputs) {
          const shape = dims(input).length === 2 ? [n, 1] : [n];
          feeds[input.name] = columnTensor(findColumn(table, input.name, 'input data'), elemType(input), shape, file);
        }
      }
      const out = await session.run(feeds, [target.name]);
      const t = out[target.name];
      if (!t) throw new OnnxModelError(`${file}: no output ${target.name}`);
      const s = toScores(t, n);
      return task === 'classification' ? s : { values: s.values, width: 1 };
    },
  };
}

export async function loadOnnxPredictor(file: string, opts: OnnxLoadOptions = {}): Promise<Predictor> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new OnnxModelError(`${file}: cannot read (${e instanceof Error ? e.message : String(e)})`);
  }
  let m: ModelMsg;
  try {
    m = decodeModel(bytes);
  } catch (e) {
    throw new OnnxModelError(`${file}: not an ONNX model (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!m.graph) throw new OnnxModelError(`${file}: not an ONNX model (no graph)`);
  const session = await ort.InferenceSession.create(
    bytes,
    opts.intraOpThreads === undefined ? sessionOptions : { ...sessionOptions, intraOpNumThreads: opts.intraOpThreads },
  );
  const cairn = meta(m, METADATA_KEY);
  return cairn ? cairnOnnx(file, session, cairn) : genericTabular(file, session, m, opts);
}
