import { dialects, type SqlDb } from '../sql.js';
import { toStepRun, type StepRunRow } from './runs.js';

export interface CachedOutput {
  path: string;
  hash: string;
  kind: 'file' | 'dir';
}

export interface CacheEntry {
  key: string;
  stepRunId: number;
  outputs: Record<string, CachedOutput>;
}

export interface StepIo {
  direction: 'in' | 'out';
  path: string;
  hash: string;
}

const STEP_COLUMNS = 's.id, s.run_id, s.step, s.status, s.cache_hit, s.cache_source, s.error';
type StepSqlRow = {
  id: number;
  run_id: number;
  step: string;
  status: string;
  cache_hit: number;
  cache_source: string;
  error: string | null;
};

/**
 * Artifacts and what connects them: stored objects, each step run's inputs and outputs (step_io), the step cache, the
 * file-hash memo, and the lineage edges recorded beyond step inputs/outputs (artifact → model version → deployment).
 */
export class ArtifactRepository {
  private readonly upsertArtifactSql: string;

  constructor(private readonly db: SqlDb) {
    this.upsertArtifactSql =
      'INSERT INTO artifacts (hash, kind, size, stored, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (hash) DO UPDATE SET stored = ' +
      dialects[db.dialect].greatest('artifacts.stored', 'excluded.stored');
  }

  async recordArtifact(
    hash: string,
    kind: 'file' | 'dir',
    size: number,
    stored: boolean,
    t: SqlDb = this.db,
  ): Promise<void> {
    await t.run(this.upsertArtifactSql, [hash, kind, size, stored ? 1 : 0, Date.now()]);
  }

  async recordIo(
    stepRunId: number,
    direction: 'in' | 'out',
    name: string | null,
    relPath: string,
    hash: string,
    t: SqlDb = this.db,
  ): Promise<void> {
    await t.run('INSERT INTO step_io (step_run_id, direction, name, path, hash) VALUES (?, ?, ?, ?, ?)', [
      stepRunId,
      direction,
      name,
      relPath,
      hash,
    ]);
  }

  /** Records a step's outputs and its cache entry atomically: a crash leaves either both or neither. */
  async commitStepOutputs(
    stepRunId: number,
    cacheKey: string | null,
    outputs: Record<string, CachedOutput & { size: number }>,
  ): Promise<void> {
    await this.db.tx(async (t) => {
      for (const [name, o] of Object.entries(outputs)) {
        await this.recordArtifact(o.hash, o.kind, o.size, true, t);
        await this.recordIo(stepRunId, 'out', name, o.path, o.hash, t);
      }
      if (cacheKey !== null) {
        const stored: Record<string, CachedOutput> = {};
        for (const [name, o] of Object.entries(outputs)) stored[name] = { path: o.path, hash: o.hash, kind: o.kind };
        await t.run(
          `INSERT INTO cache_entries (key, step_run_id, outputs, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET step_run_id = excluded.step_run_id, outputs = excluded.outputs, created_at = excluded.created_at`,
          [cacheKey, stepRunId, JSON.stringify(stored), Date.now()],
        );
      }
    });
  }

  async cacheEntry(key: string): Promise<CacheEntry | undefined> {
    const row = await this.db.get<{ key: string; step_run_id: number; outputs: string }>(
      'SELECT key, step_run_id, outputs FROM cache_entries WHERE key = ?',
      [key],
    );
    if (!row) return undefined;
    return {
      key: row.key,
      stepRunId: row.step_run_id,
      outputs: JSON.parse(row.outputs) as Record<string, CachedOutput>,
    };
  }

  async dropCacheEntry(key: string): Promise<void> {
    await this.db.run('DELETE FROM cache_entries WHERE key = ?', [key]);
  }

  async cachedFileHash(relPath: string, size: number, mtimeNs: string): Promise<string | undefined> {
    const row = await this.db.get<{ size: number; mtime_ns: string; hash: string }>(
      'SELECT size, mtime_ns, hash FROM file_hashes WHERE path = ?',
      [relPath],
    );
    return row && row.size === size && row.mtime_ns === mtimeNs ? row.hash : undefined;
  }

  async rememberFileHash(relPath: string, size: number, mtimeNs: string, hash: string): Promise<void> {
    await this.db.run(
      'INSERT INTO file_hashes (path, size, mtime_ns, hash) VALUES (?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, hash = excluded.hash',
      [relPath, size, mtimeNs, hash],
    );
  }

  /** A lineage edge beyond step inputs/outputs (model registry, deployments). */
  async addEdge(fromId: string, toId: string, runId: number | null = null, t: SqlDb = this.db): Promise<void> {
    await t.run('INSERT INTO lineage_edges (from_id, to_id, run_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [
      fromId,
      toId,
      runId,
    ]);
  }

  async removeEdgesTo(toId: string): Promise<void> {
    await this.db.run('DELETE FROM lineage_edges WHERE to_id = ?', [toId]);
  }

  async edgesFrom(id: string): Promise<string[]> {
    return (await this.db.all<{ to_id: string }>('SELECT to_id FROM lineage_edges WHERE from_id = ?', [id])).map(
      (e) => e.to_id,
    );
  }

  async edgesTo(id: string): Promise<string[]> {
    return (await this.db.all<{ from_id: string }>('SELECT from_id FROM lineage_edges WHERE to_id = ?', [id])).map(
      (e) => e.from_id,
    );
  }

  /** Node ids on any edge that start with `prefix` (a LIKE pattern's literal part). */
  async edgeNodesLike(prefix: string): Promise<string[]> {
    const pattern = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const rows = await this.db.all<{ id: string }>(
      "SELECT to_id AS id FROM lineage_edges WHERE to_id LIKE ? ESCAPE '\\' UNION SELECT from_id FROM lineage_edges WHERE from_id LIKE ? ESCAPE '\\'",
      [pattern, pattern],
    );
    return rows.map((r) => r.id);
  }

  async hasEdge(id: string): Promise<boolean> {
    return (
      (await this.db.get('SELECT 1 AS one FROM lineage_edges WHERE to_id = ? OR from_id = ?', [id, id])) !== undefined
    );
  }

  async stepIo(stepRunId: number): Promise<StepIo[]> {
    const order = dialects[this.db.dialect].rowOrder;
    return this.db.all<StepIo>(`SELECT direction, path, hash FROM step_io WHERE step_run_id = ? ORDER BY ${order}`, [
      stepRunId,
    ]);
  }

  /** The outputs a run's steps recorded under one output name (e.g. `explanations`), in step-run order. */
  async namedOutputsOfRun(runId: number, name: string): Promise<Array<{ step: string; path: string; hash: string }>> {
    return this.db.all<{ step: string; path: string; hash: string }>(
      `SELECT s.step, io.path, io.hash FROM step_io io JOIN step_runs s ON s.id = io.step_run_id
       WHERE s.run_id = ? AND io.direction = 'out' AND io.name = ? ORDER BY s.id`,
      [runId, name],
    );
  }

  async recorded(hash: string, relPath: string, direction?: 'out'): Promise<boolean> {
    const sql = `SELECT 1 AS one FROM step_io WHERE hash = ? AND path = ?${direction ? " AND direction = 'out'" : ''} LIMIT 1`;
    return (await this.db.get(sql, [hash, relPath])) !== undefined;
  }

  /** Distinct hashes starting with `prefix`, at most `limit`. */
  async hashesWithPrefix(prefix: string, limit: number): Promise<string[]> {
    return (
      await this.db.all<{ hash: string }>(
        'SELECT DISTINCT hash FROM step_io WHERE hash >= ? AND hash < ? ORDER BY hash LIMIT ?',
        [prefix, `${prefix}g`, limit],
      )
    ).map((r) => r.hash);
  }

  async pathsOf(hash: string): Promise<string[]> {
    return (
      await this.db.all<{ path: string }>('SELECT DISTINCT path FROM step_io WHERE hash = ? ORDER BY path', [hash])
    ).map((r) => r.path);
  }

  /** The newest content recorded at a workspace path. */
  async newestHashAt(relPath: string): Promise<string | undefined> {
    return (
      await this.db.get<{ hash: string }>(
        "SELECT hash FROM step_io WHERE path = ? ORDER BY step_run_id DESC, direction = 'out' DESC LIMIT 1",
        [relPath],
      )
    )?.hash;
  }

  /** The newest path recorded with this content, a step's output first. */
  async newestPathOf(hash: string): Promise<string | undefined> {
    return (
      await this.db.get<{ path: string }>(
        "SELECT path FROM step_io WHERE hash = ? ORDER BY direction = 'out' DESC, step_run_id DESC LIMIT 1",
        [hash],
      )
    )?.path;
  }

  /** The step run that computed a file (not a later cache hit that restored it). */
  async producer(hash: string, relPath: string): Promise<StepRunRow | undefined> {
    const row = await this.db.get<StepSqlRow>(
      `SELECT ${STEP_COLUMNS} FROM step_io io JOIN step_runs s ON s.id = io.step_run_id
       WHERE io.hash = ? AND io.path = ? AND io.direction = 'out' ORDER BY s.cache_hit ASC, s.id ASC LIMIT 1`,
      [hash, relPath],
    );
    return row ? toStepRun(row) : undefined;
  }

  /** The steps of the latest run that read a file. */
  async latestConsumers(hash: string, relPath: string): Promise<StepRunRow[]> {
    const rows = await this.db.all<StepSqlRow>(
      `SELECT ${STEP_COLUMNS} FROM step_io io JOIN step_runs s ON s.id = io.step_run_id
       WHERE io.hash = ? AND io.path = ? AND io.direction = 'in' AND s.run_id = (SELECT max(s2.run_id) FROM step_io i2
         JOIN step_runs s2 ON s2.id = i2.step_run_id WHERE i2.hash = ? AND i2.path = ? AND i2.direction = 'in')
       ORDER BY s.id`,
      [hash, relPath, hash, relPath],
    );
    return rows.map(toStepRun);
  }

  /** The step run of a run that produced `hash`, and the inputs it read (monitoring's reference data). */
  async producerInRun(
    runId: number,
    hash: string,
  ): Promise<{ id: number; step: string; inputs: Array<{ path: string; hash: string }> } | undefined> {
    const producer = await this.db.get<{ id: number; step: string }>(
      "SELECT s.id, s.step FROM step_io io JOIN step_runs s ON s.id = io.step_run_id WHERE s.run_id = ? AND io.hash = ? AND io.direction = 'out' ORDER BY s.id LIMIT 1",
      [runId, hash],
    );
    if (!producer) return undefined;
    const inputs = (await this.stepIo(producer.id))
      .filter((io) => io.direction === 'in')
      .map((io) => ({ path: io.path, hash: io.hash }));
    return { ...producer, inputs };
  }

  /**
   * The step runs whose metrics describe a model artifact in its run: those that produced it (training), then those
   * that read it or another output of its producers (evaluation of its ONNX export), except `exceptStep`.
   */
  async describingSteps(runId: number, hash: string, exceptStep: number | null): Promise<number[]> {
    const rows = await this.db.all<{ id: number }>(
      `WITH producer AS (
         SELECT s.id FROM step_io io JOIN step_runs s ON s.id = io.step_run_id WHERE s.run_id = ? AND io.hash = ? AND io.direction = 'out'
       ), made AS (
         SELECT hash FROM step_io WHERE direction = 'out' AND step_run_id IN (SELECT id FROM producer) UNION SELECT CAST(? AS TEXT)
       ), readers AS (
         SELECT DISTINCT s.id FROM step_io io JOIN step_runs s ON s.id = io.step_run_id
         WHERE s.run_id = ? AND io.direction = 'in' AND io.hash IN (SELECT hash FROM made) AND s.id NOT IN (SELECT id FROM producer)
       )
       SELECT id FROM (SELECT id, 0 AS k FROM producer UNION SELECT id, 1 AS k FROM readers) ranked WHERE id != ? ORDER BY k, id`,
      [runId, hash, hash, runId, exceptStep ?? -1],
    );
    return rows.map((r) => r.id);
  }

  /** Objects still referenced: every output a step run recorded, and every registered model version's model and card. */
  referencedObjects(): Promise<Array<{ hash: string; kind: 'file' | 'dir' }>> {
    return this.db.all<{ hash: string; kind: 'file' | 'dir' }>(
      `SELECT DISTINCT io.hash AS hash, coalesce(a.kind, 'file') AS kind
       FROM step_io io LEFT JOIN artifacts a ON a.hash = io.hash WHERE io.direction = 'out'
       UNION SELECT artifact_hash, artifact_kind FROM model_versions
       UNION SELECT card_hash, 'file' FROM model_versions WHERE card_hash IS NOT NULL`,
    );
  }
}
