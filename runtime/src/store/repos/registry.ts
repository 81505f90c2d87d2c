import type { AliasChange, ModelVersion } from '@cairn/protocol';
import type { SqlDb } from '../sql.js';

/** The model registry's tables (migration 4) and gate overrides (migration 5), rows ↔ the registry contract. */

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

export interface ModelRow {
  name: string;
  createdAt: number;
  updatedAt: number;
}

export interface NewVersion {
  name: string;
  version: number;
  runId: number | null;
  stepRunId: number | null;
  step: string | null;
  artifactHash: string;
  artifactKind: 'file' | 'dir';
  path: string;
  cardPath: string | null;
  cardHash: string | null;
  metrics: Record<string, number>;
  createdAt: number;
}

export interface NewAliasMove {
  name: string;
  alias: string;
  from: number | null;
  to: number;
  action: 'set' | 'rollback';
  undoes: number | null;
  actor: string;
  reason: string | null;
  at: number;
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

export class RegistryRepository {
  constructor(private readonly db: SqlDb) {}

  async versionOfRun(runId: number, name: string, artifactHash: string): Promise<number | undefined> {
    return (
      await this.db.get<{ version: number }>(
        'SELECT version FROM model_versions WHERE run_id = ? AND name = ? AND artifact_hash = ?',
        [runId, name, artifactHash],
      )
    )?.version;
  }

  async touchModel(name: string, now: number): Promise<void> {
    await this.db.run(
      'INSERT INTO registered_models (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at',
      [name, now, now],
    );
  }

  async latestVersion(name: string): Promise<number> {
    return (
      (await this.db.get<{ v: number | null }>('SELECT max(version) AS v FROM model_versions WHERE name = ?', [name]))
        ?.v ?? 0
    );
  }

  async versionCount(name: string): Promise<number> {
    return (
      (await this.db.get<{ n: number }>('SELECT count(*) AS n FROM model_versions WHERE name = ?', [name]))?.n ?? 0
    );
  }

  async insertVersion(v: NewVersion): Promise<void> {
    await this.db.run(
      `INSERT INTO model_versions (name, version, run_id, step_run_id, step, artifact_hash, artifact_kind, path, card_path, card_hash, metrics_json, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        v.name,
        v.version,
        v.runId,
        v.stepRunId,
        v.step,
        v.artifactHash,
        v.artifactKind,
        v.path,
        v.cardPath,
        v.cardHash,
        JSON.stringify(v.metrics),
        v.createdAt,
      ],
    );
  }

  async deleteVersion(name: string, version: number): Promise<void> {
    await this.db.run('DELETE FROM model_versions WHERE name = ? AND version = ?', [name, version]);
  }

  async models(): Promise<ModelRow[]> {
    const rows = await this.db.all<{ name: string; created_at: number; updated_at: number }>(
      'SELECT name, created_at, updated_at FROM registered_models ORDER BY name',
    );
    return rows.map((m) => ({ name: m.name, createdAt: m.created_at, updatedAt: m.updated_at }));
  }

  async model(name: string): Promise<ModelRow | undefined> {
    const m = await this.db.get<{ name: string; created_at: number; updated_at: number }>(
      'SELECT name, created_at, updated_at FROM registered_models WHERE name = ?',
      [name],
    );
    return m ? { name: m.name, createdAt: m.created_at, updatedAt: m.updated_at } : undefined;
  }

  async aliases(name: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const a of await this.db.all<{ alias: string; version: number }>(
      'SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias',
      [name],
    ))
      out[a.alias] = a.version;
    return out;
  }

  async aliasVersion(name: string, alias: string): Promise<number | undefined> {
    return (
      await this.db.get<{ version: number }>('SELECT version FROM model_aliases WHERE name = ? AND alias = ?', [
        name,
        alias,
      ])
    )?.version;
  }

  async hasVersion(name: string, version: number): Promise<boolean> {
    return (
      (await this.db.get('SELECT 1 AS one FROM model_versions WHERE name = ? AND version = ?', [name, version])) !==
      undefined
    );
  }

  /** Versions newest first, each with the aliases pointing at it. */
  async versions(name: string, aliases: Record<string, number>): Promise<ModelVersion[]> {
    const byVersion = new Map<number, string[]>();
    for (const [alias, v] of Object.entries(aliases)) byVersion.set(v, [...(byVersion.get(v) ?? []), alias]);
    const rows = await this.db.all<VersionRow>('SELECT * FROM model_versions WHERE name = ? ORDER BY version DESC', [
      name,
    ]);
    return rows.map((r) => toVersion(r, byVersion.get(r.version) ?? []));
  }

  /** Alias moves newest first: of a model, or of one of its aliases. */
  async history(name: string, alias?: string): Promise<AliasChange[]> {
    const rows =
      alias === undefined
        ? await this.db.all<HistoryRow>('SELECT * FROM model_alias_history WHERE name = ? ORDER BY id DESC', [name])
        : await this.db.all<HistoryRow>(
            'SELECT * FROM model_alias_history WHERE name = ? AND alias = ? ORDER BY id DESC',
            [name, alias],
          );
    return rows.map(toChange);
  }

  /** Moves an alias and records the move; returns the history row's id. */
  async moveAlias(m: NewAliasMove): Promise<number> {
    await this.db.run(
      'INSERT INTO model_aliases (name, alias, version, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at',
      [m.name, m.alias, m.to, m.at],
    );
    const row = await this.db.get<{ id: number }>(
      'INSERT INTO model_alias_history (name, alias, from_version, to_version, action, undoes, actor, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id',
      [m.name, m.alias, m.from, m.to, m.action, m.undoes, m.actor, m.reason, m.at],
    );
    await this.db.run('UPDATE registered_models SET updated_at = ? WHERE name = ?', [m.at, m.name]);
    return row?.id ?? -1;
  }

  async lastMoveId(name: string, alias: string): Promise<number | null> {
    return (
      (
        await this.db.get<{ id: number | null }>(
          'SELECT max(id) AS id FROM model_alias_history WHERE name = ? AND alias = ?',
          [name, alias],
        )
      )?.id ?? null
    );
  }

  async recordGateOverride(o: {
    name: string;
    version: number;
    alias: string;
    gate: string;
    detail: string;
    reason: string;
    actor: string;
    historyId: number | null;
    at: number;
  }): Promise<void> {
    await this.db.run(
      'INSERT INTO gate_overrides (name, version, alias, gate, detail, reason, actor, history_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [o.name, o.version, o.alias, o.gate, o.detail, o.reason, o.actor, o.historyId, o.at],
    );
  }
}
