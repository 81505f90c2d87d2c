import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { processAlive } from '../util/process.js';
import {
  redactedValue as REDACTED,
  type ParamType,
  type RunGates,
  type RunStatus,
  type StepStatus,
} from '@cairn/protocol';
import { migrate } from './migrations.js';
import { MetricWriter } from './metricWriter.js';

export interface NewRun {
  pipelineName: string;
  pipelineFile: string;
  params: Record<string, { value: unknown; type: ParamType; secret: boolean; overridden: boolean }>;
  gitCommit: string | null;
  gitDirty: boolean | null;
  platform: string;
  cairnVersion: string;
  selection: unknown;
  /** The resolved pipeline's evaluation gates (executor's pipelineGates). Omitted: stored as NULL, like a run from before they were stored. */
  gates?: RunGates;
}

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

/**
 * The tracking store: one better-sqlite3 connection to `.cairn/cairn.db` (WAL, busy timeout, migrations). The runtime
 * is its single writer; every write here is synchronous and short, so concurrent runs in one process never contend.
 */
export class Store {
  readonly db: Database.Database;
  readonly metrics: MetricWriter;
  private readonly stmts;

  constructor(readonly file: string, options: { busyTimeoutMs?: number } = {}) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is safe against process crashes (SIGKILL); only an OS crash may lose the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    this.db.pragma('foreign_keys = ON');
    migrate(this.db);
    this.stmts = this.prepare();
    this.metrics = new MetricWriter(this.db);
    this.markInterrupted();
  }

  private prepare() {
    const db = this.db;
    return {
      pipelineByFile: db.prepare<[string], { id: number; name: string }>('SELECT id, name FROM pipelines WHERE file = ?'),
      insertPipeline: db.prepare('INSERT INTO pipelines (name, file, created_at) VALUES (?, ?, ?)'),
      renamePipeline: db.prepare('UPDATE pipelines SET name = ? WHERE id = ?'),
      insertRun: db.prepare(
        `INSERT INTO runs (pipeline_id, status, started_at, git_commit, git_dirty, platform, cairn_version, pid, selection, params_json, gates_json)
         VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertParam: db.prepare('INSERT INTO params (run_id, name, value, type, secret, overridden) VALUES (?, ?, ?, ?, ?, ?)'),
      finishRun: db.prepare('UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ?'),
      upsertTag: db.prepare('INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value'),
      tagsOf: db.prepare<[number], { key: string; value: string }>('SELECT key, value FROM tags WHERE run_id = ?'),
      setTagsJson: db.prepare('UPDATE runs SET tags_json = ? WHERE id = ?'),
      setBackend: db.prepare('UPDATE runs SET backend = ? WHERE id = ?'),
      insertStep: db.prepare("INSERT INTO step_runs (run_id, step, status) VALUES (?, ?, 'pending')"),
      startStep: db.prepare("UPDATE step_runs SET status = 'running', started_at = ?, cache_key = ?, log_path = ? WHERE id = ?"),
      finishStep: db.prepare('UPDATE step_runs SET status = ?, cache_hit = ?, ended_at = ?, duration_ms = ?, error = ? WHERE id = ?'),
      setStepStatus: db.prepare('UPDATE step_runs SET status = ?, error = ? WHERE id = ?'),
      upsertArtifact: db.prepare(
        'INSERT INTO artifacts (hash, kind, size, stored, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (hash) DO UPDATE SET stored = max(stored, excluded.stored)',
      ),
      insertIo: db.prepare('INSERT INTO step_io (step_run_id, direction, name, path, hash) VALUES (?, ?, ?, ?, ?)'),
      getCache: db.prepare<[string], { key: string; step_run_id: number; outputs: string }>('SELECT key, step_run_id, outputs FROM cache_entries WHERE key = ?'),
      putCache: db.prepare(
        'INSERT INTO cache_entries (key, step_run_id, outputs, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET step_run_id = excluded.step_run_id, outputs = excluded.outputs, created_at = excluded.created_at',
      ),
      deleteCache: db.prepare('DELETE FROM cache_entries WHERE key = ?'),
      copyMetrics: db.prepare('INSERT INTO metrics (run_id, step_run_id, key, step, time, value) SELECT ?, ?, key, step, time, value FROM metrics WHERE step_run_id = ? ORDER BY rowid'),
      latestOfStep: db.prepare<[number], { key: string; value: number }>(
        'SELECT key, value FROM metrics WHERE rowid IN (SELECT max(rowid) FROM metrics WHERE step_run_id = ? GROUP BY key)',
      ),
      fileHash: db.prepare<[string], { size: number; mtime_ns: string; hash: string }>('SELECT size, mtime_ns, hash FROM file_hashes WHERE path = ?'),
      putFileHash: db.prepare('INSERT OR REPLACE INTO file_hashes (path, size, mtime_ns, hash) VALUES (?, ?, ?, ?)'),
      addEdge: db.prepare('INSERT OR IGNORE INTO lineage_edges (from_id, to_id, run_id) VALUES (?, ?, ?)'),
    };
  }

  /**
   * Runs left 'running' by a process that is gone (crash, SIGKILL, power loss) become 'interrupted', and the process
   * groups of their command steps, orphaned by the crash, are killed so they cannot write into a later run.
   */
  markInterrupted(): number {
    const running = this.db.prepare<[], { id: number; pid: number | null }>("SELECT id, pid FROM runs WHERE status = 'running'").all();
    const dead = running.filter((r) => r.pid === null || !processAlive(r.pid));
    if (dead.length === 0) return 0;
    const now = Date.now();
    const orphans = this.db.prepare<[number], { pid: number }>("SELECT pid FROM step_runs WHERE run_id = ? AND status = 'running' AND pid IS NOT NULL");
    for (const r of dead) {
      for (const o of orphans.all(r.id)) {
        try {
          process.kill(-o.pid, 'SIGKILL');
        } catch {
          // ESRCH: the group ended with its runtime.
        }
      }
    }
    this.db.transaction(() => {
      for (const r of dead) {
        this.stmts.finishRun.run('interrupted', now, 'the runtime stopped while this run was in progress', r.id);
        this.db.prepare("UPDATE step_runs SET status = 'interrupted' WHERE run_id = ? AND status IN ('pending', 'running')").run(r.id);
      }
    }).immediate();
    return dead.length;
  }

  /**
   * Deletes a finished run and everything recorded under it (params, tags, step runs, metrics, lineage edges, and the
   * cache entries its steps created — their objects stay in the store until `cairn gc`). A running run is refused.
   */
  deleteRun(runId: number): boolean {
    return this.db
      .transaction(() => {
        const row = this.db.prepare<[number], { status: string }>('SELECT status FROM runs WHERE id = ?').get(runId);
        if (!row) return false;
        if (row.status === 'running') throw new Error(`run ${runId} is still running: cancel it first`);
        this.db.prepare('DELETE FROM cache_entries WHERE step_run_id IN (SELECT id FROM step_runs WHERE run_id = ?)').run(runId);
        this.db.prepare('DELETE FROM metrics WHERE run_id = ?').run(runId);
        this.db.prepare('DELETE FROM lineage_edges WHERE run_id = ?').run(runId);
        this.db.prepare('DELETE FROM runs WHERE id = ?').run(runId);
        return true;
      })
      .immediate();
  }

  pipelineId(name: string, file: string): number {
    const row = this.stmts.pipelineByFile.get(file);
    if (row) {
      if (row.name !== name) this.stmts.renamePipeline.run(name, row.id);
      return row.id;
    }
    return Number(this.stmts.insertPipeline.run(name, file, Date.now()).lastInsertRowid);
  }

  createRun(run: NewRun): number {
    return this.db
      .transaction(() => {
        const pipelineId = this.pipelineId(run.pipelineName, run.pipelineFile);
        const summary: Record<string, unknown> = {};
        for (const [name, p] of Object.entries(run.params)) summary[name] = p.secret ? REDACTED : p.value;
        const id = Number(
          this.stmts.insertRun.run(
            pipelineId,
            Date.now(),
            run.gitCommit,
            run.gitDirty === null ? null : run.gitDirty ? 1 : 0,
            run.platform,
            run.cairnVersion,
            process.pid,
            JSON.stringify(run.selection ?? null),
            JSON.stringify(summary),
            run.gates === undefined ? null : JSON.stringify(run.gates),
          ).lastInsertRowid,
        );
        for (const [name, p] of Object.entries(run.params)) {
          this.stmts.insertParam.run(id, name, JSON.stringify(p.secret ? REDACTED : p.value), p.type, p.secret ? 1 : 0, p.overridden ? 1 : 0);
        }
        return id;
      })
      .immediate();
  }

  finishRun(runId: number, status: RunStatus, error: string | null = null): void {
    this.metrics.flush();
    this.stmts.finishRun.run(status, Date.now(), error, runId);
  }

  setTag(runId: number, key: string, value: string): void {
    this.db.transaction(() => {
      this.stmts.upsertTag.run(runId, key, value);
      const tags: Record<string, string> = {};
      for (const t of this.stmts.tagsOf.all(runId)) tags[t.key] = t.value;
      this.stmts.setTagsJson.run(JSON.stringify(tags), runId);
      if (key === 'backend') this.stmts.setBackend.run(value, runId);
    })();
  }

  createStepRuns(runId: number, steps: string[]): Map<string, number> {
    const ids = new Map<string, number>();
    this.db.transaction(() => {
      for (const s of steps) ids.set(s, Number(this.stmts.insertStep.run(runId, s).lastInsertRowid));
    })();
    return ids;
  }

  startStep(stepRunId: number, cacheKey: string | null, logPath: string | null): void {
    this.stmts.startStep.run(Date.now(), cacheKey, logPath, stepRunId);
  }

  finishStep(stepRunId: number, status: StepStatus, fields: { cacheHit?: boolean; durationMs?: number; error?: string | null }): void {
    this.stmts.finishStep.run(status, fields.cacheHit ? 1 : 0, Date.now(), fields.durationMs ?? null, fields.error ?? null, stepRunId);
  }

  /** The process group of a command step while it runs (see markInterrupted). */
  setStepPid(stepRunId: number, pid: number | null): void {
    this.db.prepare('UPDATE step_runs SET pid = ? WHERE id = ?').run(pid, stepRunId);
  }

  setStepStatus(stepRunId: number, status: StepStatus, error: string | null = null): void {
    this.stmts.setStepStatus.run(status, error, stepRunId);
  }

  recordArtifact(hash: string, kind: 'file' | 'dir', size: number, stored: boolean): void {
    this.stmts.upsertArtifact.run(hash, kind, size, stored ? 1 : 0, Date.now());
  }

  recordIo(stepRunId: number, direction: 'in' | 'out', name: string | null, relPath: string, hash: string): void {
    this.stmts.insertIo.run(stepRunId, direction, name, relPath, hash);
  }

  /** Records a step's outputs and its cache entry atomically: a crash leaves either both or neither. */
  commitStepOutputs(stepRunId: number, cacheKey: string | null, outputs: Record<string, CachedOutput & { size: number }>): void {
    this.db.transaction(() => {
      for (const [name, o] of Object.entries(outputs)) {
        this.recordArtifact(o.hash, o.kind, o.size, true);
        this.recordIo(stepRunId, 'out', name, o.path, o.hash);
      }
      if (cacheKey !== null) {
        const stored: Record<string, CachedOutput> = {};
        for (const [name, o] of Object.entries(outputs)) stored[name] = { path: o.path, hash: o.hash, kind: o.kind };
        this.stmts.putCache.run(cacheKey, stepRunId, JSON.stringify(stored), Date.now());
      }
    })();
  }

  cacheEntry(key: string): CacheEntry | undefined {
    const row = this.stmts.getCache.get(key);
    if (!row) return undefined;
    return { key: row.key, stepRunId: row.step_run_id, outputs: JSON.parse(row.outputs) as Record<string, CachedOutput> };
  }

  dropCacheEntry(key: string): void {
    this.stmts.deleteCache.run(key);
  }

  /** A cache hit carries the original step's metrics into the new run, so the run is complete on its own. */
  copyStepMetrics(fromStepRunId: number, runId: number, stepRunId: number): Array<{ key: string; value: number }> {
    this.metrics.flush();
    this.stmts.copyMetrics.run(runId, stepRunId, fromStepRunId);
    const latest = this.stmts.latestOfStep.all(fromStepRunId);
    this.metrics.mergeLatest(runId, latest);
    return latest;
  }

  /** Latest value of each metric a step run reported. */
  latestStepMetrics(stepRunId: number): Array<{ key: string; value: number }> {
    this.metrics.flush();
    return this.stmts.latestOfStep.all(stepRunId);
  }

  cachedFileHash(relPath: string, size: number, mtimeNs: string): string | undefined {
    const row = this.stmts.fileHash.get(relPath);
    return row && row.size === size && row.mtime_ns === mtimeNs ? row.hash : undefined;
  }

  rememberFileHash(relPath: string, size: number, mtimeNs: string, hash: string): void {
    this.stmts.putFileHash.run(relPath, size, mtimeNs, hash);
  }

  /** A lineage edge beyond step inputs/outputs (model registry, deployments). */
  addLineageEdge(fromId: string, toId: string, runId: number | null = null): void {
    this.stmts.addEdge.run(fromId, toId, runId);
  }

  close(): void {
    this.metrics.flush();
    this.metrics.dispose();
    this.db.close();
  }
}

