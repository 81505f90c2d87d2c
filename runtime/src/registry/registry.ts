import * as path from 'node:path';
import type { z } from 'zod';
import {
  modelAliasSchema,
  modelNameSchema,
  type AliasMove,
  type ModelDetail,
  type ModelSummary,
  type ModelVersion,
} from '@cairn/protocol';
import type { ObjectStore } from '../cas/objectStore.js';
import { ConflictError, type Repositories, type Store } from '../store/store.js';
import { artifactNodeId } from '../lineage/lineage.js';
import { CairnError } from '../util/errors.js';
import type { ModelRow } from '../store/repos/registry.js';

/**
 * The model registry over the tracking store (migration 4): versions registered from runs, aliases, alias history and
 * rollback. Every write is one store transaction (SQLite: immediate; PostgreSQL: serializable, retried), so two
 * processes registering at once still get distinct version numbers. Alias moves are optimistic: a move made from what
 * a caller read (a promotion after its gates) names the version it expects the alias at, and is refused with
 * AliasMovedError if another process moved it meanwhile.
 */

/** A user-fixable registry failure: an unknown model, version or alias, a bad name, nothing to roll back. */
export class RegistryError extends CairnError {
  constructor(message: string, kind: 'not-found' | 'refused' | 'invalid') {
    super(kind, message);
    this.name = 'RegistryError';
  }
}

/** Two racing moves of one alias: this one read it before the other moved it. Nothing of this move was stored. */
export class AliasMovedError extends ConflictError {
  constructor(
    readonly model: string,
    readonly alias: string,
    readonly expected: number | null,
    readonly actual: number | null,
  ) {
    super(
      `alias '${alias}' of model '${model}' moved meanwhile (expected ${expected === null ? 'no version' : `version ${expected}`}, ` +
        `it is at ${actual === null ? 'no version' : `version ${actual}`} now): reload the model and decide again`,
    );
    this.name = 'AliasMovedError';
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

function checked<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new RegistryError(
      `${what} '${String(value)}': ${r.error.issues.map((i) => i.message).join('; ')}`,
      'invalid',
    );
  return r.data;
}

/** An alias name as users write it (`production`), or a RegistryError saying what is wrong with it. */
export function checkAlias(alias: string): string {
  return checked(modelAliasSchema, alias, 'alias');
}

export class ModelRegistry {
  constructor(
    private readonly store: Store,
    private readonly objects: ObjectStore,
    private readonly workspace: string,
  ) {}

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
    await this.store.writer.flush();
    // Read before the transaction (it may only do database work): the metrics the new version snapshots.
    const metrics = input.runId === null ? {} : await this.metricsOf(input.runId, model.hash, input.stepRunId);
    return this.store.tx(async (s): Promise<RegisterResult> => {
      await s.artifacts.recordArtifact(model.hash, model.kind, model.size, true);
      if (card) await s.artifacts.recordArtifact(card.hash, card.kind, card.size, true);
      const now = Date.now();
      const existing = input.runId === null ? undefined : await s.registry.versionOfRun(input.runId, name, model.hash);
      let version: number;
      let created = false;
      if (existing !== undefined) version = existing;
      else {
        await s.registry.touchModel(name, now);
        version = (await s.registry.latestVersion(name)) + 1;
        await s.registry.insertVersion({
          name,
          version,
          runId: input.runId,
          stepRunId: input.stepRunId,
          step: input.step,
          artifactHash: model.hash,
          artifactKind: model.kind,
          path: this.rel(input.model),
          cardPath: input.card === undefined ? null : this.rel(input.card),
          cardHash: card?.hash ?? null,
          metrics,
          createdAt: now,
        });
        created = true;
      }
      // No run id on these edges: they belong to the version, which outlives a deleted run.
      // Lineage ids name the file (content and workspace path): docs/protocol.md.
      await s.artifacts.addEdge(artifactNodeId(model.hash, this.rel(input.model)), modelNodeId(name, version));
      if (card && input.card !== undefined)
        await s.artifacts.addEdge(artifactNodeId(card.hash, this.rel(input.card)), modelNodeId(name, version));
      const out: RegisterResult = { version, created, artifactHash: model.hash };
      if (input.alias !== undefined) {
        out.alias = publicMove(
          await moveAlias(s, {
            name,
            alias: input.alias,
            version,
            action: 'set',
            undoes: null,
            actor: input.actor,
            reason: input.step ? `registered by step ${input.step}` : null,
          }),
        );
      }
      return out;
    });
  }

  /**
   * The metrics of this model in its run: those of the step that produced the artifact (training), then of the steps
   * that read it or another output of that step (evaluation of its ONNX export), later ones winning a shared key. A
   * model no step of the run touched gets the run's latest metrics. Another model's evaluation in the same run (a
   * baseline) never leaks into this snapshot.
   */
  private async metricsOf(runId: number, hash: string, registerStep: number | null): Promise<Record<string, number>> {
    const steps = await this.store.artifacts.describingSteps(runId, hash, registerStep);
    if (steps.length === 0) return (await this.store.runs.latestMetrics(runId)) ?? {};
    const out: Record<string, number> = {};
    for (const id of steps) for (const m of await this.store.metrics.latestOfStep(id)) out[m.key] = m.value;
    return out;
  }

  private rel(abs: string): string {
    return path.relative(this.workspace, abs).split(path.sep).join('/');
  }

  async list(): Promise<ModelSummary[]> {
    const out: ModelSummary[] = [];
    for (const m of await this.store.registry.models()) out.push(await this.summary(m));
    return out;
  }

  private async summary(m: ModelRow): Promise<ModelSummary> {
    const r = this.store.registry;
    return {
      name: m.name,
      createdAt: m.createdAt,
      updatedAt: m.updatedAt,
      latestVersion: await r.latestVersion(m.name),
      versionCount: await r.versionCount(m.name),
      aliases: await r.aliases(m.name),
    };
  }

  async get(name: string): Promise<ModelDetail> {
    const m = await model(this.store, name);
    const aliases = await this.store.registry.aliases(name);
    const versions = await this.store.registry.versions(name, aliases);
    const history = await this.store.registry.history(name);
    return { ...(await this.summary(m)), versions, history };
  }

  /**
   * A version from a reference as users write it: `recs` (the latest version), `recs@3`, `recs@production`. Serving
   * and deployment load `artifactHash` from the artifact store, so a later overwrite of `path` changes nothing.
   */
  async find(ref: string): Promise<ModelVersion> {
    const at = ref.lastIndexOf('@');
    const name = at < 0 ? ref : ref.slice(0, at);
    const given = at < 0 ? undefined : ref.slice(at + 1);
    const detail = await this.get(name);
    const version =
      given === undefined
        ? detail.latestVersion
        : await resolveVersion(this.store, name, /^\d+$/.test(given) ? Number(given) : given);
    const found = detail.versions.find((v) => v.version === version);
    if (!found) throw new RegistryError(`model '${name}' has no version ${version}`, 'not-found');
    return found;
  }

  /** A version by number, or by an alias of the model (`production`). */
  resolveVersion(name: string, ref: number | string): Promise<number> {
    return resolveVersion(this.store, name, ref);
  }

  /**
   * Points an alias at a version (a number or another alias), recorded in the history. With `expect` (the version
   * the caller saw the alias at, null: no alias yet), a move made meanwhile by someone else refuses this one.
   */
  setAlias(
    name: string,
    alias: string,
    ref: number | string,
    actor: string,
    reason: string | null = null,
    expect?: number | null,
  ): Promise<AliasMove> {
    checkAlias(alias);
    return this.store.tx(async (s) =>
      publicMove(
        await moveAlias(s, {
          name,
          alias,
          version: await resolveVersion(s, name, ref),
          action: 'set',
          undoes: null,
          actor,
          reason,
          expect,
        }),
      ),
    );
  }

  /**
   * Undoes the alias's latest move that is not undone yet: each rollback steps one move further back, so
   * 1 → 2 → 3, rollback, rollback leaves it at 1. An alias created by its only remaining move cannot be rolled back.
   */
  rollback(name: string, alias: string, actor: string, reason: string | null = null): Promise<AliasMove> {
    checkAlias(alias);
    return this.store.tx(async (s) => {
      await model(s, name);
      const current = await s.registry.aliasVersion(name, alias);
      if (current === undefined)
        throw new RegistryError(`model '${name}' has no alias '${alias}' to roll back`, 'not-found');
      const moves = await s.registry.history(name, alias);
      const undone = new Set<number>();
      for (const m of moves) {
        if (undone.has(m.id)) continue;
        if (m.action === 'rollback') {
          if (m.undoes !== null) undone.add(m.undoes);
          continue;
        }
        if (m.fromVersion === null) break;
        return publicMove(
          await moveAlias(s, {
            name,
            alias,
            version: m.fromVersion,
            action: 'rollback',
            undoes: m.id,
            actor,
            reason: reason ?? `rollback of the move to version ${m.toVersion}`,
          }),
        );
      }
      throw new RegistryError(
        `alias '${alias}' of model '${name}' has no earlier version to roll back to (every later move is rolled back: it points at version ${current}, where it was created); set it with \`cairn models alias ${name} ${alias} VERSION\``,
        'refused',
      );
    });
  }
}

async function model(s: Repositories, name: string): Promise<ModelRow> {
  const row = await s.registry.model(name);
  if (row) return row;
  const known = (await s.registry.models()).map((r) => r.name);
  throw new RegistryError(
    `no model named '${name}' is registered; ${known.length === 0 ? 'a pipeline step `uses: model.register` registers one' : `registered models: ${known.join(', ')}`}`,
    'not-found',
  );
}

async function resolveVersion(s: Repositories, name: string, ref: number | string): Promise<number> {
  await model(s, name);
  if (typeof ref === 'string') {
    const version = await s.registry.aliasVersion(name, ref);
    if (version === undefined) {
      const known = Object.keys(await s.registry.aliases(name));
      throw new RegistryError(
        `model '${name}' has no alias '${ref}'${known.length > 0 ? ` (its aliases: ${known.join(', ')})` : ''}`,
        'not-found',
      );
    }
    return version;
  }
  if (!(await s.registry.hasVersion(name, ref))) {
    const latest = await s.registry.latestVersion(name);
    throw new RegistryError(`model '${name}' has no version ${ref} (its versions are 1 to ${latest})`, 'not-found');
  }
  return ref;
}

/** The contract's AliasMove (the history row id stays inside the runtime). */
export function publicMove(m: AliasMove & { historyId: number | null }): AliasMove {
  return { name: m.name, alias: m.alias, version: m.version, previous: m.previous, changed: m.changed };
}

/** Inside a transaction: moves the alias and records the move (nothing when it already points there). */
export async function moveAlias(
  s: Repositories,
  m: {
    name: string;
    alias: string;
    version: number;
    action: 'set' | 'rollback';
    undoes: number | null;
    actor: string;
    reason: string | null;
    expect?: number | null | undefined;
  },
): Promise<AliasMove & { historyId: number | null }> {
  const previous = (await s.registry.aliasVersion(m.name, m.alias)) ?? null;
  if (m.expect !== undefined && previous !== m.expect) throw new AliasMovedError(m.name, m.alias, m.expect, previous);
  if (previous === m.version)
    return { name: m.name, alias: m.alias, version: m.version, previous, changed: false, historyId: null };
  const historyId = await s.registry.moveAlias({
    name: m.name,
    alias: m.alias,
    from: previous,
    to: m.version,
    action: m.action,
    undoes: m.undoes,
    actor: m.actor,
    reason: m.reason,
    at: Date.now(),
  });
  return { name: m.name, alias: m.alias, version: m.version, previous, changed: true, historyId };
}
