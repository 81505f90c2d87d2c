import type { Dialect, SqlDb, SqlValue } from '../sql.js';

/**
 * The sort keys of runs by param and metric (issue 15: sorting 100,000 runs by a metric must not read every run's JSON).
 * `run_sort_keys` holds one row per run and param/metric, named as the sort names it (`param:lr`, `metric:val/auc`),
 * with the value the run's params_json/metrics_json hold there: an index on (name, value, run_id) walks a page in
 * order. Kept on write (createRun, the metric writers); a JSON null is no key (missing, as json_extract reads it).
 * SQLite: a typeless column, so numbers and strings keep their type and order as json_extract's results do (numbers
 * before strings, booleans as 1/0); PostgreSQL: jsonb, ordered as `params_json::jsonb -> key` is.
 */
export const RUN_SORT_KEYS = 'run_sort_keys';

export type SortKeyGroup = 'param' | 'metric';

export function sortKeyName(group: SortKeyGroup, name: string): string {
  return `${group}:${name}`;
}

const UPSERT = (value: string) =>
  `INSERT INTO ${RUN_SORT_KEYS} (run_id, name, value) VALUES (?, ?, ${value})
   ON CONFLICT (run_id, name) DO UPDATE SET value = excluded.value`;
const DELETE = `DELETE FROM ${RUN_SORT_KEYS} WHERE run_id = ? AND name = ?`;

/** The upsert of one key (better-sqlite3 prepares it for the SQLite metric writer's synchronous batches). */
export const upsertSortKeySql: Record<Dialect, string> = { sqlite: UPSERT('?'), postgres: UPSERT('?::jsonb') };

/** A value as bound for the `value` column; undefined: a JSON null, no key. */
export function sortKeyValue(dialect: Dialect, value: unknown): SqlValue | undefined {
  // NaN and the infinities are stored as JSON's null (JSON.stringify): no key, as SQLite would bind NaN as NULL.
  if (value === null || value === undefined || (typeof value === 'number' && !Number.isFinite(value))) return undefined;
  if (dialect === 'postgres') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  // A list or a map: its JSON text, as json_extract returns it.
  return JSON.stringify(value);
}

/** Records (or, for a null, removes) one run's key. */
export async function writeSortKey(
  db: SqlDb,
  runId: number,
  group: SortKeyGroup,
  name: string,
  value: unknown,
): Promise<void> {
  const key = sortKeyName(group, name);
  const bound = sortKeyValue(db.dialect, value);
  if (bound === undefined) await db.run(DELETE, [runId, key]);
  else await db.run(upsertSortKeySql[db.dialect], [runId, key, bound]);
}

/** Before the rebuild in a PostgreSQL transaction: reading every run's keys may outlast the pool's statement timeout. */
export const noStatementTimeoutSql = 'SET LOCAL statement_timeout = 0';

/**
 * Every run's keys read again from params_json and metrics_json, for runs without any key yet (the migration that
 * made the table, `store migrate` into PostgreSQL, and fixtures written in bulk).
 */
export const rebuildSortKeysSql: Record<Dialect, string> = {
  sqlite: `INSERT OR IGNORE INTO ${RUN_SORT_KEYS} (run_id, name, value)
      SELECT r.id, 'param:' || j.key, j.value FROM runs r, json_each(r.params_json) j WHERE j.type <> 'null'
      UNION ALL
      SELECT r.id, 'metric:' || j.key, j.value FROM runs r, json_each(r.metrics_json) j WHERE j.type <> 'null'`,
  postgres: `INSERT INTO ${RUN_SORT_KEYS} (run_id, name, value)
      SELECT r.id, 'param:' || j.key, j.value FROM runs r, jsonb_each(r.params_json::jsonb) j WHERE jsonb_typeof(j.value) <> 'null'
      UNION ALL
      SELECT r.id, 'metric:' || j.key, j.value FROM runs r, jsonb_each(r.metrics_json::jsonb) j WHERE jsonb_typeof(j.value) <> 'null'
      ON CONFLICT DO NOTHING`,
};
