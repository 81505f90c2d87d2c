import type { Column, Table } from '../types.js';
import { cellText, DataError, getColumn, isMissing } from './table.js';

/**
 * Per-user and per-item statistics of an interactions table: count, mean rating (population std too), first and
 * last interaction time when a time column is given. Rows with a missing id or rating are skipped and counted.
 */
export interface UserItemStats {
  users: Table;
  items: Table;
  skipped: number;
}

interface Acc {
  n: number;
  sum: number;
  sq: number;
  first: number;
  last: number;
}

export function userItemStats(
  table: Table,
  o: { user: string; item: string; rating: string; time?: string; file?: string },
): UserItemStats {
  const u = getColumn(table, o.user, o.file);
  const it = getColumn(table, o.item, o.file);
  const r = getColumn(table, o.rating, o.file);
  if (r.type === 'string') throw new DataError(`rating column '${o.rating}' holds text; it must be numeric`, o.file);
  const t = o.time ? getColumn(table, o.time, o.file) : null;
  if (t && (t.type === 'string' || t.type === 'bool'))
    throw new DataError(`time column '${o.time}' must hold timestamps or numbers`, o.file);
  const users = new Map<string, Acc>();
  const items = new Map<string, Acc>();
  let skipped = 0;
  const add = (m: Map<string, Acc>, key: string, v: number, time: number) => {
    const a = m.get(key) ?? { n: 0, sum: 0, sq: 0, first: Infinity, last: -Infinity };
    a.n++;
    a.sum += v;
    a.sq += v * v;
    if (time < a.first) a.first = time;
    if (time > a.last) a.last = time;
    m.set(key, a);
  };
  for (let i = 0; i < table.rowCount; i++) {
    const uk = cellText(u, i);
    const ik = cellText(it, i);
    if (uk === null || ik === null || isMissing(r, i)) {
      skipped++;
      continue;
    }
    const time = t && !isMissing(t, i) ? (t.values[i] as number) : Number.NaN;
    add(users, uk, r.values[i] as number, time);
    add(items, ik, r.values[i] as number, time);
  }
  const build = (m: Map<string, Acc>, idName: string, idCol: Column, prefix: string): Table => {
    const keys = [...m.keys()];
    const numericIds = idCol.type === 'int';
    const cols: Column[] = [
      numericIds
        ? { name: idName, type: 'int', values: Float64Array.from(keys.map(Number)), missing: null }
        : { name: idName, type: 'string', values: keys },
      {
        name: `${prefix}_count`,
        type: 'int',
        values: Float64Array.from(keys.map((k) => (m.get(k) as Acc).n)),
        missing: null,
      },
      {
        name: `${prefix}_mean_rating`,
        type: 'float',
        values: Float64Array.from(keys.map((k) => (m.get(k) as Acc).sum / (m.get(k) as Acc).n)),
        missing: null,
      },
      {
        name: `${prefix}_std_rating`,
        type: 'float',
        values: Float64Array.from(
          keys.map((k) => {
            const a = m.get(k) as Acc;
            return Math.sqrt(Math.max(a.sq / a.n - (a.sum / a.n) ** 2, 0));
          }),
        ),
        missing: null,
      },
    ];
    if (t) {
      const timeType = t.type === 'timestamp' ? 'timestamp' : 'float';
      const mk = (name: string, f: (a: Acc) => number): Column => {
        const values = Float64Array.from(keys.map((k) => f(m.get(k) as Acc)));
        const missing = Uint8Array.from(values, (v) => (Number.isFinite(v) ? 0 : 1));
        return { name, type: timeType, values: values.map((v) => (Number.isFinite(v) ? v : Number.NaN)), missing };
      };
      cols.push(
        mk(`${prefix}_first_time`, (a) => a.first),
        mk(`${prefix}_last_time`, (a) => a.last),
      );
    }
    return { rowCount: keys.length, columns: cols };
  };
  return { users: build(users, o.user, u, 'user'), items: build(items, o.item, it, 'item'), skipped };
}
