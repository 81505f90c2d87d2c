import type { Database, Statement } from 'better-sqlite3';
import type { MetricHistory, MetricPoint } from '@cairn/protocol';
import { lttbIndices } from '../../util/downsample.js';
import { dialects, type SqlDb, type SqlValue } from '../sql.js';
import { sortKeyName, upsertSortKeySql, writeSortKey } from './runSortKeys.js';

type MetricRow = [runId: number, stepRunId: number | null, key: string, step: number, time: number, value: number];

const METRIC_COLUMNS = '(run_id, step_run_id, key, step, time, value)';
const READ_LATEST = 'SELECT metrics_json FROM runs WHERE id = ?';
const WRITE_LATEST = 'UPDATE runs SET metrics_json = ? WHERE id = ?';

/**
 * Buffers metric points and writes them in transactions (one per batch, not one per point: a commit costs more than
 * thousands of inserts). Flushed when the batch is full, on a short timer, and whenever a step or run ends. Keeps each
 * run's latest value per key in `runs.metrics_json`, so listing runs never scans the metrics table. The hot path of
 * tracking: `add` never waits; a flush's failure is reported by the next `flush()`.
 */
export interface MetricWriter {
  /** Queues one point; `value` must be finite (NaN and infinities are refused by the callers with a message). */
  add(runId: number, stepRunId: number | null, key: string, step: number, value: number, time?: number): void;
  /** Writes what is queued; resolves when it is in the store. */
  flush(): Promise<void>;
  /** Latest values copied from elsewhere (a cache hit). */
  mergeLatest(runId: number, values: Array<{ key: string; value: number }>): Promise<void>;
  /** Forgets a finished run's summary (it is in the database). */
  release(runId: number): void;
  dispose(): void;
}

abstract class BufferedWriter implements MetricWriter {
  protected rows: MetricRow[] = [];
  protected readonly latest = new Map<number, Record<string, number>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly batchSize: number,
    private readonly flushMs: number,
  ) {}

  add(runId: number, stepRunId: number | null, key: string, step: number, value: number, time = Date.now()): void {
    this.rows.push([runId, stepRunId, key, step, time, value]);
    if (this.rows.length >= this.batchSize) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const rows = this.rows;
    this.rows = [];
    return this.write(rows);
  }

  protected abstract write(rows: MetricRow[]): Promise<void>;
  abstract mergeLatest(runId: number, values: Array<{ key: string; value: number }>): Promise<void>;

  release(runId: number): void {
    this.latest.delete(runId);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** SQLite: synchronous prepared inserts in one better-sqlite3 transaction per batch (the ≥ 80%-of-raw path). */
export class SqliteMetricWriter extends BufferedWriter {
  private readonly insert: Statement;
  private readonly readLatest: Statement<[number], { metrics_json: string }>;
  private readonly writeLatest: Statement;
  private readonly writeSortKey: Statement;
  private readonly writeBatch: (rows: MetricRow[]) => void;

  constructor(db: Database, batchSize = 10_000, flushMs = 100) {
    super(batchSize, flushMs);
    this.insert = db.prepare(`INSERT INTO metrics ${METRIC_COLUMNS} VALUES (?, ?, ?, ?, ?, ?)`);
    this.readLatest = db.prepare(READ_LATEST);
    this.writeLatest = db.prepare(WRITE_LATEST);
    this.writeSortKey = db.prepare(upsertSortKeySql.sqlite);
    this.writeBatch = db.transaction((rows: MetricRow[]) => {
      const touched = new Map<number, Set<string>>();
      for (const r of rows) {
        this.insert.run(r);
        setOwn(this.latestOf(r[0]), r[2], r[5]);
        let keys = touched.get(r[0]);
        if (!keys) touched.set(r[0], (keys = new Set()));
        keys.add(r[2]);
      }
      for (const [runId, keys] of touched) this.writeLatestOf(runId, keys);
    });
  }

  /** The run's summary and the sort keys of the metrics that changed (latest values, one write per key). */
  private writeLatestOf(runId: number, keys: Iterable<string>): void {
    const l = this.latestOf(runId);
    this.writeLatest.run(JSON.stringify(l), runId);
    for (const key of keys) this.writeSortKey.run(runId, sortKeyName('metric', key), l[key] ?? null);
  }

  /** Synchronous: the metric writer is flushed inside other synchronous SQLite work (the prediction log's writer). */
  flushNow(): void {
    void this.flush();
  }

  protected write(rows: MetricRow[]): Promise<void> {
    return new Promise<void>((resolve) => {
      if (rows.length > 0) this.writeBatch(rows);
      resolve();
    });
  }

  mergeLatest(runId: number, values: Array<{ key: string; value: number }>): Promise<void> {
    if (values.length === 0) return Promise.resolve();
    const l = this.latestOf(runId);
    for (const v of values) setOwn(l, v.key, v.value);
    this.writeLatestOf(
      runId,
      values.map((v) => v.key),
    );
    return Promise.resolve();
  }

  private latestOf(runId: number): Record<string, number> {
    let l = this.latest.get(runId);
    if (!l) {
      const row = this.readLatest.get(runId);
      l = row ? (JSON.parse(row.metrics_json) as Record<string, number>) : {};
      this.latest.set(runId, l);
    }
    return l;
  }
}

/** A metric's latest value under its name, as an own property even when the name is `__proto__` (a script may log it). */
function setOwn(l: Record<string, number>, key: string, value: number): void {
  Object.defineProperty(l, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Rows per INSERT statement (6 values each: PostgreSQL binds at most 65,535 parameters per statement). */
const ROWS_PER_STATEMENT = 5000;

/**
 * A networked backend (PostgreSQL): multi-row INSERTs, one transaction per batch, flushes one after another so the
 * latest-value summary is written in order. A failed batch is kept for the next flush, so no point is lost to a
 * transient error.
 */
export class SqlMetricWriter extends BufferedWriter {
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  constructor(
    private readonly db: SqlDb,
    batchSize = 10_000,
    flushMs = 100,
  ) {
    super(batchSize, flushMs);
  }

  protected write(rows: MetricRow[]): Promise<void> {
    const next = this.chain.then(async () => {
      if (rows.length > 0) {
        try {
          await this.db.tx((t) => this.writeRows(t, rows));
        } catch (error) {
          this.rows = [...rows, ...this.rows];
          this.failure = error as Error;
        }
      }
      const failure = this.failure;
      this.failure = undefined;
      if (failure) throw failure;
    });
    // The chain continues after a failure; the failure itself goes to whoever awaits this flush.
    this.chain = next.catch(() => {});
    return next;
  }

  private async writeRows(t: SqlDb, rows: MetricRow[]): Promise<void> {
    const latest = new Map<number, Record<string, number>>();
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
      const values: SqlValue[] = [];
      for (const r of chunk) values.push(...r);
      await t.run(
        `INSERT INTO metrics ${METRIC_COLUMNS} VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
        values,
      );
    }
    const touched = new Map<number, Set<string>>();
    for (const r of rows) {
      let l = latest.get(r[0]);
      if (!l) latest.set(r[0], (l = await this.latestOf(t, r[0])));
      setOwn(l, r[2], r[5]);
      let keys = touched.get(r[0]);
      if (!keys) touched.set(r[0], (keys = new Set()));
      keys.add(r[2]);
    }
    for (const [runId, l] of latest) {
      await t.run(WRITE_LATEST, [JSON.stringify(l), runId]);
      for (const key of touched.get(runId) ?? []) await writeSortKey(t, runId, 'metric', key, l[key]);
    }
    // Only once committed-to-be: a retried transaction starts again from the stored summary.
    for (const [runId, l] of latest) this.latest.set(runId, l);
  }

  private async latestOf(t: SqlDb, runId: number): Promise<Record<string, number>> {
    const known = this.latest.get(runId);
    if (known) return { ...known };
    const row = await t.get<{ metrics_json: string }>(READ_LATEST, [runId]);
    return row ? (JSON.parse(row.metrics_json) as Record<string, number>) : {};
  }

  async mergeLatest(runId: number, values: Array<{ key: string; value: number }>): Promise<void> {
    if (values.length === 0) return;
    await this.flush();
    await this.db.tx(async (t) => {
      const l = await this.latestOf(t, runId);
      for (const v of values) setOwn(l, v.key, v.value);
      await t.run(WRITE_LATEST, [JSON.stringify(l), runId]);
      for (const v of values) await writeSortKey(t, runId, 'metric', v.key, l[v.key]);
      this.latest.set(runId, l);
    });
  }
}

/** Reads of the metrics table (histories, a step's latest values) and the copy a cache hit makes. */
export class MetricRepository {
  private readonly order: string;

  constructor(
    private readonly db: SqlDb,
    readonly writer: MetricWriter,
  ) {
    this.order = dialects[db.dialect].rowOrder;
  }

  /** Latest value of each metric a step run reported. */
  async latestOfStep(stepRunId: number): Promise<Array<{ key: string; value: number }>> {
    await this.writer.flush();
    return this.db.all<{ key: string; value: number }>(
      `SELECT key, value FROM metrics WHERE ${this.order} IN (SELECT max(${this.order}) FROM metrics WHERE step_run_id = ? GROUP BY key)`,
      [stepRunId],
    );
  }

  /**
   * The metrics a run received after `cursor` (0: from the start), in order of arrival, and the cursor to pass next:
   * how the Slurm executor follows what its jobs write into the shared store while they run.
   */
  async after(
    runId: number,
    cursor: number,
  ): Promise<{
    cursor: number;
    rows: Array<{ stepRunId: number | null; key: string; step: number; value: number; time: number }>;
  }> {
    const rows = await this.db.all<{
      seq: number;
      stepRunId: number | null;
      key: string;
      step: number;
      value: number;
      time: number;
    }>(
      `SELECT ${this.order} AS seq, step_run_id AS "stepRunId", key, step, value, time FROM metrics
       WHERE run_id = ? AND ${this.order} > ? ORDER BY ${this.order}`,
      [runId, cursor],
    );
    return {
      cursor: rows.at(-1)?.seq ?? cursor,
      rows: rows.map(({ seq: _seq, ...r }) => r),
    };
  }

  /** Every point a step run reported, in the order reported (a remote cache entry carries them). */
  async pointsOfStep(stepRunId: number): Promise<Array<{ key: string; step: number; time: number; value: number }>> {
    await this.writer.flush();
    return this.db.all<{ key: string; step: number; time: number; value: number }>(
      `SELECT key, step, time, value FROM metrics WHERE step_run_id = ? ORDER BY ${this.order}`,
      [stepRunId],
    );
  }

  /** A cache hit carries the original step's metrics into the new run, so the run is complete on its own. */
  async copyStep(
    fromStepRunId: number,
    runId: number,
    stepRunId: number,
  ): Promise<Array<{ key: string; value: number }>> {
    await this.writer.flush();
    await this.db.run(
      `INSERT INTO metrics ${METRIC_COLUMNS} SELECT ?, ?, key, step, time, value FROM metrics WHERE step_run_id = ? ORDER BY ${this.order}`,
      [runId, stepRunId, fromStepRunId],
    );
    const latest = await this.latestOfStep(fromStepRunId);
    await this.writer.mergeLatest(runId, latest);
    return latest;
  }

  /**
   * A metric's history, at most `maxPoints` points. Long histories are reduced inside the database first (min and max
   * of each of `maxPoints` x-buckets: spikes survive, and only ~2×maxPoints rows reach JavaScript), then LTTB picks the
   * final points from those candidates.
   */
  async history(runId: number, key: string, maxPoints = 2000): Promise<MetricHistory> {
    await this.writer.flush();
    const stats = (await this.db.get<{ n: number; lo: number | null; hi: number | null }>(
      'SELECT count(*) AS n, min(step) AS lo, max(step) AS hi FROM metrics WHERE run_id = ? AND key = ?',
      [runId, key],
    )) ?? { n: 0, lo: null, hi: null };
    const all = () =>
      this.db.all<MetricPoint>(
        `SELECT step, value, time FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, ${this.order}`,
        [runId, key],
      );
    if (stats.n <= maxPoints) return { runId, key, total: stats.n, points: await all(), downsampled: false };
    let candidates: MetricPoint[];
    let byOrder = false;
    const lo = stats.lo ?? 0;
    const hi = stats.hi ?? 0;
    if (hi > lo) {
      // One small range query per x-bucket (its min and max row): each walks only its slice of the covering index,
      // where a GROUP BY on a computed bucket would sort all rows in a temp b-tree.
      const buckets = maxPoints;
      const width = (hi - lo) / buckets;
      const pick = (agg: 'min' | 'max', from: number, to: number) =>
        this.db.dialect === 'sqlite'
          ? // SQLite: a bare column beside min()/max() comes from the row holding it.
            this.db.get<MetricPoint & { n: number }>(
              `SELECT step, ${agg}(value) AS value, time, count(*) AS n FROM metrics WHERE run_id = ? AND key = ? AND step >= ? AND step < ?`,
              [runId, key, from, to],
            )
          : this.db.get<MetricPoint & { n: number }>(
              `SELECT step, value, time, 1 AS n FROM metrics WHERE run_id = ? AND key = ? AND step >= ? AND step < ?
               ORDER BY value ${agg === 'min' ? 'ASC' : 'DESC'} LIMIT 1`,
              [runId, key, from, to === Number.POSITIVE_INFINITY ? Number.MAX_VALUE : to],
            );
      candidates = [];
      for (let b = 0; b < buckets; b++) {
        const from = lo + b * width;
        const to = b === buckets - 1 ? Number.POSITIVE_INFINITY : lo + (b + 1) * width;
        const a = await pick('min', from, to);
        if (!a || a.n === 0) continue;
        const z = await pick('max', from, to);
        const pair = [a, z]
          .filter((p): p is MetricPoint & { n: number } => p !== undefined)
          .sort((p, q) => p.step - q.step);
        for (const p of pair) {
          const last = candidates.at(-1);
          if (!last || last.step !== p.step || last.value !== p.value)
            candidates.push({ step: p.step, value: p.value, time: p.time });
        }
      }
    } else {
      // Every point at the same x: nothing to bucket by, so reduce in order of arrival.
      candidates = await all();
      byOrder = true;
    }
    const xs = Float64Array.from(candidates, (p, i) => (byOrder ? i : p.step));
    const ys = Float64Array.from(candidates, (p) => p.value);
    const points = lttbIndices(xs, ys, maxPoints).map((i) => candidates[i] as MetricPoint);
    return { runId, key, total: stats.n, points, downsampled: true };
  }
}
