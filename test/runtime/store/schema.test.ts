import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { migrate, PG_VERSION_TABLE } from '../../../runtime/src/store/migrations.js';
import { PgDb } from '../../../runtime/src/store/postgres.js';
import { Store } from '../../../runtime/src/store/store.js';
import { postgresCluster } from '../../lib/postgres.js';

/**
 * Both backends' migrations produce one logical schema: tables, columns (type class, NOT NULL, default), primary keys,
 * unique constraints, indexes and foreign keys, read from the catalogs (SQLite pragmas vs PostgreSQL's). PostgreSQL's
 * `seq` column and its index stand in for SQLite's rowid on the tables without a key (dialects.rowOrder).
 */
interface Table {
  columns: Record<string, string>;
  primaryKey: string[];
  unique: string[];
  indexes: string[];
  foreignKeys: string[];
}
type Schema = Record<string, Table>;

const typeClass = (t: string): string => {
  const u = t.toUpperCase();
  if (u === 'INTEGER' || u === 'BIGINT') return 'integer';
  if (u === 'REAL' || u === 'DOUBLE PRECISION') return 'real';
  if (u === 'TEXT') return 'text';
  // A value of its own type per row (run_sort_keys.value): SQLite's typeless column, PostgreSQL's jsonb.
  if (u === '' || u === 'JSONB') return 'typed per value';
  return `other:${u}`;
};
const normDefault = (d: string | null): string => (d === null ? '' : d.replace(/::[a-z ]+$/, ''));
const action = (a: string): string => a.toUpperCase().replace('NO ACTION', 'NO ACTION');

function sqliteSchema(db: Database.Database): Schema {
  const out: Schema = {};
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all() as Array<{ name: string }>;
  for (const { name } of tables) {
    const cols = db.pragma(`table_info(${name})`) as Array<{
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
      pk: number;
    }>;
    const t: Table = { columns: {}, primaryKey: [], unique: [], indexes: [], foreignKeys: [] };
    for (const c of cols)
      t.columns[c.name] =
        `${typeClass(c.type)} ${c.notnull || c.pk ? 'NOT NULL' : 'NULL'} ${normDefault(c.dflt_value)}`.trim();
    t.primaryKey = cols
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => c.name);
    const indexes = db.pragma(`index_list(${name})`) as Array<{ name: string; unique: number; origin: string }>;
    for (const ix of indexes) {
      const columns = (db.pragma(`index_info(${ix.name})`) as Array<{ seqno: number; name: string }>)
        .sort((a, b) => a.seqno - b.seqno)
        .map((c) => c.name);
      if (ix.origin === 'u') t.unique.push(columns.join(','));
      else if (ix.origin === 'c') t.indexes.push(`${ix.name}${ix.unique ? ' UNIQUE' : ''} (${columns.join(',')})`);
    }
    const fks = db.pragma(`foreign_key_list(${name})`) as Array<{
      id: number;
      seq: number;
      table: string;
      from: string;
      to: string;
      on_delete: string;
    }>;
    const byId = new Map<number, typeof fks>();
    for (const f of fks) byId.set(f.id, [...(byId.get(f.id) ?? []), f]);
    for (const group of byId.values()) {
      group.sort((a, b) => a.seq - b.seq);
      const first = group[0];
      if (first)
        t.foreignKeys.push(
          `(${group.map((f) => f.from).join(',')}) -> ${first.table}(${group.map((f) => f.to).join(',')}) ON DELETE ${action(first.on_delete)}`,
        );
    }
    t.unique.sort();
    t.indexes.sort();
    t.foreignKeys.sort();
    out[name] = t;
  }
  return out;
}

const pgAction: Record<string, string> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

async function postgresSchema(db: PgDb): Promise<Schema> {
  const out: Schema = {};
  const cols = await db.all<{
    table_name: string;
    column_name: string;
    data_type: string;
    is_nullable: string;
    column_default: string | null;
  }>(
    "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
  );
  for (const c of cols) {
    if (c.table_name === PG_VERSION_TABLE || c.column_name === 'seq') continue;
    const t = (out[c.table_name] ??= { columns: {}, primaryKey: [], unique: [], indexes: [], foreignKeys: [] });
    t.columns[c.column_name] =
      `${typeClass(c.data_type)} ${c.is_nullable === 'NO' ? 'NOT NULL' : 'NULL'} ${normDefault(c.column_default)}`.trim();
  }
  // Constraints (conkey order is the declared order) and plain indexes.
  const cons = await db.all<{
    t: string;
    contype: string;
    cols: string;
    ftable: string | null;
    fcols: string | null;
    del: string;
  }>(
    `SELECT c.conrelid::regclass::text AS t, c.contype,
       (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(n, ord)
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS cols,
       c.confrelid::regclass::text AS ftable,
       (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(n, ord)
          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n) AS fcols,
       c.confdeltype AS del
     FROM pg_constraint c JOIN pg_namespace ns ON ns.oid = c.connamespace WHERE ns.nspname = 'public' AND c.contype IN ('p', 'u', 'f')`,
  );
  for (const c of cons) {
    const t = out[c.t];
    if (!t) continue;
    if (c.contype === 'p') t.primaryKey = c.cols.split(',');
    else if (c.contype === 'u') t.unique.push(c.cols);
    else t.foreignKeys.push(`(${c.cols}) -> ${c.ftable ?? ''}(${c.fcols ?? ''}) ON DELETE ${pgAction[c.del] ?? c.del}`);
  }
  const ixs = await db.all<{ t: string; name: string; uniq: boolean; cols: string }>(
    `SELECT i.indrelid::regclass::text AS t, ic.relname AS name, i.indisunique AS uniq,
       (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(i.indkey) WITH ORDINALITY k(n, ord)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n) AS cols
     FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace ns ON ns.oid = ic.relnamespace
     WHERE ns.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
  );
  for (const ix of ixs) {
    const t = out[ix.t];
    if (!t || ix.cols === 'seq') continue;
    t.indexes.push(`${ix.name}${ix.uniq ? ' UNIQUE' : ''} (${ix.cols})`);
  }
  for (const t of Object.values(out)) {
    t.unique.sort();
    t.indexes.sort();
    t.foreignKeys.sort();
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

test('the SQLite and PostgreSQL migrations produce the same logical schema', async () => {
  const lite = new Database(':memory:');
  migrate(lite);
  const url = await (await postgresCluster()).createDatabase('schema');
  const store = await Store.postgres(url);
  const db = new PgDb(url);
  try {
    const expected = sqliteSchema(lite);
    const actual = await postgresSchema(db);
    assert.ok(Object.keys(expected).length >= 20, `only ${Object.keys(expected).length} tables read from SQLite`);
    assert.deepEqual(actual, expected);
  } finally {
    lite.close();
    await db.close();
    await store.close();
  }
});
