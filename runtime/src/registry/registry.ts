import * as path from 'node:path';
import type { z } from 'zod';
import { modelAliasSchema, modelNameSchema, type AliasChange, type AliasMove, type ModelDetail, type ModelSummary, type ModelVersion } from '@cairn/protocol';
import type { ObjectStore } from '../cas/objectStore.js';
import type { Store } from '../store/store.js';
import { artifactNodeId } from '../lineage/lineage.js';
import { CairnError } from '../util/errors.js';

/**
 * The model registry over the tracking store (migration 4): versions registered from runs, aliases, alias history and
 * rollback. Every write is one immediate transaction, so two processes (the editor's runtime and a CLI) registering at
 * once still get distinct version numbers.
 */

/** A user-fixable registry failure: an unknown model, version or alias, a bad name, nothing to roll back. */
export class RegistryError extends CairnError {
  constructor(message: string, kind: 'not-found' | 'refused' | 'invalid') {
    super(kind, message);
    this.name = 'RegistryError';
  }
}

/** Lineage node id of a model version (the format runtime/src/lineage reads: `model:<name>@<version>`). */
export function modelNodeId(name: string, version: number): string {
  return `model:${name}@${version}`;
}

export interface RegisterInput {
  name: string;
  /** Absolute path of the model file or folder (inside the workspace). */
  model: string;
  card?: string;
  alias?: string;
  runId: number | null;
  stepRunId: number | null;
  step: string | null;
  /** Shown in the alias history, e.g. `run 12 (step register)`. */
  actor: string;
}

export interface RegisterResult {
  version: number;
  /** False when this run had already registered the same artifact under this name (the existing version is returned). */
  created: boolean;
  artifactHash: string;
  alias?: AliasMove;
}

interface VersionRow {
  name: string;
  version: number;
  run_id: number | null;
  step_run_id: number | null;
  step: string | null;
  artifact_hash: string;
  artifact_kind: string;
  path: string;
  card_path: string | null;
  card_hash: string | null;
  metrics_json: string;
  created_at: number;
}

interface HistoryRow {
  id: number;
  alias: string;
  from_version: number | null;
  to_version: number;
  action: string;
  undoes: number | null;
  actor: string;
  reason: string | null;
  at: number;
}

function checked<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new RegistryError(`${what} '${String(value)}': ${r.error.issues.map((i) => i.message).join('; ')}`, 'invalid');
  return r.data;
}

export class ModelRegistry {
  constructor(
    private readonly store: Store,
    private readonly objects: ObjectStore,
    private readonly workspace: string,
  ) {}

  private get db() {
    return this.store.db;
  }

  /**
   * Registers a model file as the next version of `name`: stores it in the artifact store (so the version survives
   * the file being overwritten), snapshots the run's latest metrics, adds the lineage edges artifact → model version
   * (and card → model version), and points `alias` at it. Idempotent for the same run and artifact.
   */
  async register(input: RegisterInput): Promise<RegisterResult> {
    const name = checked(modelNameSchema, input.name, 'model name');
    if (input.alias !== undefined) checked(modelAliasSchema, input.alias, 'alias');
    const model = await this.objects.putPath(input.model);
    const card = input.card === undefined ? undefined : await this.objects.putPath(input.card);
    this.store.metrics.flush();
    const result = this.db
      .transaction((): RegisterResult => {
        this.store.recordArtifact(model.hash, model.kind, model.size, true);
        if (card) this.store.recordArtifact(card.hash, card.kind, card.size, true);
        const now = Date.now();
        const existing =
          input.runId === null
            ? undefined
            : this.db
                .prepare<[number, string, string], { version: number }>('SELECT version FROM model_versions WHERE run_id = ? AND name = ? AND artifact_hash = ?')
                .get(input.runId, name, model.hash);
        let version: number;
        let created = false;
        if (existing) version = existing.version;
        else {
          this.db.prepare('INSERT INTO registered_models (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at').run(name, now, now);
          const last = this.db.prepare<[string], { v: number | null }>('SELECT max(version) AS v FROM model_versions WHERE name = ?').get(name);
          version = (last?.v ?? 0) + 1;
          const metrics = input.runId === null ? {} : this.metricsOf(input.runId, model.hash, input.stepRunId);
          this.db
            .prepare(
              `INSERT INTO model_versions (name, version, run_id, step_run_id, step, artifact_hash, artifact_kind, path, card_path, card_hash, metrics_json, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .run(name, version, input.runId, input.stepRunId, input.step, model.hash, model.kind, this.rel(input.model), input.card === undefined ? null : this.rel(input.card), card?.hash ?? null, JSON.stringify(metrics), now);
          created = true;
        }
        // No run id on these edges: they belong to the version, which outlives a deleted run.
        // Lineage ids name the file (content and workspace path): docs/protocol.md.
        this.store.addLineageEdge(artifactNodeId(model.hash, this.rel(input.model)), modelNodeId(name, version));
        if (card && input.card !== undefined) this.store.addLineageEdge(artifactNodeId(card.hash, this.rel(input.card)), modelNodeId(name, version));
        const out: RegisterResult = { version, created, artifactHash: model.hash };
        if (input.alias !== undefined) out.alias = this.moveAlias(name, input.alias, version, 'set', null, input.actor, input.step ? `registered by step ${input.step}` : null);
        return out;
      })
      .immediate();
    return result;
  }

  /**
   * The metrics of this model in its run: those of the step that produced the artifact (training), then of the steps
   * that read it or another output of that step (evaluation of its ONNX export), later ones winning a shared key. A
   * model no step of the run touched gets the run's latest metrics. Another model's evaluation in the same run (a
   * baseline) never leaks into this snapshot.
   */
  private metricsOf(runId: number, hash: string, registerStep: number | null): Record<string, number> {
    const steps = this.db
      .prepare<{ run: number; hash: string; self: number }, { id: number }>(
        `WITH producer AS (
           SELECT s.id FROM step_io io JOIN step_runs s ON s.id = io.step_run_id WHERE s.run_id = @run AND io.hash = @hash AND io.direction = 'out'
         ), made AS (
           SELECT hash FROM step_io WHERE direction = 'out' AND step_run_id IN (SELECT id FROM producer) UNION SELECT @hash
         ), readers AS (
           SELECT DISTINCT s.id FROM step_io io JOIN step_runs s ON s.id = io.step_run_id
           WHERE s.run_id = @run AND io.direction = 'in' AND io.hash IN (SELECT hash FROM made) AND s.id NOT IN (SELECT id FROM producer)
         )
         SELECT id FROM (SELECT id, 0 AS k FROM producer UNION SELECT id, 1 AS k FROM readers) WHERE id != @self ORDER BY k, id`,
      )
      .all({ run: runId, hash, self: registerStep ?? -1 });
    const out: Record<string, number> = {};
    if (steps.length === 0) {
      const row = this.db.prepare<[number], { metrics_json: string }>('SELECT metrics_json FROM runs WHERE id = ?').get(runId);
      return row ? (JSON.parse(row.metrics_json) as Record<string, number>) : out;
    }
    for (const s of steps) for (const m of this.store.latestStepMetrics(s.id)) out[m.key] = m.value;
    return out;
  }

  private rel(abs: string): string {
    return path.relative(this.workspace, abs).split(path.sep).join('/');
  }

  list(): ModelSummary[] {
    const models = this.db.prepare<[], { name: string; created_at: number; updated_at: number }>('SELECT name, created_at, updated_at FROM registered_models ORDER BY name').all();
    return models.map((m) => this.summary(m));
  }

  private summary(m: { name: string; created_at: number; updated_at: number }): ModelSummary {
    const counts = this.db.prepare<[string], { latest: number | null; n: number }>('SELECT max(version) AS latest, count(*) AS n FROM model_versions WHERE name = ?').get(m.name);
    return { name: m.name, createdAt: m.created_at, updatedAt: m.updated_at, latestVersion: counts?.latest ?? 0, versionCount: counts?.n ?? 0, aliases: this.aliases(m.name) };
  }

  private aliases(name: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const a of this.db.prepare<[string], { alias: string; version: number }>('SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias').all(name)) out[a.alias] = a.version;
    return out;
  }

  private model(name: string): { name: string; created_at: number; updated_at: number } {
    const row = this.db.prepare<[string], { name: string; created_at: number; updated_at: number }>('SELECT name, created_at, updated_at FROM registered_models WHERE name = ?').get(name);
    if (row) return row;
    const known = this.db.prepare<[], { name: string }>('SELECT name FROM registered_models ORDER BY name').all().map((r) => r.name);
    throw new RegistryError(
      `no model named '${name}' is registered; ${known.length === 0 ? 'a pipeline step `uses: model.register` registers one' : `registered models: ${known.join(', ')}`}`,
      'not-found',
    );
  }

  get(name: string): ModelDetail {
    const m = this.model(name);
    const aliases = this.aliases(name);
    const byVersion = new Map<number, string[]>();
    for (const [alias, v] of Object.entries(aliases)) byVersion.set(v, [...(byVersion.get(v) ?? []), alias]);
    const versions = this.db
      .prepare<[string], VersionRow>('SELECT * FROM model_versions WHERE name = ? ORDER BY version DESC')
      .all(name)
      .map((r) => toVersion(r, byVersion.get(r.version) ?? []));
    const history = this.db
      .prepare<[string], HistoryRow>('SELECT id, alias, from_version, to_version, action, undoes, actor, reason, at FROM model_alias_history WHERE name = ? ORDER BY id DESC')
      .all(name)
      .map(toChange);
    return { ...this.summary(m), versions, history };
  }

  /**
   * A version from a reference as users write it: `recs` (the latest version), `recs@3`, `recs@production`. Serving
   * and deployment load `artifactHash` from the artifact store, so a later overwrite of `path` changes nothing.
   */
  find(ref: string): ModelVersion {
    const at = ref.lastIndexOf('@');
    const name = at < 0 ? ref : ref.slice(0, at);
    const given = at < 0 ? undefined : ref.slice(at + 1);
    const detail = this.get(name);
    const version = given === undefined ? detail.latestVersion : this.resolveVersion(name, /^\d+$/.test(given) ? Number(given) : given);
    const found = detail.versions.find((v) => v.version === version);
    if (!found) throw new RegistryError(`model '${name}' has no version ${version}`, 'not-found');
    return found;
  }

  /** A version by number, or by an alias of the model (`production`). */
  resolveVersion(name: string, ref: number | string): number {
    this.model(name);
    if (typeof ref === 'string') {
      const row = this.db.prepare<[string, string], { version: number }>('SELECT version FROM model_aliases WHERE name = ? AND alias = ?').get(name, ref);
      if (!row) {
        const known = Object.keys(this.aliases(name));
        throw new RegistryError(`model '${name}' has no alias '${ref}'${known.length > 0 ? ` (its aliases: ${known.join(', ')})` : ''}`, 'not-found');
      }
      return row.version;
    }
    const row = this.db.prepare<[string, number], { version: number }>('SELECT version FROM model_versions WHERE name = ? AND version = ?').get(name, ref);
    if (!row) {
      const latest = this.db.prepare<[string], { v: number | null }>('SELECT max(version) AS v FROM model_versions WHERE name = ?').get(name)?.v ?? 0;
      throw new RegistryError(`model '${name}' has no version ${ref} (its versions are 1 to ${latest})`, 'not-found');
    }
    return row.version;
  }

  /** Points an alias at a version (a number or another alias), recorded in the history. */
  setAlias(name: string, alias: string, ref: number | string, actor: string, reason: string | null = null): AliasMove {
    checked(modelAliasSchema, alias, 'alias');
    return this.db.transaction(() => this.moveAlias(name, alias, this.resolveVersion(name, ref), 'set', null, actor, reason)).immediate();
  }

  /**
   * Undoes the alias's latest move that is not undone yet: each rollback steps one move further back, so
   * 1 → 2 → 3, rollback, rollback leaves it at 1. An alias created by its only remaining move cannot be rolled back.
   */
  rollback(name: string, alias: string, actor: string, reason: string | null = null): AliasMove {
    checked(modelAliasSchema, alias, 'alias');
    return this.db
      .transaction(() => {
        this.model(name);
        const current = this.db.prepare<[string, string], { version: number }>('SELECT version FROM model_aliases WHERE name = ? AND alias = ?').get(name, alias);
        if (!current) throw new RegistryError(`model '${name}' has no alias '${alias}' to roll back`, 'not-found');
        const moves = this.db.prepare<[string, string], HistoryRow>('SELECT * FROM model_alias_history WHERE name = ? AND alias = ? ORDER BY id DESC').all(name, alias);
        const undone = new Set<number>();
        for (const m of moves) {
          if (undone.has(m.id)) continue;
          if (m.action === 'rollback') {
            if (m.undoes !== null) undone.add(m.undoes);
            continue;
          }
          if (m.from_version === null) break;
          return this.moveAlias(name, alias, m.from_version, 'rollback', m.id, actor, reason ?? `rollback of the move to version ${m.to_version}`);
        }
        throw new RegistryError(
          `alias '${alias}' of model '${name}' has no earlier version to roll back to (every later move is rolled back: it points at version ${current.version}, where it was created); set it with \`cairn models alias ${name} ${alias} VERSION\``,
          'refused',
        );
      })
      .immediate();
  }

  /** Inside a transaction: moves the alias and records the move (nothing when it already points there). */
  private moveAlias(name: string, alias: string, version: number, action: 'set' | 'rollback', undoes: number | null, actor: string, reason: string | null): AliasMove {
    const current = this.db.prepare<[string, string], { version: number }>('SELECT version FROM model_aliases WHERE name = ? AND alias = ?').get(name, alias);
    const previous = current?.version ?? null;
    if (previous === version) return { name, alias, version, previous, changed: false };
    const now = Date.now();
    this.db
      .prepare('INSERT INTO model_aliases (name, alias, version, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at')
      .run(name, alias, version, now);
    this.db
      .prepare('INSERT INTO model_alias_history (name, alias, from_version, to_version, action, undoes, actor, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(name, alias, previous, version, action, undoes, actor, reason, now);
    this.db.prepare('UPDATE registered_models SET updated_at = ? WHERE name = ?').run(now, name);
    return { name, alias, version, previous, changed: true };
  }
}

function toVersion(r: VersionRow, aliases: string[]): ModelVersion {
  return {
    name: r.name,
    version: r.version,
    runId: r.run_id,
    stepRunId: r.step_run_id,
    step: r.step,
    artifactHash: r.artifact_hash,
    artifactKind: r.artifact_kind === 'dir' ? 'dir' : 'file',
    path: r.path,
    cardPath: r.card_path,
    cardHash: r.card_hash,
    metrics: JSON.parse(r.metrics_json) as Record<string, number>,
    createdAt: r.created_at,
    aliases: aliases.sort(),
  };
}

function toChange(r: HistoryRow): AliasChange {
  return {
    id: r.id,
    alias: r.alias,
    fromVersion: r.from_version,
    toVersion: r.to_version,
    action: r.action === 'rollback' ? 'rollback' : 'set',
    undoes: r.undoes,
    actor: r.actor,
    reason: r.reason,
    at: r.at,
  };
}
