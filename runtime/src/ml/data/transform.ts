import { z } from 'zod';
import type { Column, NumericColumn, Table } from '../types.js';
import { cellText, DataError, getColumn, isMissing } from './table.js';

/**
 * Feature transforms fitted on training data and saved as JSON (features.transform's transform.json), so that
 * evaluation and serving apply exactly what training used (docs/ml.md, "Feature transforms").
 * - standardize: (x − mean) / std with the training mean and population std (sklearn's StandardScaler; a constant
 *   column gets std 1). A missing value becomes 0, the training mean.
 * - one_hot: one 0/1 column `col=value` per training category, in sorted order; a value unseen in training, or a
 *   missing one, sets every column of the group to 0 (sklearn's handle_unknown='ignore').
 * - hash: the bucket FNV-1a(text) mod buckets as one int column `col_bucket` (missing → bucket of the empty text).
 * Other columns pass through unchanged unless dropped; the target always passes through.
 */
const stepSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('standardize'), column: z.string(), mean: z.number(), std: z.number().positive() }),
  z.object({ kind: z.literal('one_hot'), column: z.string(), categories: z.array(z.string()) }),
  z.object({ kind: z.literal('hash'), column: z.string(), buckets: z.number().int().min(2) }),
  z.object({ kind: z.literal('passthrough'), column: z.string() }),
]);

export const fittedTransformSchema = z.object({
  format: z.literal('cairn.transform'),
  version: z.literal(1),
  /** In output order. */
  steps: z.array(stepSchema),
  target: z.string().nullable(),
  /** Output column names, in order (the model's input columns). */
  outputs: z.array(z.string()),
});

export type FittedTransform = z.infer<typeof fittedTransformSchema>;
export type TransformStep = z.infer<typeof stepSchema>;

export interface TransformSpec {
  standardize?: string[];
  oneHot?: string[];
  hash?: { columns: string[]; buckets: number };
  drop?: string[];
  target?: string;
}

/** FNV-1a, 32-bit, over UTF-16 code units: stable across runs and machines. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function outputsOf(step: TransformStep): string[] {
  switch (step.kind) {
    case 'one_hot':
      return step.categories.map((c) => `${step.column}=${c}`);
    case 'hash':
      return [`${step.column}_bucket`];
    default:
      return [step.column];
  }
}

export function fitTransform(table: Table, spec: TransformSpec, file?: string): FittedTransform {
  const listed = new Map<string, 'standardize' | 'one_hot' | 'hash'>();
  const claim = (cols: string[] | undefined, kind: 'standardize' | 'one_hot' | 'hash') => {
    for (const c of cols ?? []) {
      getColumn(table, c, file);
      const prev = listed.get(c);
      if (prev) throw new DataError(`column '${c}' is listed under both ${prev} and ${kind}; pick one`, file);
      if (c === spec.target) throw new DataError(`column '${c}' is the target; it passes through untransformed`, file);
      listed.set(c, kind);
    }
  };
  claim(spec.standardize, 'standardize');
  claim(spec.oneHot, 'one_hot');
  claim(spec.hash?.columns, 'hash');
  if (spec.target !== undefined) getColumn(table, spec.target, file);
  const drop = new Set(spec.drop ?? []);
  for (const d of drop) getColumn(table, d, file);
  const steps: TransformStep[] = [];
  for (const col of table.columns) {
    if (drop.has(col.name) && col.name !== spec.target) continue;
    const kind = listed.get(col.name);
    if (kind === 'standardize') steps.push(fitStandardize(col, table.rowCount, file));
    else if (kind === 'one_hot') {
      const cats = new Set<string>();
      for (let i = 0; i < table.rowCount; i++) {
        const t = cellText(col, i);
        if (t !== null) cats.add(t);
      }
      if (cats.size === 0)
        throw new DataError(`column '${col.name}' has no values to one-hot encode (every cell is missing)`, file);
      steps.push({ kind: 'one_hot', column: col.name, categories: [...cats].sort() });
    } else if (kind === 'hash') steps.push({ kind: 'hash', column: col.name, buckets: spec.hash?.buckets ?? 1024 });
    else steps.push({ kind: 'passthrough', column: col.name });
  }
  return {
    format: 'cairn.transform',
    version: 1,
    steps,
    target: spec.target ?? null,
    outputs: steps.flatMap(outputsOf),
  };
}

function fitStandardize(col: Column, n: number, file?: string): TransformStep {
  if (col.type === 'string')
    throw new DataError(
      `column '${col.name}' holds text; standardize needs numbers (one_hot or hash it instead)`,
      file,
    );
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (isMissing(col, i)) continue;
    sum += col.values[i] as number;
    count++;
  }
  if (count === 0)
    throw new DataError(`column '${col.name}' has no values to standardize (every cell is missing)`, file);
  const mean = sum / count;
  let q = 0;
  for (let i = 0; i < n; i++) if (!isMissing(col, i)) q += ((col.values[i] as number) - mean) ** 2;
  const std = Math.sqrt(q / count);
  return { kind: 'standardize', column: col.name, mean, std: std > 0 ? std : 1 };
}

/** A fitted one-hot step's (or encoding column's) category → position, built once per fitted object: serving applies the same one to every request. */
const categoryIndexes = new WeakMap<object, Map<string, number>>();
export function categoryIndex(step: { categories: string[] }): Map<string, number> {
  let index = categoryIndexes.get(step);
  if (!index) categoryIndexes.set(step, (index = new Map(step.categories.map((c, k) => [c, k]))));
  return index;
}

/** Applies a fitted transform. The target column may be absent (serving); any other input column must be there. */
export function applyTransform(table: Table, t: FittedTransform, file?: string): Table {
  const n = table.rowCount;
  const columns: Column[] = [];
  for (const step of t.steps) {
    const col = table.columns.find((c) => c.name === step.column);
    if (!col) {
      if (step.column === t.target) continue;
      throw new DataError(
        `column '${step.column}' is missing; the transform was fitted with it (columns here: ${table.columns.map((c) => c.name).join(', ')})`,
        file,
      );
    }
    switch (step.kind) {
      case 'passthrough':
        columns.push(col);
        break;
      case 'standardize': {
        const values = new Float64Array(n);
        if (col.type === 'string') {
          // A column with every cell missing reads as text; it standardizes to the mean (0). Real text is an error.
          const text = col.values.findIndex((v) => v !== null);
          if (text >= 0)
            throw new DataError(
              `column '${col.name}' holds text here (line ${text + 2}: '${col.values[text] ?? ''}') but numbers when the transform was fitted`,
              file,
              text + 2,
            );
        } else {
          for (let i = 0; i < n; i++)
            values[i] = isMissing(col, i) ? 0 : ((col.values[i] as number) - step.mean) / step.std;
        }
        columns.push({ name: col.name, type: 'float', values, missing: null } satisfies NumericColumn);
        break;
      }
      case 'one_hot': {
        const index = categoryIndex(step);
        const outs = step.categories.map(() => new Float64Array(n));
        for (let i = 0; i < n; i++) {
          const t0 = cellText(col, i);
          const k = t0 === null ? undefined : index.get(t0);
          if (k !== undefined) (outs[k] as Float64Array)[i] = 1;
        }
        step.categories.forEach((c, k) =>
          columns.push({ name: `${step.column}=${c}`, type: 'int', values: outs[k] as Float64Array, missing: null }),
        );
        break;
      }
      case 'hash': {
        const values = new Float64Array(n);
        for (let i = 0; i < n; i++) values[i] = fnv1a(cellText(col, i) ?? '') % step.buckets;
        columns.push({ name: `${step.column}_bucket`, type: 'int', values, missing: null });
        break;
      }
    }
  }
  return { rowCount: n, columns };
}

export function parseTransform(json: unknown, file?: string): FittedTransform {
  const r = fittedTransformSchema.safeParse(json);
  if (!r.success)
    throw new DataError(
      `not a Cairn feature transform (${r.error.issues[0]?.message ?? 'invalid'}); use a features.transform output`,
      file,
    );
  return r.data;
}
