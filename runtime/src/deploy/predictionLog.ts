import type { Statement } from 'better-sqlite3';
import type { DeploymentArm } from '@cairn/protocol';
import { keyShare } from '../serve/keyShare.js';
import type { Rows } from '../serve/request.js';
import type { Store } from '../store/store.js';

/**
 * The write side of the prediction log (store table `predictions`, migration 5): sampled, bounded, and written off
 * the request path. Requests only push rows into an in-memory buffer; a timer writes it every `flushMs` (or as soon as
 * `batchRows` are waiting), one transaction per `batchRows` rows with the event loop free between them, and on close. A full buffer drops rows (counted), so a slow
 * or locked database never blocks a request. Inputs and predictions are serialized at flush time, not per request, and
 * rows go to SQLite ROWS_PER_INSERT to a statement (bench/serve/logWrite.ts measures the write side alone).
 */

/**
 * One predicted row, as the server hands it over: plain data and shared references only (no closure per row), so
 * buffering a row is one small object; its inputs are read through `cells` and serialized at flush time.
 */
export interface PredictionRow {
  requestId: string;
  row: number;
  arm: DeploymentArm;
  version: number | null;
  abKey: string | null;
  /** The input column names; `fieldAt[i]` is the field of `columns[i]` in `cells`, read at request row `row`. */
  columns: readonly string[];
  fieldAt: readonly number[];
  /** The request's parsed rows, read without copying them. */
  cells: Pick<Rows, 'cell'>;
  prediction: unknown;
  latencyMs: number;
  at: number;
  /** A label that arrived while the row was still buffered. */
  label?: { json: string; at: number };
}

export interface PredictionLogOptions {
  /** Fraction of requests logged (0..1), chosen by a hash of the request id: stable for a given id. */
  sample: number;
  /** Rows kept per deployment; the oldest are deleted beyond it. */
  maxRows: number;
  flushMs?: number;
  batchRows?: number;
  /** Rows the buffer holds before it drops. */
  capacity?: number;
  /** Where write failures are reported (the server log). */
  log?: (line: string) => void;
}

export interface FeedbackItem {
  requestId: string;
  row: number;
  label: number | string | boolean;
}

/** `"name":` per column, computed once per column list (an arm's list lives as long as the model). */
const keyCache = new WeakMap<readonly string[], string[]>();

/** `{"col": cell, …}` for a row's input columns, built as text: the cells are JSON scalars. */
function inputsJson(p: PredictionRow): string {
  let keys = keyCache.get(p.columns);
  if (!keys) keyCache.set(p.columns, (keys = p.columns.map((c) => `${JSON.stringify(c)}:`)));
  let out = '{';
  for (let i = 0; i < keys.length; i++) out += `${i ? ',' : ''}${keys[i] ?? ''}${JSON.stringify(p.cells.cell(p.fieldAt[i] ?? -1, p.row) ?? null)}`;
  return out + '}';
}

/** Rows per multi-row INSERT: fewer statement calls (bench/serve/logWrite.ts: about 20% less CPU per row than one call each). */
const ROWS_PER_INSERT = 50;
const INSERT_COLUMNS = 12;
const INSERT_HEAD = 'INSERT OR IGNORE INTO predictions (deployment_id, request_id, row, arm, version, ab_key, inputs_json, prediction_json, latency_ms, at, label_json, label_at) VALUES ';
const insertSql = (rows: number): string => INSERT_HEAD + Array.from({ length: rows }, () => `(${'?,'.repeat(INSERT_COLUMNS - 1)}?)`).join(',');

const isBusy = (e: unknown): boolean => e instanceof Error && 'code' in e && (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED');

export class PredictionLog {
  readonly sample: number;
  readonly maxRows: number;
  private buffer: PredictionRow[] = [];
  private readonly flushMs: number;
  private readonly batchRows: number;
  private readonly capacity: number;
  private readonly log: (line: string) => void;
  private readonly timer: NodeJS.Timeout;
  private soon: NodeJS.Immediate | undefined;
  private stored: number;
  private closed = false;
  /** Rows written to the store, and rows dropped (buffer full, or a write that failed). */
  logged = 0;
  dropped = 0;
  private readonly insert: Statement;
  private readonly insertMany: Statement;
  /** The bound values of one multi-row INSERT, reused between calls. */
  private readonly values: unknown[] = new Array<unknown>(ROWS_PER_INSERT * INSERT_COLUMNS);
  private readonly trim: Statement;
  private readonly label: Statement;

  constructor(
    private readonly store: Store,
    readonly deploymentId: number,
    opts: PredictionLogOptions,
  ) {
    this.sample = opts.sample;
    this.maxRows = opts.maxRows;
    this.flushMs = opts.flushMs ?? 100;
    this.batchRows = opts.batchRows ?? 250;
    this.capacity = opts.capacity ?? 50_000;
    this.log = opts.log ?? (() => undefined);
    const db = store.db;
    this.insert = db.prepare(insertSql(1));
    this.insertMany = db.prepare(insertSql(ROWS_PER_INSERT));
    // Keeps the newest maxRows rows of this deployment (ids grow with time).
    this.trim = db.prepare('DELETE FROM predictions WHERE deployment_id = ? AND id <= (SELECT id FROM predictions WHERE deployment_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)');
    this.label = db.prepare('UPDATE predictions SET label_json = ?, label_at = ? WHERE deployment_id = ? AND request_id = ? AND row = ?');
    this.stored = db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM predictions WHERE deployment_id = ?').get(deploymentId)?.n ?? 0;
    this.timer = setInterval(() => this.flushQuietly(), this.flushMs);
    this.timer.unref();
  }

  /** Whether a request is logged: a hash of its id under the sample rate, so a retried id gets the same answer. */
  sampled(requestId: string): boolean {
    return this.sample >= 1 || (this.sample > 0 && keyShare(requestId) < this.sample);
  }

  /** Buffers a row; false (and counted) when the buffer is full. Never touches the database. */
  add(row: PredictionRow): boolean {
    if (this.closed || this.buffer.length >= this.capacity) {
      this.dropped++;
      return false;
    }
    this.buffer.push(row);
    if (this.buffer.length >= this.batchRows && !this.soon) this.soon = setImmediate(() => this.flushQuietly());
    return true;
  }

  get pending(): number {
    return this.buffer.length;
  }

  /** Writes the whole buffer (feedback and close need every row on disk). */
  flush(): void {
    while (this.buffer.length > 0 && this.flushSome(Infinity));
  }

  /**
   * Writes up to `limit` buffered rows in one transaction, then trims the deployment's rows to `maxRows`; false when
   * nothing could be written (a locked database keeps the rows for the next try). The timer writes `batchRows` at a
   * time and yields between chunks, so one flush holds the event loop for a few milliseconds at most.
   */
  private flushSome(limit: number): boolean {
    if (this.soon) clearImmediate(this.soon);
    this.soon = undefined;
    if (this.buffer.length === 0) return false;
    const batch = this.buffer.length <= limit ? this.buffer : this.buffer.slice(0, limit);
    this.buffer = this.buffer.length <= limit ? [] : this.buffer.slice(limit);
    let inserted = 0;
    try {
      this.store.db.transaction(() => {
        inserted = this.write(batch);
        this.stored += inserted;
        if (this.stored > this.maxRows) {
          this.trim.run(this.deploymentId, this.deploymentId, this.maxRows);
          this.stored = this.maxRows;
        }
      })();
      this.logged += inserted;
    } catch (e) {
      if (isBusy(e) && !this.closed) {
        // Put the rows back in front of any that arrived since; what does not fit is dropped.
        const keep = batch.concat(this.buffer);
        this.buffer = keep.slice(0, this.capacity);
        this.dropped += keep.length - this.buffer.length;
        return false;
      }
      this.dropped += batch.length;
      this.log(`prediction log: ${batch.length} rows not written: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (this.buffer.length > 0 && !this.closed) this.soon = setImmediate(() => this.flushQuietly());
    return true;
  }

  /** Inserts `batch` (inside the caller's transaction): ROWS_PER_INSERT rows per statement, the rest one by one. */
  private write(batch: readonly PredictionRow[]): number {
    const v = this.values;
    let inserted = 0;
    let i = 0;
    for (; i + ROWS_PER_INSERT <= batch.length; i += ROWS_PER_INSERT) {
      for (let j = 0; j < ROWS_PER_INSERT; j++) this.bind(v, j * INSERT_COLUMNS, batch[i + j] as PredictionRow);
      inserted += this.insertMany.run(v).changes;
    }
    const one = v.slice(0, INSERT_COLUMNS);
    for (; i < batch.length; i++) {
      this.bind(one, 0, batch[i] as PredictionRow);
      inserted += this.insert.run(one).changes;
    }
    return inserted;
  }

  private bind(v: unknown[], o: number, p: PredictionRow): void {
    v[o] = this.deploymentId;
    v[o + 1] = p.requestId;
    v[o + 2] = p.row;
    v[o + 3] = p.arm;
    v[o + 4] = p.version;
    v[o + 5] = p.abKey;
    v[o + 6] = inputsJson(p);
    v[o + 7] = JSON.stringify(p.prediction);
    v[o + 8] = p.latencyMs;
    v[o + 9] = p.at;
    v[o + 10] = p.label?.json ?? null;
    v[o + 11] = p.label?.at ?? null;
  }

  /**
   * Stores labels for logged rows. Rows still in the buffer are flushed first (a label may arrive before the flush),
   * and if the database is busy the label is attached to the buffered row instead, so no label is lost to the race.
   */
  feedback(items: FeedbackItem[]): { updated: number; unknown: number } {
    this.flush();
    const at = Date.now();
    let updated = 0;
    const buffered = this.buffer.length ? new Map(this.buffer.map((p) => [`${p.row}\u0000${p.requestId}`, p])) : undefined;
    const pending: FeedbackItem[] = [];
    for (const f of items) {
      const p = buffered?.get(`${f.row}\u0000${f.requestId}`);
      if (p) {
        p.label = { json: JSON.stringify(f.label), at };
        updated++;
      } else pending.push(f);
    }
    this.store.db.transaction(() => {
      for (const f of pending) updated += this.label.run(JSON.stringify(f.label), at, this.deploymentId, f.requestId, f.row).changes;
    })();
    return { updated, unknown: items.length - updated };
  }

  /** Writes what is buffered (waiting up to `busyMs` for a lock) and stops the timer; later rows are dropped. */
  close(busyMs = 5_000): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.store.db.pragma(`busy_timeout = ${busyMs}`);
    this.flush();
  }

  private flushQuietly(): void {
    try {
      this.flushSome(this.batchRows);
    } catch (e) {
      this.log(`prediction log: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
