import { createHash } from 'node:crypto';
import { CairnError } from '../util/errors.js';
import { noStatementTimeoutSql, rebuildSortKeysSql, RUN_SORT_KEYS } from './repos/runSortKeys.js';
import type { SqlDb, SqlValue } from './sql.js';
import type { Store } from './store.js';

/** Per table: rows in the source, rows in the target after the copy, rows newly written, and the checksum both share. */
export interface TableCopy {
  table: string;
  rows: number;
  written: number;
  checksum: string;
}

/**
 * Tables without a key of their own, copied idempotently by replacing the target's rows of each owner (run or step
 * run) present in the source. A new keyless table must be named here, or `store migrate` refuses to copy it.
 */
const KEYLESS_OWNER: Record<string, string> = { metrics: 'run_id', step_io: 'step_run_id' };

/**
 * Tables derived from others, rebuilt in the target from what was copied rather than copied (their values are typed per
 * row in SQLite, jsonb in PostgreSQL): the statement that rebuilds them, and the columns both sides must agree on.
 */
const DERIVED: Record<string, { rebuild: string; key: string[] }> = {
  [RUN_SORT_KEYS]: { rebuild: rebuildSortKeysSql.postgres, key: ['run_id', 'name'] },
};

/** Rows per multi-row INSERT: PostgreSQL binds at most 65,535 parameters per statement. */
const MAX_PARAMS = 60_000;

interface TableInfo {
  name: string;
  columns: string[];
  keyed: boolean;
  /** Has an integer `id` key: the target's identity sequence must move past the copied ids. */
  identity: boolean;
  dependsOn: string[];
}

async function sqliteTables(db: SqlDb): Promise<TableInfo[]> {
  const names = await db.all<{ name: string }>(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
  );
  const out: TableInfo[] = [];
  for (const { name } of names) {
    // Table names come from the catalog; pragma functions take them as bound values.
    const cols = await db.all<{ name: string; type: string; pk: number }>(
      'SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid',
      [name],
    );
    const uniques = await db.all<{ n: number }>('SELECT count(*) AS n FROM pragma_index_list(?) WHERE "unique" = 1', [
      name,
    ]);
    const fks = await db.all<{ table: string }>('SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)', [name]);
    const pk = cols.filter((c) => c.pk > 0);
    out.push({
      name,
      columns: cols.map((c) => c.name),
      keyed: pk.length > 0 || (uniques[0]?.n ?? 0) > 0,
      identity: pk.length === 1 && pk[0]?.name === 'id' && pk[0].type.toUpperCase() === 'INTEGER',
      dependsOn: fks.map((f) => f.table).filter((t) => t !== name),
    });
  }
  return dependencyOrder(out);
}

/** Parents before children (foreign keys), so every row's references exist when it is inserted. */
function dependencyOrder(tables: TableInfo[]): TableInfo[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const done = new Set<string>();
  const out: TableInfo[] = [];
  const visit = (t: TableInfo, path: string[]) => {
    if (done.has(t.name)) return;
    if (path.includes(t.name))
      throw new Error(`store tables reference each other in a cycle: ${[...path, t.name].join(' → ')}`);
    for (const d of t.dependsOn) {
      const dep = byName.get(d);
      if (dep) visit(dep, [...path, t.name]);
    }
    done.add(t.name);
    out.push(t);
  };
  for (const t of tables) visit(t, []);
  return out;
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Order-independent: the rows' hashes sorted, then hashed (the backends may return rows in different orders). */
function checksum(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): string {
  const hashes = rows
    .map((r) =>
      createHash('sha256')
        .update(JSON.stringify(columns.map((c) => r[c] ?? null)))
        .digest('hex'),
    )
    .sort();
  const h = createHash('sha256');
  for (const x of hashes) h.update(x);
  return h.digest('hex').slice(0, 16);
}

/**
 * Copies every table of a SQLite store into a PostgreSQL store in ONE transaction of the target: ids kept, existing
 * keys left alone (a second copy writes nothing), keyless rows replaced per owner. Inside that transaction every
 * table's row count and checksum are compared with the source; any difference (the target held other data) rolls
 * everything back, so the target is never half-written.
 */
export async function copyStore(from: Store, to: Store): Promise<TableCopy[]> {
  if (from.dialect !== 'sqlite' || to.dialect !== 'postgres')
    throw new CairnError('invalid', 'store migrate copies a SQLite store into a PostgreSQL one');
  const [vf, vt] = [await from.schemaVersion(), await to.schemaVersion()];
  if (vf !== vt)
    throw new CairnError(
      'refused',
      `the source store is at schema ${vf}, the target at ${vt}: open both with this Cairn first`,
    );
  await from.writer.flush();
  const tables = await sqliteTables(from.sqlDb);
  const source = new Map<string, Array<Record<string, SqlValue>>>();
  for (const t of tables)
    source.set(
      t.name,
      await from.sqlDb.all<Record<string, SqlValue>>(`SELECT ${t.columns.map(q).join(', ')} FROM ${q(t.name)}`),
    );
  return to.sqlDb.tx(async (db) => {
    const report: TableCopy[] = [];
    for (const t of [...tables.filter((t) => !DERIVED[t.name]), ...tables.filter((t) => DERIVED[t.name])]) {
      const rows = source.get(t.name) ?? [];
      const derived = DERIVED[t.name];
      if (derived) {
        await db.run(noStatementTimeoutSql);
        const written = await db.run(derived.rebuild);
        const cols = derived.key.map(q).join(', ');
        const rebuilt = await db.all<Record<string, SqlValue>>(`SELECT ${cols} FROM ${q(t.name)}`);
        const want = checksum(rows, derived.key);
        if (rebuilt.length !== rows.length || checksum(rebuilt, derived.key) !== want)
          throw new CairnError(
            'refused',
            `store migrate: table ${t.name}, rebuilt in the target, differs from the source's (${rows.length} rows here, ` +
              `${rebuilt.length} there): the target holds other data. Nothing was written; migrate into an empty database.`,
          );
        report.push({ table: t.name, rows: rows.length, written, checksum: want });
        continue;
      }
      const cols = t.columns.map(q).join(', ');
      if (!t.keyed) {
        const owner = KEYLESS_OWNER[t.name];
        if (!owner)
          throw new Error(
            `store migrate does not know how to copy table ${t.name} (no key): add it to KEYLESS_OWNER in store/copy.ts`,
          );
        const owners = [...new Set(rows.map((r) => r[owner] ?? null))].filter(
          (o): o is number => typeof o === 'number',
        );
        for (let i = 0; i < owners.length; i += MAX_PARAMS) {
          const chunk = owners.slice(i, i + MAX_PARAMS);
          await db.run(`DELETE FROM ${q(t.name)} WHERE ${q(owner)} IN (${chunk.map(() => '?').join(', ')})`, chunk);
        }
      }
      let written = 0;
      const perStatement = Math.max(1, Math.floor(MAX_PARAMS / t.columns.length));
      for (let i = 0; i < rows.length; i += perStatement) {
        const chunk = rows.slice(i, i + perStatement);
        const values: SqlValue[] = [];
        for (const r of chunk) for (const c of t.columns) values.push(r[c] ?? null);
        const tuple = `(${t.columns.map(() => '?').join(', ')})`;
        written += await db.run(
          `INSERT INTO ${q(t.name)} (${cols}) VALUES ${chunk.map(() => tuple).join(', ')}${t.keyed ? ' ON CONFLICT DO NOTHING' : ''}`,
          values,
        );
      }
      if (t.identity) {
        // Later inserts on the target take ids after the copied ones.
        await db.get(
          `SELECT setval(pg_get_serial_sequence(?, 'id'), greatest((SELECT max(id) FROM ${q(t.name)}), 1))`,
          [t.name],
        );
      }
      const copied = await db.all<Record<string, SqlValue>>(`SELECT ${cols} FROM ${q(t.name)}`);
      const want = checksum(rows, t.columns);
      const got = checksum(copied, t.columns);
      if (copied.length !== rows.length || want !== got) {
        throw new CairnError(
          'refused',
          `store migrate: table ${t.name} differs after the copy (${rows.length} rows here, ${copied.length} in the target; checksum ` +
            `${want} vs ${got}): the target holds other data. Nothing was written; migrate into an empty database.`,
        );
      }
      report.push({ table: t.name, rows: rows.length, written, checksum: want });
    }
    return report;
  });
}
