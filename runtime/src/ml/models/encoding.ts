import { z } from 'zod';
import type { Column, Table } from '../types.js';
import { categoryIndex } from '../data/transform.js';

/**
 * The feature transform a tabular model saves with itself, so evaluation and serving turn raw rows into exactly the
 * numbers training saw: numeric columns are standardized with the training mean and std (a missing value becomes the
 * mean, i.e. 0), text columns are one-hot encoded over the training categories (an unseen or missing category is all
 * zeros — a defined result, not an error, because serving must answer for new categories).
 */
export const encodedColumnSchema = z.discriminatedUnion('kind', [
  z.object({ name: z.string(), kind: z.literal('numeric'), mean: z.number(), std: z.number().positive() }),
  z.object({ name: z.string(), kind: z.literal('onehot'), categories: z.array(z.string()) }),
]);
export const featureEncodingSchema = z.object({
  columns: z.array(encodedColumnSchema),
  width: z.number().int().min(1),
});
export type FeatureEncoding = z.infer<typeof featureEncodingSchema>;

export class EncodingError extends Error {}

export function findColumn(table: Table, name: string, what = 'table'): Column {
  const col = table.columns.find((c) => c.name === name);
  if (!col)
    throw new EncodingError(
      `column "${name}" is missing from the ${what} (it has: ${table.columns.map((c) => c.name).join(', ')})`,
    );
  return col;
}

/** Fits the transform on training rows (`rows` selects them; default all). */
export function fitEncoding(table: Table, features: string[], rows?: ArrayLike<number>): FeatureEncoding {
  const idx = rows ?? Array.from({ length: table.rowCount }, (_, i) => i);
  const columns: FeatureEncoding['columns'] = [];
  for (const name of features) {
    const col = findColumn(table, name);
    if (col.type === 'string') {
      const seen = new Set<string>();
      for (let r = 0; r < idx.length; r++) {
        const v = col.values[idx[r] ?? 0];
        if (v !== null && v !== undefined) seen.add(v);
      }
      if (seen.size === 0)
        throw new EncodingError(`feature "${name}" has no values in the training rows: drop it from features`);
      columns.push({ name, kind: 'onehot', categories: [...seen].sort() });
    } else {
      let n = 0;
      let sum = 0;
      for (let r = 0; r < idx.length; r++) {
        const i = idx[r] ?? 0;
        if (col.missing?.[i]) continue;
        sum += col.values[i] ?? 0;
        n++;
      }
      if (n === 0) throw new EncodingError(`feature "${name}" is missing in every training row: drop it from features`);
      const mean = sum / n;
      let ss = 0;
      for (let r = 0; r < idx.length; r++) {
        const i = idx[r] ?? 0;
        if (col.missing?.[i]) continue;
        ss += ((col.values[i] ?? 0) - mean) ** 2;
      }
      const std = Math.sqrt(ss / n);
      // A constant column carries no information; std 1 keeps it finite (it encodes to 0) instead of dividing by 0.
      columns.push({ name, kind: 'numeric', mean, std: std > 1e-12 ? std : 1 });
    }
  }
  const width = columns.reduce((w, c) => w + (c.kind === 'numeric' ? 1 : c.categories.length), 0);
  return { columns, width };
}

/** Applies the transform: a row-major float32 matrix `rows × width`. */
export function applyEncoding(enc: FeatureEncoding, table: Table, rows?: ArrayLike<number>): Float32Array {
  const n = rows ? rows.length : table.rowCount;
  const out = new Float32Array(n * enc.width);
  let offset = 0;
  for (const spec of enc.columns) {
    const col = findColumn(table, spec.name, 'input data');
    if (spec.kind === 'numeric') {
      if (col.type === 'string') {
        // A column with every cell missing reads as text; it encodes as missing (the mean). Real text is an error.
        const text = col.values.findIndex((v) => v !== null);
        if (text >= 0)
          throw new EncodingError(
            `column "${spec.name}" holds text (row ${text + 1}: "${col.values[text] ?? ''}"), but the model was trained on numbers there`,
          );
        offset += 1;
        continue;
      }
      for (let r = 0; r < n; r++) {
        const i = rows ? (rows[r] ?? 0) : r;
        out[r * enc.width + offset] = col.missing?.[i] ? 0 : ((col.values[i] ?? 0) - spec.mean) / spec.std;
      }
      offset += 1;
    } else {
      const at = categoryIndex(spec);
      for (let r = 0; r < n; r++) {
        const i = rows ? (rows[r] ?? 0) : r;
        const raw = col.type === 'string' ? col.values[i] : col.missing?.[i] ? null : String(col.values[i]);
        const j = raw === null || raw === undefined ? undefined : at.get(raw);
        if (j !== undefined) out[r * enc.width + offset + j] = 1;
      }
      offset += spec.categories.length;
    }
  }
  return out;
}
