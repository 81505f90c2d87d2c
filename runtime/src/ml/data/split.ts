import type { Table } from '../types.js';
import { cellText, DataError, getColumn, isMissing, takeRows } from './table.js';
import { seededRandom } from '../../util/prng.js';

/**
 * Train / test (/ validation) splits: random, stratified, or by time. Seeded: the same seed gives the same split on
 * any machine (a 32-bit PRNG, no Math.random). Each set keeps the input's row order.
 */
export interface SplitOptions {
  testFraction: number;
  validFraction?: number;
  /** Time column: the latest rows form the test set, the ones before them the validation set. */
  by?: string;
  /** Column whose class shares each set keeps. */
  stratify?: string;
  seed?: number;
  file?: string;
}

export interface SplitResult {
  train: Table;
  test: Table;
  valid: Table | null;
}

/** The shared seeded generator (mulberry32). */
export const rng = seededRandom;

export function shuffle(indices: number[], random: () => number): number[] {
  for (let i = indices.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [indices[i], indices[j]] = [indices[j] as number, indices[i] as number];
  }
  return indices;
}

export function splitTable(table: Table, o: SplitOptions): SplitResult {
  const n = table.rowCount;
  const tf = o.testFraction;
  const vf = o.validFraction ?? 0;
  if (!(tf > 0 && tf < 1) || !(vf >= 0 && vf < 1) || tf + vf >= 1) {
    throw new DataError(
      `test_fraction (${tf}) and valid_fraction (${vf}) must each be in [0, 1) and sum to less than 1`,
      o.file,
    );
  }
  if (o.by && o.stratify) throw new DataError('choose either `by` (time split) or `stratify`, not both', o.file);
  let test: number[] = [];
  let valid: number[] = [];
  let train: number[] = [];
  if (o.by) {
    const col = getColumn(table, o.by, o.file);
    if (col.type === 'string' || col.type === 'bool')
      throw new DataError(
        `time column '${o.by}' holds ${col.type === 'bool' ? 'booleans' : 'text'}; use a timestamp or number column`,
        o.file,
      );
    for (let i = 0; i < n; i++) {
      if (isMissing(col, i))
        throw new DataError(
          `time column '${o.by}' is missing a value on line ${i + 2}; fill or drop such rows (data.validate drop_missing) first`,
          o.file,
          i + 2,
        );
    }
    // Stable sort by time: ties keep file order, so the split is deterministic.
    const order = Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => (col.values[a] as number) - (col.values[b] as number) || a - b,
    );
    const nTest = Math.round(n * tf);
    const nValid = Math.round(n * vf);
    train = order.slice(0, n - nTest - nValid);
    valid = order.slice(n - nTest - nValid, n - nTest);
    test = order.slice(n - nTest);
  } else {
    const random = rng(o.seed ?? 42);
    const groups = new Map<string, number[]>();
    if (o.stratify) {
      const col = getColumn(table, o.stratify, o.file);
      for (let i = 0; i < n; i++) {
        const key = cellText(col, i) ?? '\u0000missing';
        const g = groups.get(key);
        if (g) g.push(i);
        else groups.set(key, [i]);
      }
    } else {
      groups.set(
        '',
        Array.from({ length: n }, (_, i) => i),
      );
    }
    for (const key of [...groups.keys()].sort()) {
      const idx = shuffle(groups.get(key) as number[], random);
      const nTest = Math.round(idx.length * tf);
      const nValid = Math.round(idx.length * vf);
      test.push(...idx.slice(0, nTest));
      valid.push(...idx.slice(nTest, nTest + nValid));
      train.push(...idx.slice(nTest + nValid));
    }
    const asc = (a: number, b: number) => a - b;
    test.sort(asc);
    valid.sort(asc);
    train.sort(asc);
  }
  if (train.length === 0 || test.length === 0 || (vf > 0 && valid.length === 0)) {
    throw new DataError(
      `${n} rows are too few for this split (train ${train.length}, test ${test.length}${vf > 0 ? `, valid ${valid.length}` : ''}); use more data or other fractions`,
      o.file,
    );
  }
  return { train: takeRows(table, train), test: takeRows(table, test), valid: vf > 0 ? takeRows(table, valid) : null };
}
