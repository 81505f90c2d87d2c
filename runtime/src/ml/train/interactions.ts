import type { Column, Table } from '../types.js';
import { TrainingError } from './loop.js';

/** Rating triples as typed arrays, users and items as dense indexes (the input of every recommender trainer). */
export interface Interactions {
  users: Int32Array;
  items: Int32Array;
  ratings: Float32Array;
  nUsers: number;
  nItems: number;
}

/** Turns a ratings table into index arrays for the recommenders, with the index → id maps the model keeps. */
export interface IndexedInteractions {
  data: Interactions;
  users: Array<string | number>;
  items: Array<string | number>;
  ratingRange: { min: number; max: number };
}

export function columnOf(table: Table, name: string, file: string, option: string): Column {
  const col = table.columns.find((c) => c.name === name);
  if (!col)
    throw new TrainingError(
      `${file}: no column "${name}" (set \`${option}:\`; the columns are ${table.columns.map((c) => c.name).join(', ')})`,
    );
  return col;
}

/** The id in row r, or undefined when missing. */
export function idAt(col: Column, r: number): string | number | undefined {
  if (col.type === 'string') return col.values[r] ?? undefined;
  return col.missing?.[r] ? undefined : col.values[r];
}

/** The (user, item, rating) triples of a ratings table, checked (line numbers count the header as line 1). */
export interface RatingRows {
  users: Array<string | number>;
  items: Array<string | number>;
  ratings: Float32Array;
}

export function ratingRows(
  table: Table,
  cols: { user: string; item: string; rating: string },
  file: string,
): RatingRows {
  const u = columnOf(table, cols.user, file, 'user');
  const i = columnOf(table, cols.item, file, 'item');
  const r = columnOf(table, cols.rating, file, 'rating');
  if (r.type === 'string')
    throw new TrainingError(`${file}: column "${cols.rating}" must be numeric (ratings or interaction weights)`);
  if (table.rowCount === 0) throw new TrainingError(`${file}: the ratings table has no rows`);
  const out: RatingRows = {
    users: new Array<string | number>(table.rowCount),
    items: new Array<string | number>(table.rowCount),
    ratings: new Float32Array(table.rowCount),
  };
  for (let row = 0; row < table.rowCount; row++) {
    const uid = idAt(u, row);
    const iid = idAt(i, row);
    const value = r.missing?.[row] ? NaN : (r.values[row] ?? NaN);
    if (uid === undefined)
      throw new TrainingError(
        `${file}:${row + 2}: the user id ("${cols.user}") is missing; drop such rows in data.validate`,
      );
    if (iid === undefined)
      throw new TrainingError(
        `${file}:${row + 2}: the item id ("${cols.item}") is missing; drop such rows in data.validate`,
      );
    if (!Number.isFinite(value))
      throw new TrainingError(
        `${file}:${row + 2}: the rating ("${cols.rating}") is missing; drop such rows in data.validate`,
      );
    out.users[row] = uid;
    out.items[row] = iid;
    out.ratings[row] = value;
  }
  return out;
}

/** Index arrays of the given rows (all by default), users and items numbered in order of first appearance. */
export function indexRows(rows: RatingRows, subset?: ArrayLike<number>): IndexedInteractions {
  const n = subset ? subset.length : rows.ratings.length;
  const userIndex = new Map<string | number, number>();
  const itemIndex = new Map<string | number, number>();
  const users = new Int32Array(n);
  const items = new Int32Array(n);
  const ratings = new Float32Array(n);
  let min = Infinity;
  let max = -Infinity;
  for (let k = 0; k < n; k++) {
    const row = subset ? (subset[k] ?? 0) : k;
    const uid = rows.users[row] as string | number;
    const iid = rows.items[row] as string | number;
    const value = rows.ratings[row] ?? NaN;
    let ux = userIndex.get(uid);
    if (ux === undefined) userIndex.set(uid, (ux = userIndex.size));
    let ix = itemIndex.get(iid);
    if (ix === undefined) itemIndex.set(iid, (ix = itemIndex.size));
    users[k] = ux;
    items[k] = ix;
    ratings[k] = value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return {
    data: { users, items, ratings, nUsers: userIndex.size, nItems: itemIndex.size },
    users: [...userIndex.keys()],
    items: [...itemIndex.keys()],
    ratingRange: { min, max },
  };
}

export function indexInteractions(
  table: Table,
  cols: { user: string; item: string; rating: string },
  file: string,
): IndexedInteractions {
  return indexRows(ratingRows(table, cols, file));
}
