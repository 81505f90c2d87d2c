import type Database from 'better-sqlite3';
import * as os from 'node:os';
import { migrate } from './migrations.js';
import { ArtifactRepository } from './repos/artifacts.js';
import { AbEventRepository } from './repos/abEvents.js';
import { DeploymentRepository } from './repos/deployments.js';
import { MetricRepository, SqliteMetricWriter, type MetricWriter } from './repos/metrics.js';
import { MonitorRepository } from './repos/monitor.js';
import { RegistryRepository } from './repos/registry.js';
import { RunRepository } from './repos/runs.js';
import { SweepRepository } from './repos/sweeps.js';
import type { SqlDb } from './sql.js';
import { SqliteDb } from './sqlite.js';

export { REDACTED, type NewRun, type StepRunRow } from './repos/runs.js';
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
  private readonly sql: SqliteDb;
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

  constructor(
    readonly file: string,
    options: { busyTimeoutMs?: number } = {},
  ) {
    this.sql = new SqliteDb(file, options);
    migrate(this.sql.raw);
    const writer = new SqliteMetricWriter(this.sql.raw);
    const r = repositories(this.sql, writer);
    this.runs = r.runs;
    this.artifacts = r.artifacts;
    this.registry = r.registry;
    this.deployments = r.deployments;
    this.monitor = r.monitor;
    this.abEvents = r.abEvents;
    this.sweeps = r.sweeps;
    this.metrics = new MetricRepository(this.sql, writer);
    this.ready = this.sql.exclusive((d) => new RunRepository(d).markInterrupted(os.hostname())).then(() => undefined);
  }

  get writer(): MetricWriter {
    return this.metrics.writer;
  }

  /** How long a write waits for another process's lock (SQLite's busy timeout; PostgreSQL waits on its own). */
  waitForLocks(ms: number): void {
    this.sql.raw.pragma(`busy_timeout = ${ms}`);
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
    return this.sql.raw;
  }

  /** Writes pending metrics and closes (on SQLite both happen before this returns). */
  close(): Promise<void> {
    const flushed = this.metrics.writer.flush();
    this.metrics.writer.dispose();
    return flushed.then(() => this.sql.close());
  }
}
