import type Database from 'better-sqlite3';
import * as os from 'node:os';
import { migrate } from './migrations.js';
import { migratePostgres, PG_VERSION_TABLE, postgresSchemaVersion } from './migrations.js';
import { PgDb, redactUrl } from './postgres.js';
import { SqlRowWriter } from './predictionRows.js';
import { ArtifactRepository } from './repos/artifacts.js';
import { AbEventRepository } from './repos/abEvents.js';
import { DeploymentRepository } from './repos/deployments.js';
import { MetricRepository, SqliteMetricWriter, SqlMetricWriter, type MetricWriter } from './repos/metrics.js';
import { MonitorRepository } from './repos/monitor.js';
import { RegistryRepository } from './repos/registry.js';
import { RunRepository, RUNS_CHANNEL } from './repos/runs.js';
import { SweepRepository } from './repos/sweeps.js';
import type { SqlDb } from './sql.js';
import { SqliteDb } from './sqlite.js';

export { REDACTED, type NewRun, type RunChangeRow, type StepRunRow } from './repos/runs.js';
export type { CacheEntry, CachedOutput, StepIo } from './repos/artifacts.js';
export type { NewDeployment, LoggedPrediction } from './repos/deployments.js';
export { ConflictError } from './sql.js';

/** The repositories over one connection (or one transaction's handle). */
export interface Repositories {
  readonly runs: RunRepository;
  readonly artifacts: ArtifactRepository;
  readonly registry: RegistryRepository;
  readonly deployments: DeploymentRepository;
  readonly monitor: MonitorRepository;
  readonly abEvents: AbEventRepository;
  readonly sweeps: SweepRepository;
}

function repositories(db: SqlDb, writer?: MetricWriter): Repositories {
  return {
    runs: new RunRepository(db, writer),
    artifacts: new ArtifactRepository(db),
    registry: new RegistryRepository(db),
    deployments: new DeploymentRepository(db),
    monitor: new MonitorRepository(db),
    abEvents: new AbEventRepository(db),
    sweeps: new SweepRepository(db),
  };
}

/**
 * The tracking store: every table of the runtime behind typed repositories (runs, metrics, artifacts and lineage,
 * registry, deployments and the prediction log, monitoring). The one place SQL is written (runtime/src/store/).
 * Embedded default: `.cairn/cairn.db` (SQLite: WAL, busy timeout, migrations on open).
 */
export class Store implements Repositories {
  private readonly sql: SqliteDb | PgDb;
  /** The SQLite file, or the PostgreSQL URL with its password redacted. */
  readonly file: string;
  readonly runs: RunRepository;
  readonly artifacts: ArtifactRepository;
  readonly registry: RegistryRepository;
  readonly deployments: DeploymentRepository;
  readonly monitor: MonitorRepository;
  readonly abEvents: AbEventRepository;
  readonly sweeps: SweepRepository;
  readonly metrics: MetricRepository;
  /** Resolves once runs left by dead processes are marked (see RunRepository.markInterrupted). */
  readonly ready: Promise<void>;

  /** A SQLite store (created and migrated when new), or a PostgreSQL one already migrated (see Store.postgres). */
  constructor(file: string | PgDb, options: { busyTimeoutMs?: number } = {}) {
    let writer: MetricWriter;
    if (typeof file === 'string') {
      const sqlite = new SqliteDb(file, options);
      migrate(sqlite.raw);
      this.sql = sqlite;
      this.file = file;
      writer = new SqliteMetricWriter(sqlite.raw);
    } else {
      this.sql = file;
      this.file = redactUrl(file.url);
      writer = new SqlMetricWriter(file);
    }
    const r = repositories(this.sql, writer);
    this.runs = r.runs;
    this.artifacts = r.artifacts;
    this.registry = r.registry;
    this.deployments = r.deployments;
    this.monitor = r.monitor;
    this.abEvents = r.abEvents;
    this.sweeps = r.sweeps;
    this.metrics = new MetricRepository(this.sql, writer);
    const sql = this.sql;
    this.ready = (
      sql instanceof SqliteDb
        ? sql.exclusive((d) => new RunRepository(d).markInterrupted(os.hostname()))
        : new RunRepository(sql).markInterrupted(os.hostname())
    ).then(() => undefined);
  }

  /** Opens a PostgreSQL store: checks the connection, applies pending migrations (once, under an advisory lock). */
  static async postgres(url: string, options: { statementTimeoutMs?: number } = {}): Promise<Store> {
    const db = new PgDb(url, options);
    try {
      await db.connect();
      await migratePostgres(db);
    } catch (error) {
      await db.close().catch(() => {});
      throw error;
    }
    const store = new Store(db);
    await store.ready;
    return store;
  }

  /** The schema version reached (the newest migration applied). */
  async schemaVersion(): Promise<number> {
    if (this.sql instanceof SqliteDb) return Number(this.sql.raw.pragma('user_version', { simple: true }));
    return postgresSchemaVersion(this.sql);
  }

  /** Rows per table of the logical schema (cairn store info, store migrate's check), by table name. */
  async tableCounts(): Promise<Record<string, number>> {
    const names =
      this.sql instanceof SqliteDb
        ? await this.sql.all<{ name: string }>(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
          )
        : await this.sql.all<{ name: string }>(
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> ? ORDER BY table_name",
            [PG_VERSION_TABLE],
          );
    const out: Record<string, number> = {};
    // Names come from the catalog, not from input.
    for (const { name } of names)
      out[name] = (await this.sql.get<{ n: number }>(`SELECT count(*) AS n FROM "${name}"`))?.n ?? 0;
    return out;
  }

  get dialect(): SqlDb['dialect'] {
    return this.sql.dialect;
  }

  /** The query interface, for store-layer code (cairn store info / migrate, tests) that works on both backends. */
  get sqlDb(): SqlDb {
    return this.sql;
  }

  get writer(): MetricWriter {
    return this.metrics.writer;
  }

  /** How long a write waits for another process's lock (SQLite's busy timeout; PostgreSQL waits on its own). */
  waitForLocks(ms: number): void {
    if (this.sql instanceof SqliteDb) this.sql.raw.pragma(`busy_timeout = ${ms}`);
  }

  /** One write transaction over several repositories: all of it is stored, or none. */
  tx<T>(fn: (s: Repositories) => Promise<T>): Promise<T> {
    return this.sql.tx((t) => fn(repositories(t)));
  }

  /**
   * The SQLite connection, for what must stay synchronous on the embedded backend (the prediction log's writer,
   * store/predictionRows.ts) and for tests and benchmarks that look at rows directly.
   */
  get db(): Database.Database {
    if (!(this.sql instanceof SqliteDb)) {
      throw new Error(`${this.file} is a PostgreSQL store: it has no SQLite connection (use its repositories)`);
    }
    return this.sql.raw;
  }

  /**
   * The prediction log's writer over this store's query interface (asynchronous, batched): what a networked store
   * uses; the embedded one keeps its synchronous writer thread (store/predictionRows.ts).
   */
  predictionWriter(deploymentId: number, maxRows: number): SqlRowWriter {
    return new SqlRowWriter(this.sql, deploymentId, maxRows);
  }

  /**
   * The environment a child process (a deployment's `cairn serve`) needs to open this same store, whatever named it
   * here (a flag, CAIRN_STORE_URL, config): the URL goes in the environment, never on a command line.
   */
  childEnv(): { CAIRN_STORE_URL?: string } {
    if (this.sql instanceof PgDb) return { CAIRN_STORE_URL: this.sql.url };
    // An in-memory store cannot be shared with another process: the child falls back to its own settings.
    return this.file === ':memory:' ? {} : { CAIRN_STORE_URL: this.file };
  }

  /**
   * Calls `onChange` when another process may have inserted a run or changed a run's status: on PostgreSQL when the
   * writing transaction's NOTIFY arrives (RUNS_CHANNEL; also after a lost listening connection came back), on SQLite
   * when `PRAGMA data_version` moved (any other connection's commit), read every `minMs`, the pause doubling up to
   * `maxMs` while nothing changes. Resolves once watching.
   */
  async watchRuns(
    onChange: () => void,
    options: { minMs?: number; maxMs?: number } = {},
  ): Promise<{ close(): Promise<void> }> {
    const sql = this.sql;
    if (sql instanceof PgDb) return sql.listen(RUNS_CHANNEL, () => onChange());
    const minMs = options.minMs ?? 250;
    const maxMs = Math.max(minMs, options.maxMs ?? 2000);
    let seen = sql.dataVersion();
    let pause = minMs;
    let timer: NodeJS.Timeout | undefined;
    const tick = (): void => {
      let now: number;
      try {
        now = sql.dataVersion();
      } catch {
        return; // The store closed under the last tick.
      }
      if (now !== seen) {
        seen = now;
        pause = minMs;
        onChange();
      } else pause = Math.min(pause * 2, maxMs);
      timer = setTimeout(tick, pause);
      timer.unref();
    };
    timer = setTimeout(tick, pause);
    timer.unref();
    return Promise.resolve({
      close: () => {
        clearTimeout(timer);
        return Promise.resolve();
      },
    });
  }

  /** Writes pending metrics and closes (on SQLite both happen before this returns). */
  close(): Promise<void> {
    const flushed = this.metrics.writer.flush();
    this.metrics.writer.dispose();
    return flushed.then(() => this.sql.close());
  }
}
