import type { Database } from 'better-sqlite3';
import type pg from 'pg';
import type { PgDb } from './postgres.js';
import { noStatementTimeoutSql, rebuildSortKeysSql, RUN_SORT_KEYS } from './repos/runSortKeys.js';

/**
 * Versioned schema migrations, one list for both backends, applied in version order inside one transaction each
 * (SQLite: `PRAGMA user_version` holds the version reached; PostgreSQL: table `schema_version`). Adding one is one
 * entry: append `{ version: <next>, name, up }` here, or call `registerMigrations` from your own module before the
 * store is opened. Write `up` in portable SQL (SQLite spelling: INTEGER, REAL, TEXT, `INTEGER PRIMARY KEY`,
 * `WITHOUT ROWID`): `toPostgresDdl` maps it. Where the dialects differ beyond that, give `postgres` too (replaces the
 * mapped `up` there). test/runtime/store/schema.test.ts fails when the two logical schemas differ. Never edit an
 * applied one.
 */
export interface Migration {
  version: number;
  name: string;
  up: string | ((db: Database) => void);
  /** PostgreSQL SQL where mapping `up` is not enough (required when `up` is a function). */
  postgres?: string;
}

const core: Migration[] = [
  {
    version: 1,
    name: 'tracking: pipelines, runs, steps, params, metrics, tags, artifacts, cache, lineage',
    up: `
      CREATE TABLE pipelines (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        file TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        pipeline_id INTEGER NOT NULL REFERENCES pipelines(id),
        status TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        git_commit TEXT,
        git_dirty INTEGER,
        backend TEXT,
        platform TEXT NOT NULL,
        cairn_version TEXT NOT NULL,
        pid INTEGER,
        selection TEXT,
        error TEXT,
        params_json TEXT NOT NULL DEFAULT '{}',
        metrics_json TEXT NOT NULL DEFAULT '{}',
        tags_json TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX runs_by_pipeline ON runs(pipeline_id, started_at);
      CREATE INDEX runs_by_status ON runs(status);
      CREATE TABLE params (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        type TEXT NOT NULL,
        secret INTEGER NOT NULL,
        overridden INTEGER NOT NULL,
        PRIMARY KEY (run_id, name)
      ) WITHOUT ROWID;
      CREATE TABLE tags (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
      ) WITHOUT ROWID;
      CREATE TABLE step_runs (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step TEXT NOT NULL,
        status TEXT NOT NULL,
        cache_hit INTEGER NOT NULL DEFAULT 0,
        cache_key TEXT,
        started_at INTEGER,
        ended_at INTEGER,
        duration_ms REAL,
        error TEXT,
        log_path TEXT,
        UNIQUE (run_id, step)
      );
      -- No foreign keys here: metric ingest is the hot path.
      CREATE TABLE metrics (
        run_id INTEGER NOT NULL,
        step_run_id INTEGER,
        key TEXT NOT NULL,
        step REAL NOT NULL,
        time INTEGER NOT NULL,
        value REAL NOT NULL
      );
      CREATE INDEX metrics_by_run_key ON metrics(run_id, key, step);
      CREATE TABLE artifacts (
        hash TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        size INTEGER NOT NULL,
        stored INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE step_io (
        step_run_id INTEGER NOT NULL REFERENCES step_runs(id) ON DELETE CASCADE,
        direction TEXT NOT NULL,
        name TEXT,
        path TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX step_io_by_step ON step_io(step_run_id);
      CREATE INDEX step_io_by_hash ON step_io(hash);
      CREATE INDEX step_io_by_path ON step_io(path);
      CREATE TABLE cache_entries (
        key TEXT PRIMARY KEY,
        step_run_id INTEGER NOT NULL,
        outputs TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      -- Edges beyond step inputs/outputs: artifact → model version → deployment (node ids as in LineageNode.id).
      CREATE TABLE lineage_edges (
        from_id TEXT NOT NULL,
        to_id TEXT NOT NULL,
        run_id INTEGER,
        PRIMARY KEY (from_id, to_id)
      ) WITHOUT ROWID;
      CREATE INDEX lineage_edges_by_to ON lineage_edges(to_id);
      -- path+size+mtime → sha256, so an unchanged file is not re-read on every run.
      CREATE TABLE file_hashes (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns TEXT NOT NULL,
        hash TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
    // metrics and step_io have no key: SQLite orders them by rowid, PostgreSQL by `seq` (sql.ts dialects.rowOrder).
    get postgres(): string {
      return `${toPostgresDdl(typeof this.up === 'string' ? this.up : '')}
        ALTER TABLE metrics ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
        CREATE UNIQUE INDEX metrics_seq ON metrics(seq);
        ALTER TABLE step_io ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
        CREATE UNIQUE INDEX step_io_seq ON step_io(seq);`;
    },
  },
  {
    version: 2,
    name: 'step_runs.pid: the process group of a running command step, killed if its runtime died',
    up: 'ALTER TABLE step_runs ADD COLUMN pid INTEGER;',
  },
  {
    version: 3,
    name: 'metrics index covers value and time: history queries never touch the table rows',
    up: `
      DROP INDEX metrics_by_run_key;
      CREATE INDEX metrics_by_run_key ON metrics(run_id, key, step, value, time);
    `,
  },
  {
    version: 4,
    name: 'model registry: registered models, versions (run, artifact, card, metrics snapshot), aliases and their history',
    up: `
      CREATE TABLE registered_models (
        name TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      -- A version outlives the run that registered it (run ids become NULL): its artifact and metrics stay.
      CREATE TABLE model_versions (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL REFERENCES registered_models(name),
        version INTEGER NOT NULL,
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        step_run_id INTEGER REFERENCES step_runs(id) ON DELETE SET NULL,
        step TEXT,
        artifact_hash TEXT NOT NULL,
        artifact_kind TEXT NOT NULL,
        path TEXT NOT NULL,
        card_path TEXT,
        card_hash TEXT,
        metrics_json TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        UNIQUE (name, version)
      );
      CREATE INDEX model_versions_by_run ON model_versions(run_id, name, artifact_hash);
      CREATE INDEX model_versions_by_hash ON model_versions(artifact_hash);
      CREATE TABLE model_aliases (
        name TEXT NOT NULL REFERENCES registered_models(name),
        alias TEXT NOT NULL,
        version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (name, alias),
        FOREIGN KEY (name, version) REFERENCES model_versions(name, version)
      ) WITHOUT ROWID;
      -- Every alias move (who, when, from → to, why); a rollback names the move it undoes.
      CREATE TABLE model_alias_history (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL REFERENCES registered_models(name),
        alias TEXT NOT NULL,
        from_version INTEGER,
        to_version INTEGER NOT NULL,
        action TEXT NOT NULL,
        undoes INTEGER REFERENCES model_alias_history(id),
        actor TEXT NOT NULL,
        reason TEXT,
        at INTEGER NOT NULL
      );
      CREATE INDEX model_alias_history_by_alias ON model_alias_history(name, alias, id);
    `,
  },
  {
    version: 5,
    name: 'deployments, prediction log, monitoring, gate overrides, A/B results',
    // Deployment and monitoring (issue 6; contract: protocol/src/runtime/deploy.ts).
    up: `
      -- A cairn serve process against this store. status: serving | stopped | interrupted (its pid died unannounced).
      CREATE TABLE deployments (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        ref TEXT NOT NULL,
        version INTEGER,
        challenger_ref TEXT,
        challenger_version INTEGER,
        split REAL,
        ab_key TEXT,
        url TEXT NOT NULL,
        pid INTEGER NOT NULL,
        log_sample REAL NOT NULL,
        status TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        stopped_at INTEGER
      );
      CREATE INDEX deployments_by_name ON deployments(name, id);
      -- Sampled, bounded prediction log: one row per request row. Feedback (a label arriving later) fills label_json.
      CREATE TABLE predictions (
        id INTEGER PRIMARY KEY,
        deployment_id INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        request_id TEXT NOT NULL,
        row INTEGER NOT NULL,
        arm TEXT NOT NULL,
        version INTEGER,
        ab_key TEXT,
        inputs_json TEXT NOT NULL,
        prediction_json TEXT NOT NULL,
        latency_ms REAL NOT NULL,
        at INTEGER NOT NULL,
        label_json TEXT,
        label_at INTEGER,
        UNIQUE (deployment_id, request_id, row)
      );
      CREATE INDEX predictions_by_time ON predictions(deployment_id, at);
      -- Stored monitoring reports (report_json: a DriftViewReport).
      CREATE TABLE monitor_reports (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version INTEGER,
        deployment_id INTEGER REFERENCES deployments(id) ON DELETE SET NULL,
        reference TEXT NOT NULL,
        drifted INTEGER NOT NULL,
        report_json TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX monitor_reports_by_name ON monitor_reports(name, id);
      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version INTEGER,
        deployment_id INTEGER REFERENCES deployments(id) ON DELETE SET NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        report_id INTEGER REFERENCES monitor_reports(id) ON DELETE SET NULL,
        opened_at INTEGER NOT NULL,
        closed_at INTEGER,
        closed_reason TEXT,
        retrain_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL
      );
      CREATE INDEX alerts_open ON alerts(name, closed_at);
      -- A gate promoted past although it failed: who, why, when (and the alias move it allowed).
      CREATE TABLE gate_overrides (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        alias TEXT NOT NULL,
        gate TEXT NOT NULL,
        detail TEXT NOT NULL,
        reason TEXT NOT NULL,
        actor TEXT NOT NULL,
        history_id INTEGER REFERENCES model_alias_history(id),
        at INTEGER NOT NULL
      );
      CREATE TABLE ab_results (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        champion_version INTEGER NOT NULL,
        challenger_version INTEGER NOT NULL,
        source TEXT NOT NULL,
        deployment_id INTEGER REFERENCES deployments(id) ON DELETE SET NULL,
        holdout TEXT,
        result_json TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX ab_results_by_name ON ab_results(name, id);
    `,
  },
  {
    version: 6,
    name: 'runs.gates_json: the evaluation gates of the pipeline as resolved when the run started',
    // RunGates (protocol/src/runtime/model.ts). NULL for the runs recorded before: the promotion gate then reads the
    // pipeline file as it is now, and says so.
    up: 'ALTER TABLE runs ADD COLUMN gates_json TEXT;',
  },
  {
    version: 7,
    name: 'runs.user_name, runs.host: who started a run and on which machine (stores shared by a team)',
    up: `
      ALTER TABLE runs ADD COLUMN user_name TEXT;
      ALTER TABLE runs ADD COLUMN host TEXT;
      CREATE INDEX runs_by_user ON runs(user_name, id);
    `,
  },
  {
    version: 8,
    name: 'ab_impressions, ab_events: top-k answers with an impression id; their impression/click/purchase events',
    // Portable SQL (INTEGER/REAL/TEXT, no AUTOINCREMENT): the ids are the server's and the client's own strings, so
    // an event sent twice is one row (ON CONFLICT (event_id) DO NOTHING in repos/abEvents.ts).
    up: `
      CREATE TABLE ab_impressions (
        id TEXT PRIMARY KEY,
        deployment_id INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        arm TEXT NOT NULL,
        version INTEGER,
        items_json TEXT NOT NULL,
        served_at INTEGER NOT NULL
      );
      CREATE INDEX ab_impressions_by_deployment ON ab_impressions(deployment_id, served_at);
      CREATE TABLE ab_events (
        event_id TEXT PRIMARY KEY,
        impression_id TEXT NOT NULL REFERENCES ab_impressions(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        item TEXT,
        revenue REAL,
        occurred_at INTEGER NOT NULL,
        received_at INTEGER NOT NULL
      );
      CREATE INDEX ab_events_by_impression ON ab_events(impression_id);
    `,
  },
  {
    version: 9,
    name: 'sweeps, runs.sweep_id: the runs of one parameter sweep grouped under one sweep id',
    // matrix_json: the combinations' source (Matrix, protocol/src/pipeline/matrix.ts); params_json: the swept names.
    up: `
      CREATE TABLE sweeps (
        id INTEGER PRIMARY KEY,
        pipeline_id INTEGER NOT NULL REFERENCES pipelines(id),
        created_at INTEGER NOT NULL,
        matrix_json TEXT NOT NULL,
        params_json TEXT NOT NULL,
        combinations INTEGER NOT NULL
      );
      ALTER TABLE runs ADD COLUMN sweep_id INTEGER REFERENCES sweeps(id);
      CREATE INDEX runs_by_sweep ON runs(sweep_id, id);
    `,
  },
  {
    version: 10,
    name: 'run list keyset paging: indexes in the order of the runs/page sorts and filters',
    // (sort key, id) is the page's ORDER BY and cursor; status and pipeline filters keep id order within them.
    up: `
      CREATE INDEX runs_by_started ON runs(started_at, id);
      CREATE INDEX runs_by_status_id ON runs(status, id);
      CREATE INDEX runs_by_pipeline_id ON runs(pipeline_id, id);
    `,
  },
  {
    version: 11,
    name: "run_sort_keys: each run's params and latest metrics as sortable values, indexed in page order",
    // repos/runSortKeys.ts keeps it on write. value: typeless in SQLite (numbers and strings keep their own order, as
    // json_extract's), jsonb in PostgreSQL (as `params_json::jsonb -> key`).
    up: `
      CREATE TABLE ${RUN_SORT_KEYS} (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value NOT NULL,
        PRIMARY KEY (run_id, name)
      ) WITHOUT ROWID;
      CREATE INDEX run_sort_keys_by_value ON ${RUN_SORT_KEYS}(name, value, run_id);
      ${rebuildSortKeysSql.sqlite};
    `,
    // Reading every run's keys may outlast the pool's statement timeout on a big store: not in this transaction.
    postgres: `
      ${noStatementTimeoutSql};
      CREATE TABLE ${RUN_SORT_KEYS} (
        run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value JSONB NOT NULL,
        PRIMARY KEY (run_id, name)
      );
      CREATE INDEX run_sort_keys_by_value ON ${RUN_SORT_KEYS}(name, value, run_id);
      ${rebuildSortKeysSql.postgres};
    `,
  },
  {
    version: 12,
    name: "where a step's cache hit came from: step_runs.cache_source (local | remote | none)",
    // Hits recorded before: a remote one left its run the tag cairn.remote_hit.<step> (cas/remote/stepCache.ts).
    up: `
      ALTER TABLE step_runs ADD COLUMN cache_source TEXT NOT NULL DEFAULT 'none';
      UPDATE step_runs SET cache_source = CASE
        WHEN EXISTS (SELECT 1 FROM tags t WHERE t.run_id = step_runs.run_id AND t.key = 'cairn.remote_hit.' || step_runs.step)
          THEN 'remote'
        ELSE 'local' END
      WHERE cache_hit = 1;
    `,
  },
];

const registered: Migration[] = [];

/** Adds migrations from another module (call before opening the store). Versions must be unique. */
export function registerMigrations(list: Migration[]): void {
  registered.push(...list);
}

export function allMigrations(): Migration[] {
  return orderMigrations([...core, ...registered]);
}

/** Sorts by version; two migrations with one version are a programming error, reported before anything is applied. */
export function orderMigrations(migrations: Migration[]): Migration[] {
  const list = [...migrations].sort((a, b) => a.version - b.version);
  for (let i = 1; i < list.length; i++) {
    if (list[i]?.version === list[i - 1]?.version)
      throw new Error(`two store migrations have version ${list[i]?.version}: give the newer one the next free number`);
  }
  return list;
}

/**
 * Portable DDL (SQLite spelling) in PostgreSQL: 64-bit integers (ids, ms timestamps), identity keys, doubles.
 * `INTEGER PRIMARY KEY` is SQLite's rowid alias: an identity column that also accepts given ids (store migrate).
 */
export function toPostgresDdl(sql: string): string {
  return sql
    .replace(/\bINTEGER PRIMARY KEY\b/g, 'BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY')
    .replace(/\bINTEGER\b/g, 'BIGINT')
    .replace(/\bREAL\b/g, 'DOUBLE PRECISION')
    .replace(/\)\s*WITHOUT ROWID/g, ')');
}

function postgresSql(m: Migration): string {
  if (m.postgres !== undefined) return m.postgres;
  if (typeof m.up !== 'string')
    throw new Error(`store migration ${m.version} (${m.name}) has no PostgreSQL SQL: give it \`postgres\``);
  return toPostgresDdl(m.up);
}

/** The PostgreSQL table holding the schema version (SQLite: PRAGMA user_version); not part of the logical schema. */
export const PG_VERSION_TABLE = 'schema_version';
/** pg_advisory_lock key: migrations run once when many processes open a new store at the same time. */
const MIGRATION_LOCK = 0x636169726e; // "cairn"

export function newerSchemaError(current: number, newest: number): Error {
  return new Error(`this store was written by a newer Cairn (schema ${current} > ${newest}): upgrade Cairn`);
}

/** The schema version of a PostgreSQL store (0: empty). */
export async function postgresSchemaVersion(db: PgDb, on: pg.Pool | pg.PoolClient = db.pool): Promise<number> {
  const t = await db.query<{ t: string | null }>(on, `SELECT to_regclass('${PG_VERSION_TABLE}')::text AS t`, []);
  if (!t.rows[0]?.t) return 0;
  const v = await db.query<{ v: number | null }>(on, `SELECT max(version) AS v FROM ${PG_VERSION_TABLE}`, []);
  return v.rows[0]?.v ?? 0;
}

/** Applies the pending migrations to a PostgreSQL store under an advisory lock; returns the versions applied. */
export async function migratePostgres(db: PgDb, list: Migration[] = allMigrations()): Promise<number[]> {
  const newest = list.at(-1)?.version ?? 0;
  const client = await db.pool.connect().catch((e: unknown) => {
    throw db.wrap(e);
  });
  const applied: number[] = [];
  try {
    // A read-only role (or a store already current) must not need the lock: check first.
    const before = await postgresSchemaVersion(db, client);
    if (before > newest) throw newerSchemaError(before, newest);
    if (before === newest) return applied;
    await db.query(client, 'SELECT pg_advisory_lock(?)', [MIGRATION_LOCK]);
    try {
      const current = await postgresSchemaVersion(db, client);
      if (current > newest) throw newerSchemaError(current, newest);
      for (const m of list) {
        if (m.version <= current) continue;
        await client.query('BEGIN');
        try {
          if (m.version === list[0]?.version || current === 0) {
            await client.query(
              `CREATE TABLE IF NOT EXISTS ${PG_VERSION_TABLE} (version BIGINT PRIMARY KEY, name TEXT NOT NULL, at BIGINT NOT NULL)`,
            );
          }
          await client.query(postgresSql(m));
          await db.query(client, `INSERT INTO ${PG_VERSION_TABLE} (version, name, at) VALUES (?, ?, ?)`, [
            m.version,
            m.name,
            Date.now(),
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw db.wrap(error);
        }
        applied.push(m.version);
      }
    } finally {
      await db.query(client, 'SELECT pg_advisory_unlock(?)', [MIGRATION_LOCK]).catch(() => {});
    }
  } finally {
    client.release();
  }
  return applied;
}

/** Applies the pending migrations; returns the versions applied. */
export function migrate(db: Database, list: Migration[] = allMigrations()): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = list.at(-1)?.version ?? 0;
  if (current > newest) {
    throw newerSchemaError(current, newest);
  }
  const applied: number[] = [];
  for (const m of list) {
    if (m.version <= current) continue;
    db.transaction(() => {
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
    applied.push(m.version);
  }
  return applied;
}
