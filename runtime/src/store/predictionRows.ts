import Database, { type Statement } from 'better-sqlite3';
import type { SqlDb, SqlValue } from './sql.js';

/**
 * The prediction log's rows as they travel and are written (table `predictions`, migration 5): one definition of the
 * row layout, the INSERTs and the bound, used by the writer thread (logWriter.worker.ts) and, when no thread can be
 * started, by the serving thread itself (runtime/src/deploy/predictionLog.ts). On SQLite it is synchronous by design:
 * the serving thread's flush waits on the writer thread with Atomics, and a label must find its row before the reply.
 * A networked store (PostgreSQL) gets the same batches, rows and statements through SqlRowWriter, asynchronously: the
 * wait is on the network, not the CPU, so it stays on the serving thread without holding its event loop.
 *
 * A batch is a flat array, ROW_VALUES values per row: request id, row, arm, version, A/B key, the input column names
 * (one array shared by the rows of an arm: structured clone copies it once per batch), the row's input cells, the
 * prediction (as answered), latency, time, label JSON, label time. The serving thread only copies values into it;
 * the JSON text of inputs and prediction is made here, where the rows are written.
 */
export const ROW_VALUES = 12;
/** Offsets of the label's two values in a row's slice of a batch (set when a label reaches a row not yet written). */
export const LABEL_JSON = 10;
export const LABEL_AT = 11;
/** Offsets of the request id and row number (how feedback finds a row). */
export const REQUEST_ID = 0;
export const ROW = 1;
const COLUMNS = 5;
const CELLS = 6;
const PREDICTION = 7;

/** deployment_id and the 11 stored columns of a row. */
const INSERT_COLUMNS = 12;
/** Rows per multi-row INSERT: fewer statement calls (bench/serve/logWrite.ts: about 20% less CPU per row than one call each). */
const ROWS_PER_INSERT = 50;
const INSERT_HEAD =
  'INSERT INTO predictions (deployment_id, request_id, row, arm, version, ab_key, inputs_json, prediction_json, latency_ms, at, label_json, label_at) VALUES ';
const insertSql = (rows: number): string =>
  INSERT_HEAD +
  Array.from({ length: rows }, () => `(${'?,'.repeat(INSERT_COLUMNS - 1)}?)`).join(',') +
  ' ON CONFLICT DO NOTHING';

/** Keeps the newest maxRows rows of a deployment (ids grow with time). */
const TRIM_SQL =
  'DELETE FROM predictions WHERE deployment_id = ? AND id <= (SELECT id FROM predictions WHERE deployment_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)';
const COUNT_SQL = 'SELECT count(*) AS n FROM predictions WHERE deployment_id = ?';
const LABEL_SQL =
  'UPDATE predictions SET label_json = ?, label_at = ? WHERE deployment_id = ? AND request_id = ? AND row = ?';

export const isBusy = (e: unknown): boolean =>
  e instanceof Error && 'code' in e && (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED');

/** What the serving thread sends the writer thread. */
export type WriterRequest = { kind: 'write'; seq: number; values: unknown[]; busyMs: number } | { kind: 'close' };

/** What the writer thread answers, one reply per `write`: rows inserted, the database busy (rows not written), or a failure. */
export type WriterReply =
  | { seq: number; inserted: number }
  | { seq: number; busy: true }
  | { seq: number; error: string }
  | { startError: string };

/** Where the writer thread is told what to open. */
export interface WriterData {
  file: string;
  deploymentId: number;
  maxRows: number;
  /** Int32Array over a SharedArrayBuffer: the writer adds 1 to [0] after each reply, so the serving thread can wait for one. */
  signal: SharedArrayBuffer;
}

/** Turns a batch's values into the bound values of the INSERT (one definition for both writers). */
class RowBinder {
  /** `"name":` per column, once per column list (a batch carries one list per arm). */
  private readonly keys = new WeakMap<readonly string[], string[]>();

  constructor(private readonly deploymentId: number) {}

  bind(to: unknown[], o: number, from: readonly unknown[], f: number): void {
    to[o] = this.deploymentId;
    for (let k = 0; k < COLUMNS; k++) to[o + 1 + k] = from[f + k];
    to[o + 6] = this.inputsJson(from[f + COLUMNS] as readonly string[], from[f + CELLS] as readonly unknown[]);
    to[o + 7] = JSON.stringify(from[f + PREDICTION]);
    for (let k = PREDICTION + 1; k < ROW_VALUES; k++) to[o + k] = from[f + k];
  }

  /** `{"col": cell, …}` for a row's input columns, built as text: the cells are JSON scalars. */
  private inputsJson(columns: readonly string[], cells: readonly unknown[]): string {
    let keys = this.keys.get(columns);
    if (!keys) this.keys.set(columns, (keys = columns.map((c) => `${JSON.stringify(c)}:`)));
    let out = '{';
    for (let i = 0; i < keys.length; i++) out += `${i ? ',' : ''}${keys[i] ?? ''}${JSON.stringify(cells[i] ?? null)}`;
    return out + '}';
  }
}

/** Inserts batches into `predictions` and keeps the deployment's newest `maxRows` rows. One per connection. */
export class RowWriter {
  private readonly insert: Statement;
  private readonly insertMany: Statement;
  private readonly trim: Statement;
  private readonly binder: RowBinder;
  /** The bound values of one multi-row INSERT, reused between calls. */
  private readonly many = new Array<unknown>(ROWS_PER_INSERT * INSERT_COLUMNS);
  private readonly one = new Array<unknown>(INSERT_COLUMNS);
  private stored: number;

  constructor(
    private readonly db: Database.Database,
    private readonly deploymentId: number,
    private readonly maxRows: number,
  ) {
    this.binder = new RowBinder(deploymentId);
    this.insert = db.prepare(insertSql(1));
    this.insertMany = db.prepare(insertSql(ROWS_PER_INSERT));
    this.trim = db.prepare(TRIM_SQL);
    this.stored = db.prepare<[number], { n: number }>(COUNT_SQL).get(deploymentId)?.n ?? 0;
  }

  /** Writes a batch (ROW_VALUES values per row) in one transaction and trims to the bound; the rows inserted (a repeated id is ignored). Throws as SQLite does (busy included): nothing is written then. */
  write(values: readonly unknown[]): number {
    const rows = Math.floor(values.length / ROW_VALUES);
    let inserted = 0;
    this.db.transaction(() => {
      let r = 0;
      for (; r + ROWS_PER_INSERT <= rows; r += ROWS_PER_INSERT) {
        for (let j = 0; j < ROWS_PER_INSERT; j++)
          this.binder.bind(this.many, j * INSERT_COLUMNS, values, (r + j) * ROW_VALUES);
        inserted += this.insertMany.run(this.many).changes;
      }
      for (; r < rows; r++) {
        this.binder.bind(this.one, 0, values, r * ROW_VALUES);
        inserted += this.insert.run(this.one).changes;
      }
      if (this.stored + inserted > this.maxRows) this.trim.run(this.deploymentId, this.deploymentId, this.maxRows);
    })();
    this.stored = Math.min(this.maxRows, this.stored + inserted);
    return inserted;
  }
}

/** Rows per INSERT on a networked store: one round trip per 250 rows (3,000 bound values, far below PostgreSQL's 65,535). */
const SQL_ROWS_PER_INSERT = 250;

/**
 * The prediction log's writer for a networked store (PostgreSQL), over the store's query interface: the same rows and
 * statements as RowWriter, each batch one transaction of multi-row INSERTs and the trim, so a batch is stored whole
 * or not at all (a failed one is handed back or counted by the caller, as on SQLite).
 */
export class SqlRowWriter {
  private readonly binder: RowBinder;
  private stored: number | undefined;

  constructor(
    private readonly db: SqlDb,
    private readonly deploymentId: number,
    private readonly maxRows: number,
  ) {
    this.binder = new RowBinder(deploymentId);
  }

  /** Writes a batch (ROW_VALUES values per row); the rows inserted (a repeated id is ignored). */
  async write(values: readonly unknown[]): Promise<number> {
    const rows = Math.floor(values.length / ROW_VALUES);
    const stored = (this.stored ??= (await this.db.get<{ n: number }>(COUNT_SQL, [this.deploymentId]))?.n ?? 0);
    const inserted = await this.db.tx(async (t) => {
      let n = 0;
      for (let r = 0; r < rows; r += SQL_ROWS_PER_INSERT) {
        const count = Math.min(SQL_ROWS_PER_INSERT, rows - r);
        const bound = new Array<unknown>(count * INSERT_COLUMNS);
        for (let j = 0; j < count; j++) this.binder.bind(bound, j * INSERT_COLUMNS, values, (r + j) * ROW_VALUES);
        n += await t.run(insertSql(count), bound as SqlValue[]);
      }
      if (stored + n > this.maxRows) await t.run(TRIM_SQL, [this.deploymentId, this.deploymentId, this.maxRows]);
      return n;
    });
    this.stored = Math.min(this.maxRows, stored + inserted);
    return inserted;
  }

  /** Stores labels for written rows in one transaction; returns how many rows they reached. */
  label(items: ReadonlyArray<{ requestId: string; row: number; label: unknown }>, at: number): Promise<number> {
    if (items.length === 0) return Promise.resolve(0);
    return this.db.tx(async (t) => {
      let updated = 0;
      for (const f of items)
        updated += await t.run(LABEL_SQL, [JSON.stringify(f.label), at, this.deploymentId, f.requestId, f.row]);
      return updated;
    });
  }
}

/** The writer thread's own connection to the workspace store (it exists: the serving thread opened it first). */
export function openWriterConnection(file: string): Database.Database {
  const db = new Database(file, { fileMustExist: true });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}

export function setBusyTimeout(db: Database.Database, ms: number): void {
  db.pragma(`busy_timeout = ${ms}`);
}

export function busyTimeout(db: Database.Database): number {
  return Number(db.pragma('busy_timeout', { simple: true }));
}

/** Stores labels for written rows in one transaction; returns how many rows they reached. */
export function labelRows(
  db: Database.Database,
  deploymentId: number,
  items: Array<{ requestId: string; row: number; label: unknown }>,
  at: number,
): number {
  const label = db.prepare(LABEL_SQL);
  let updated = 0;
  db.transaction(() => {
    for (const f of items) updated += label.run(JSON.stringify(f.label), at, deploymentId, f.requestId, f.row).changes;
  })();
  return updated;
}
