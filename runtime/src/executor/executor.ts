import { createWriteStream, promises as fs, readFileSync, type WriteStream } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import {
  explainedRunTag,
  explanationsOutputName,
  getBuiltin,
  outsideTags,
  type CacheSource,
  type ResolvedPipeline,
  type ResolvedStep,
  type RunEvent,
  type RunGates,
  type RunStatus,
  type StepStatus,
} from '@cairn/protocol';
import { implementations } from '../builtins/index.js';
import { StepError, type BuiltinContext } from '../builtins/types.js';
import { CorruptObjectError, MissingObjectError, hashPath, type ObjectStore } from '../cas/objectStore.js';
import { pushStepResult, remoteCacheHit, type RemoteStepContext } from '../cas/remote/stepCache.js';
import type { RemoteSetting } from '../cas/remote/sync.js';
import type { CachedOutput, Store } from '../store/store.js';
import { gitState, runUser } from '../util/git.js';
import { sha256File } from '../util/hash.js';
import {
  assertInsideWorkspace,
  assertTreeInside,
  assertWritableInside,
  confine,
  PathEscapeError,
} from '../util/confine.js';
import { cairnVersion } from '../util/version.js';
import { stepCacheKey } from './cacheKey.js';
import { MetricsFileTail, parseMetricLine, runCommand } from './commandStep.js';
import { makeRedactor } from './redact.js';
import type { KeyedLock } from '../util/keyedLock.js';
import { bindModelRegistry } from '../registry/hook.js';
import { CairnError } from '../util/errors.js';

export interface ExecuteOptions {
  store: Store;
  objects: ObjectStore;
  /** Absolute workspace folder: no path of the pipeline may leave it. Holds `.cairn/`. */
  workspace: string;
  /** Run only this step (and with `downstream`, every step depending on it). */
  step?: string;
  downstream?: boolean;
  /** Ignore the cache. */
  force?: boolean;
  /** Steps run at once at most (default: the number of cores). */
  parallelism?: number;
  onEvent?: (event: RunEvent) => void;
  /** Shared artifact remote: cache misses are looked up there, and steps that ran push to it (docs/team.md). */
  remote?: RemoteSetting;
  /** Shared by the runs of one engine: a cache key is looked up and filled by one step at a time (sweeps). */
  cacheLocks?: KeyedLock;
  /** The sweep this run is one combination of. */
  sweepId?: number;
  /**
   * Folder the run's files live in instead of the pipeline's (a sweep combination's own copy, so side-by-side runs do
   * not overwrite each other's outputs). Paths are recorded as the pipeline's: cache keys and lineage are the same.
   */
  filesRoot?: string;
}

export interface StepOutcome {
  status: StepStatus;
  cacheHit: boolean;
  durationMs: number | null;
  error: string | null;
}

export interface RunOutcome {
  runId: number;
  pipeline: string;
  status: RunStatus;
  steps: Record<string, StepOutcome>;
  error: string | null;
}

export interface RunHandle {
  runId: number;
  done: Promise<RunOutcome>;
  cancel(): void;
}

/** Thrown before a run is created: the request itself cannot be run (unknown step, path outside the workspace). */
export class RunRequestError extends CairnError {
  constructor(message: string) {
    super('refused', message);
    this.name = 'RunRequestError';
  }
}

const metricLineSchema = z.object({
  key: z.string().min(1),
  value: z.number().refine(Number.isFinite, 'value must be a finite number'),
  step: z.number().refine(Number.isFinite).optional(),
});

/** Steps to run: all, one, or one and everything downstream of it (in the pipeline's topological order). */
export function selectSteps(pipeline: ResolvedPipeline, step?: string, downstream?: boolean): ResolvedStep[] {
  if (step === undefined) return pipeline.steps;
  if (!pipeline.steps.some((s) => s.name === step)) {
    throw new RunRequestError(
      `pipeline '${pipeline.name}' has no step '${step}'; its steps are: ${pipeline.steps.map((s) => s.name).join(', ')}`,
    );
  }
  const chosen = new Set([step]);
  if (downstream) {
    for (const s of pipeline.steps) if (s.needs.some((n) => chosen.has(n))) chosen.add(s.name);
  }
  return pipeline.steps.filter((s) => chosen.has(s.name));
}

/**
 * Every path a step touches must stay inside the workspace, with its symbolic links followed; checked for the whole
 * pipeline before anything runs, and again right before each use (a link may appear meanwhile, e.g. made by a step).
 * Reads may also lie below the pipeline's `allow_outside:` folders; writes never.
 */
export function checkPipelinePaths(pipeline: ResolvedPipeline, workspace: string): void {
  const base = pipeline.root;
  const allowed = pipeline.allowOutside ?? [];
  for (const s of pipeline.steps) {
    const step = s.name;
    const read = { base, allowed, step, use: 'dependency' } as const;
    for (const [name, p] of Object.entries(s.outs)) {
      assertWritableInside(workspace, p, outputWhat(step, name, p), { base, step });
    }
    for (const d of s.deps) assertInsideWorkspace(workspace, d, dependencyWhat(step, d), read);
    for (const m of s.metrics) assertWritableInside(workspace, m, outputWhat(step, `metrics:${m}`, m), { base, step });
    if (s.kind === 'uses' && s.uses) {
      const spec = getBuiltin(s.uses);
      for (const option of spec?.inputs ?? []) {
        for (const p of pathsOf(s.with?.[option])) {
          assertInsideWorkspace(workspace, p, `input '${option}' of step '${step}' (${p})`, read);
        }
      }
    }
  }
}

function outputWhat(step: string, name: string, rel: string): string {
  if (name.startsWith('metrics:')) return `metrics file '${rel}' of step '${step}'`;
  return `output '${name}' of step '${step}' (${rel})`;
}

function dependencyWhat(step: string, rel: string): string {
  return `dependency '${rel}' of step '${step}'`;
}

function pathsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** The pipeline's evaluation gates, stored with each run: the `gate:` of every step that has one, in pipeline order. */
export function pipelineGates(pipeline: ResolvedPipeline): RunGates {
  return Object.fromEntries(pipeline.steps.filter((s) => Object.keys(s.gate).length > 0).map((s) => [s.name, s.gate]));
}

/** Starts a run: the run row exists when this resolves; `done` settles when every selected step has finished. */
export async function startRun(pipeline: ResolvedPipeline, options: ExecuteOptions): Promise<RunHandle> {
  const { selected, runId, stepRunIds } = await createRunRecord(pipeline, options);
  const controller = new AbortController();
  const run = new RunExecution(pipeline, selected, runId, stepRunIds, options, controller.signal);
  return { runId, done: run.execute(), cancel: () => controller.abort() };
}

/** The run row and one step row per selected step, after the request was checked; shared by every executor. */
export async function createRunRecord(
  pipeline: ResolvedPipeline,
  options: ExecuteOptions,
): Promise<{ selected: ResolvedStep[]; runId: number; stepRunIds: Map<string, number> }> {
  const selected = selectSteps(pipeline, options.step, options.downstream);
  checkPipelinePaths(pipeline, options.workspace);
  const git = gitState(pipeline.root);
  const who = runUser(pipeline.root);
  const runId = await options.store.runs.createRun({
    pipelineName: pipeline.name,
    pipelineFile: path.relative(options.workspace, pipeline.file) || pipeline.file,
    params: pipeline.params,
    gitCommit: git.commit,
    gitDirty: git.dirty,
    platform: `${process.platform}-${process.arch} node-${process.versions.node}`,
    cairnVersion: cairnVersion(),
    selection: { step: options.step ?? null, downstream: options.downstream ?? false, force: options.force ?? false },
    gates: pipelineGates(pipeline),
    user: who.user,
    host: who.host,
    sweepId: options.sweepId ?? null,
  });
  // The opt-in is part of what the run was allowed to do: kept with it, beside what it read (outsideTags.read).
  if (pipeline.allowOutside?.length) {
    await options.store.runs.setTag(runId, outsideTags.allowed, JSON.stringify(pipeline.allowOutside));
  }
  const stepRunIds = await options.store.runs.createStepRuns(
    runId,
    selected.map((s) => s.name),
  );
  return { selected, runId, stepRunIds };
}

/** The run's final status and error from its steps' outcomes, written to the store; shared by every executor. */
export async function concludeRun(
  store: Store,
  pipeline: ResolvedPipeline,
  runId: number,
  outcomes: Record<string, StepOutcome>,
  cancelled: boolean,
): Promise<RunOutcome> {
  const statuses = Object.values(outcomes).map((o) => o.status);
  const status: RunStatus = cancelled ? 'cancelled' : statuses.every((s) => s === 'succeeded') ? 'succeeded' : 'failed';
  const firstError = Object.entries(outcomes).find(([, o]) => o.status === 'failed');
  const error =
    status === 'failed' && firstError
      ? `step '${firstError[0]}' failed: ${firstError[1].error ?? 'unknown error'}`
      : status === 'cancelled'
        ? 'cancelled'
        : null;
  await store.writer.flush();
  await store.runs.finishRun(runId, status, error);
  store.writer.release(runId);
  return { runId, pipeline: pipeline.name, status, steps: outcomes, error };
}

/**
 * Runs one step of an existing run exactly as the local scheduler does (inputs hashed, cache key, restore, outputs
 * into the CAS, lineage, metrics and log into the store): the entry a cluster job runs (`cairn step-exec`), so the
 * same pipeline gives the same cache keys and lineage on either executor.
 */
export async function executeStepOfRun(
  pipeline: ResolvedPipeline,
  options: ExecuteOptions,
  runId: number,
  stepName: string,
  signal: AbortSignal,
): Promise<StepOutcome> {
  const step = pipeline.steps.find((s) => s.name === stepName);
  if (!step) throw new RunRequestError(`pipeline '${pipeline.name}' has no step '${stepName}'`);
  const row = (await options.store.runs.steps(runId)).find((r) => r.step === stepName);
  if (!row)
    throw new RunRequestError(`run ${runId} has no step '${stepName}'; \`cairn runs show ${runId}\` lists its steps`);
  checkPipelinePaths(pipeline, options.workspace);
  const run = new RunExecution(pipeline, [step], runId, new Map([[stepName, row.id]]), options, signal);
  return (await run.executeOne(step)) ?? { status: 'pending', cacheHit: false, durationMs: null, error: null };
}

/**
 * The steps of a run that are cache hits, restored and settled now, in pipeline order; a step is looked up only when
 * every step it needs was a hit (otherwise its inputs do not exist yet). What is not returned is for the cluster.
 */
export async function restoreCachedSteps(
  pipeline: ResolvedPipeline,
  selected: ResolvedStep[],
  runId: number,
  stepRunIds: Map<string, number>,
  options: ExecuteOptions,
  signal: AbortSignal,
): Promise<Record<string, StepOutcome>> {
  const done: Record<string, StepOutcome> = {};
  if (options.force) return done;
  const selectedNames = new Set(selected.map((s) => s.name));
  const run = new RunExecution(pipeline, selected, runId, stepRunIds, options, signal);
  for (const step of selected) {
    if (!step.cache || step.needs.some((n) => selectedNames.has(n) && done[n]?.status !== 'succeeded')) continue;
    const outcome = await run.executeOne(step, true);
    if (outcome) done[step.name] = outcome;
  }
  return done;
}

/** Core slots: a step takes as many as its `resources.cpu` hint (at least 1, at most all), first come first served. */
class Slots {
  private waiting: Array<{ n: number; resolve: () => void }> = [];
  constructor(
    private free: number,
    readonly total: number,
  ) {}
  async acquire(n: number): Promise<void> {
    if (this.waiting.length === 0 && this.free >= n) {
      this.free -= n;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push({ n, resolve }));
  }
  release(n: number): void {
    this.free += n;
    while (this.waiting[0] && this.waiting[0].n <= this.free) {
      const next = this.waiting.shift();
      if (!next) break;
      this.free -= next.n;
      next.resolve();
    }
  }
}

class RunExecution {
  private readonly store: Store;
  private readonly objects: ObjectStore;
  private readonly redact: (line: string) => string;
  private readonly outcomes: Record<string, StepOutcome> = {};
  private readonly producers = new Map<string, string>();
  /** Step number the next metric reported without one gets, per step run and key. */
  private readonly nextMetricStep = new Map<string, number>();
  private failed = false;
  /** Stop after the cache lookup (a cluster executor resolving hits before it submits anything). */
  private restoreOnly = false;
  /** Inputs read from outside the workspace (below an `allow_outside:` folder): path as written → where it leads. */
  private readonly outsideInputs = new Map<string, { real: string; allowedBy: string }>();
  /** Store writes started from synchronous callbacks (a step's pid, a built-in's tag), awaited before the run ends. */
  private readonly background = new Set<Promise<void>>();
  /** Cache-key locks held by running steps (options.cacheLocks), released when the step settles. */
  private readonly heldKeys = new Map<string, () => void>();

  constructor(
    private readonly pipeline: ResolvedPipeline,
    private readonly selected: ResolvedStep[],
    private readonly runId: number,
    private readonly stepRunIds: Map<string, number>,
    private readonly options: ExecuteOptions,
    private readonly signal: AbortSignal,
  ) {
    this.store = options.store;
    this.objects = options.objects;
    this.redact = makeRedactor(
      Object.values(pipeline.params)
        .filter((p) => p.secret)
        .map((p) => p.value),
    );
    for (const s of pipeline.steps)
      for (const o of Object.values(s.outs)) this.producers.set(path.normalize(o), s.name);
  }

  /** Starts a store write from a synchronous callback; its failure goes to the step's log via `onError`. */
  private later(write: Promise<void>, onError: (message: string) => void): void {
    const p = write
      .catch((error: unknown) => onError(error instanceof Error ? error.message : String(error)))
      .finally(() => this.background.delete(p));
    this.background.add(p);
  }

  private emit(event: RunEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A listener's failure (a closed terminal or connection) must not stop the run.
    }
  }

  private progress(
    step: string | undefined,
    status: StepStatus | RunStatus,
    extra: { cacheHit?: boolean; durationMs?: number; message?: string } = {},
  ): void {
    this.emit({
      type: 'progress',
      runId: this.runId,
      pipeline: this.pipeline.name,
      ...(step === undefined ? {} : { step }),
      status,
      ...extra,
    });
  }

  async execute(): Promise<RunOutcome> {
    this.progress(undefined, 'running');
    const total = Math.max(1, this.options.parallelism ?? os.availableParallelism());
    const slots = new Slots(total, total);
    const selectedNames = new Set(this.selected.map((s) => s.name));
    const results = new Map<string, Promise<StepStatus>>();
    for (const step of this.selected) {
      const needs = step.needs
        .filter((n) => selectedNames.has(n))
        .map((n) => results.get(n) ?? Promise.resolve<StepStatus>('succeeded'));
      results.set(
        step.name,
        (async () => {
          const upstream = await Promise.all(needs);
          if (upstream.some((s) => s !== 'succeeded'))
            return this.settle(
              step.name,
              this.signal.aborted ? 'cancelled' : 'skipped',
              null,
              'an upstream step did not succeed',
            );
          const need = Math.min(total, Math.max(1, Math.ceil(step.resources.cpu ?? 1)));
          await slots.acquire(need);
          try {
            if (this.signal.aborted) return this.settle(step.name, 'cancelled', null, 'the run was cancelled');
            if (this.failed) return this.settle(step.name, 'skipped', null, 'the run stopped after a failure');
            return await this.runStep(step);
          } finally {
            this.heldKeys.get(step.name)?.();
            this.heldKeys.delete(step.name);
            slots.release(need);
          }
        })(),
      );
    }
    await Promise.all(results.values());
    await Promise.all([...this.background]);
    await fs.rm(this.scratchDir(), { recursive: true, force: true });
    const outcome = await concludeRun(this.store, this.pipeline, this.runId, this.outcomes, this.signal.aborted);
    this.progress(undefined, outcome.status, outcome.error ? { message: outcome.error } : {});
    return outcome;
  }

  /**
   * One step alone (the run itself is finished by whoever scheduled it). `restoreOnly`: a cache hit is restored and
   * settled, anything else is left pending (undefined) for a cluster job to run.
   */
  async executeOne(step: ResolvedStep, restoreOnly = false): Promise<StepOutcome | undefined> {
    this.restoreOnly = restoreOnly;
    let status: StepStatus;
    try {
      status = await this.runStep(step);
    } finally {
      // A miss left for a cluster job holds no lock here: the next combination's lookup must not wait on it forever.
      this.heldKeys.get(step.name)?.();
      this.heldKeys.delete(step.name);
    }
    if (status === 'pending') return undefined;
    await Promise.all([...this.background]);
    await this.store.writer.flush();
    this.store.writer.release(this.runId);
    await fs.rm(this.scratchDir(), { recursive: true, force: true });
    return this.outcomes[step.name] ?? { status, cacheHit: false, durationMs: null, error: null };
  }

  private async settle(
    step: string,
    status: StepStatus,
    durationMs: number | null,
    error: string | null,
    cacheHit = false,
    cacheSource: CacheSource = cacheHit ? 'local' : 'none',
  ): Promise<StepStatus> {
    const id = this.stepRunIds.get(step);
    if (id !== undefined) {
      if (status === 'skipped' || status === 'cancelled') await this.store.runs.setStepStatus(id, status, error);
      else await this.store.runs.finishStep(id, status, { cacheHit, cacheSource, durationMs: durationMs ?? 0, error });
    }
    this.outcomes[step] = { status, cacheHit, durationMs, error };
    if (status === 'failed') this.failed = true;
    this.progress(step, status, {
      cacheHit,
      ...(durationMs === null ? {} : { durationMs }),
      ...(error ? { message: error } : cacheHit ? { message: 'restored from cache' } : {}),
    });
    return status;
  }

  /** Per-run temp folder (params and metrics files); the pid prefix lets gc remove a dead process's leftovers. */
  private scratchDir(): string {
    return path.join(this.options.workspace, '.cairn', 'tmp', `${process.pid}-run-${this.runId}`);
  }

  /** Where the run's files are: the pipeline's folder, or its copy (options.filesRoot). */
  private get root(): string {
    return this.options.filesRoot ?? this.pipeline.root;
  }

  private abs(rel: string): string {
    return path.resolve(this.root, rel);
  }

  /** Workspace-relative, as the pipeline's own path (a copy's files are recorded under the originals' names). */
  private rel(abs: string): string {
    const inPipeline = path.resolve(this.pipeline.root, path.relative(this.root, abs));
    return path.relative(this.options.workspace, inPipeline).split(path.sep).join('/');
  }

  /** Hash of a file or folder, reusing the stored hash while size and mtime are unchanged. */
  private async hashOf(abs: string): Promise<{ hash: string; kind: 'file' | 'dir'; size: number }> {
    const st = await fs.stat(abs, { bigint: true });
    if (st.isDirectory()) return hashPath(abs);
    const rel = this.rel(abs);
    const size = Number(st.size);
    const mtime = st.mtimeNs.toString();
    const known = await this.store.artifacts.cachedFileHash(rel, size, mtime);
    if (known) return { hash: known, kind: 'file', size };
    const hash = await sha256File(abs);
    await this.store.artifacts.rememberFileHash(rel, size, mtime, hash);
    return { hash, kind: 'file', size };
  }

  private inputPaths(step: ResolvedStep): string[] {
    const all = new Set(step.deps.map((d) => path.normalize(d)));
    if (step.kind === 'uses' && step.uses) {
      for (const option of getBuiltin(step.uses)?.inputs ?? [])
        for (const p of pathsOf(step.with?.[option])) all.add(path.normalize(p));
    }
    return [...all];
  }

  /** Declared outputs plus metrics files (stored too, so a cache hit restores them). */
  private outputEntries(step: ResolvedStep): Array<{ name: string; rel: string; optional: boolean }> {
    const spec = step.kind === 'uses' && step.uses ? getBuiltin(step.uses) : undefined;
    const outs = Object.entries(step.outs).map(([name, rel]) => {
      const file = spec?.outputs[name];
      return { name, rel, optional: file?.optional === true };
    });
    for (const m of step.metrics) outs.push({ name: `metrics:${m}`, rel: m, optional: false });
    return outs;
  }

  private async runStep(step: ResolvedStep): Promise<StepStatus> {
    const stepRunId = this.stepRunIds.get(step.name) ?? -1;
    const started = performance.now();
    const logRel = `.cairn/logs/${this.runId}/${step.name}.log`;
    const logAbs = path.join(this.options.workspace, logRel);
    await fs.mkdir(path.dirname(logAbs), { recursive: true });
    const log = createWriteStream(logAbs, { flags: 'a' });
    const writeLog = (stream: 'stdout' | 'stderr' | 'cairn', line: string) => {
      const clean = this.redact(line);
      log.write(stream === 'cairn' ? `[cairn] ${clean}\n` : `${clean}\n`);
      this.emit({ type: 'log', runId: this.runId, step: step.name, stream, line: clean });
    };
    const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
    try {
      await this.store.runs.startStep(stepRunId, null, logRel);
      this.progress(step.name, 'running');
      // Inputs: every file must exist; their hashes go into the cache key and the lineage.
      const inputs: Array<{ path: string; hash: string }> = [];
      for (const rel of this.inputPaths(step)) {
        const abs = this.abs(rel);
        // Links followed (also those inside a folder dependency): nothing outside is hashed unless allowed.
        const where = await assertTreeInside(this.options.workspace, abs, dependencyWhat(step.name, rel), {
          allowed: this.pipeline.allowOutside ?? [],
          step: step.name,
          use: 'dependency',
        });
        if (where.outside !== undefined) this.recordOutside(this.rel(abs), where.real, where.outside, writeLog);
        try {
          inputs.push({ path: this.rel(abs), hash: (await this.hashOf(abs)).hash });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
          const producer = this.producers.get(rel);
          const hint = producer
            ? ` — it is an output of step '${producer}': run that step first (cairn run ${path.basename(this.pipeline.file)} --step ${producer})`
            : ' — create it or fix the path in the pipeline';
          return this.fail(step, writeLog, elapsed(), `dependency '${rel}' does not exist${hint}`, log);
        }
      }
      const params: Record<string, unknown> = {};
      for (const name of step.params) params[name] = this.pipeline.params[name]?.value ?? null;
      const builtin = step.kind === 'uses' && step.uses ? getBuiltin(step.uses) : undefined;
      const key = stepCacheKey(step, inputs, params, builtin?.version ?? null);
      // Held from the lookup until the outputs are stored, so a concurrent run with this key waits and restores.
      if (step.cache && this.options.cacheLocks)
        this.heldKeys.set(step.name, await this.options.cacheLocks.acquire(key));
      await this.store.runs.startStep(stepRunId, key, logRel);
      const recordInputs = async () => {
        for (const i of inputs) {
          await this.store.artifacts.recordArtifact(i.hash, 'file', 0, false);
          await this.store.artifacts.recordIo(stepRunId, 'in', null, i.path, i.hash);
        }
      };
      // A cluster's lookup records them only on a hit: on a miss the job records them, once.
      if (!this.restoreOnly) await recordInputs();

      if (step.cache && !this.options.force) {
        const remote = this.remoteStep(step, key, stepRunId, writeLog);
        const local = await this.tryRestore(step, key, stepRunId, writeLog);
        const hit = local || (await remoteCacheHit(remote));
        if (hit) {
          if (this.restoreOnly) await recordInputs();
          // The gate is not part of the cache key (it changes no output), so a gate tightened since must fail here.
          const gateError = await this.checkGates(step, stepRunId);
          if (gateError !== null) return this.fail(step, writeLog, elapsed(), gateError, log);
          await closeLog(log);
          return this.settle(step.name, 'succeeded', elapsed(), null, true, local ? 'local' : 'remote');
        }
      }
      if (this.restoreOnly) {
        writeLog('cairn', 'not in the cache: submitted to the cluster');
        await closeLog(log);
        await this.store.runs.setStepStatus(stepRunId, 'pending');
        return 'pending';
      }
      if (this.signal.aborted) {
        await closeLog(log);
        return this.settle(step.name, 'cancelled', elapsed(), 'the run was cancelled');
      }

      const outputs = this.outputEntries(step);
      // Stale outputs from an earlier run must not pass for this run's (a step that forgets one must fail). Their
      // folders are checked with links followed first: removing through a link out of the workspace deletes there.
      for (const o of outputs) {
        const what = outputWhat(step.name, o.name, o.rel);
        const abs = assertWritableInside(this.options.workspace, this.abs(o.rel), what, { step: step.name });
        await fs.rm(abs, { recursive: true, force: true });
        await fs.mkdir(path.dirname(abs), { recursive: true });
      }
      const error =
        step.kind === 'run'
          ? await this.runCommandStep(step, stepRunId, writeLog)
          : await this.runBuiltinStep(step, stepRunId, writeLog);
      if (this.signal.aborted) {
        writeLog('cairn', 'cancelled');
        await closeLog(log);
        return this.settle(step.name, 'cancelled', elapsed(), 'the run was cancelled');
      }
      if (error !== null) return this.fail(step, writeLog, elapsed(), error, log);

      const stored: Record<string, CachedOutput & { size: number }> = {};
      for (const o of outputs) {
        const abs = this.abs(o.rel);
        // What the step left there, links it made included, must lead inside: hashing and storing copy it.
        const what = outputWhat(step.name, o.name, o.rel);
        await assertTreeInside(this.options.workspace, abs, what, { step: step.name, use: 'output' });
        const exists = await fs.stat(abs).then(
          () => true,
          () => false,
        );
        if (!exists) {
          if (o.optional) continue;
          return this.fail(
            step,
            writeLog,
            elapsed(),
            `declared output '${o.name}' (${o.rel}) was not produced; the step must write it`,
            log,
          );
        }
        if (o.name.startsWith('metrics:')) this.readMetricsFile(abs, o.rel, stepRunId, step.name, writeLog);
        const obj = await this.objects.putPath(abs);
        stored[o.name] = { path: this.rel(abs), hash: obj.hash, kind: obj.kind, size: obj.size };
      }
      await this.store.writer.flush();
      const gateError = await this.checkGates(step, stepRunId);
      if (gateError !== null) {
        // Outputs are kept (for inspection) but not cached: a failed gate must fail again on the next run.
        for (const [name, o] of Object.entries(stored)) {
          await this.store.artifacts.recordArtifact(o.hash, o.kind, o.size, true);
          await this.store.artifacts.recordIo(stepRunId, 'out', name, o.path, o.hash);
        }
        return this.fail(step, writeLog, elapsed(), gateError, log);
      }
      await this.store.artifacts.commitStepOutputs(stepRunId, step.cache ? key : null, stored);
      if (step.cache) await pushStepResult(this.remoteStep(step, key, stepRunId, writeLog), stored);
      if (explanationsOutputName in stored) await this.store.runs.setTag(this.runId, explainedRunTag, 'true');
      await closeLog(log);
      return this.settle(step.name, 'succeeded', elapsed(), null);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return this.fail(step, writeLog, elapsed(), message, log);
    }
  }

  /** `abs` and every link below it lead inside the workspace (so reading it reads nothing outside). */
  private async leadsInside(abs: string): Promise<boolean> {
    if (confine(this.options.workspace, abs).kind !== 'inside') return false;
    try {
      await assertTreeInside(this.options.workspace, abs, abs);
      return true;
    } catch (error) {
      if (error instanceof PathEscapeError) return false;
      throw error;
    }
  }

  /** An input read from below an `allow_outside:` folder: logged, and kept on the run (tag) for lineage and review. */
  private recordOutside(rel: string, real: string, allowedBy: string, writeLog: (s: 'cairn', l: string) => void): void {
    if (this.outsideInputs.has(rel)) return;
    this.outsideInputs.set(rel, { real, allowedBy });
    writeLog('cairn', `reading ${rel} from outside the workspace (${real}, read-only: allow_outside ${allowedBy})`);
    const list = [...this.outsideInputs].map(([p, v]) => ({ path: p, real: v.real, allowedBy: v.allowedBy }));
    this.later(this.store.runs.setTag(this.runId, outsideTags.read, JSON.stringify(list)), (m) =>
      writeLog('cairn', `tag ${outsideTags.read}: ${m}`),
    );
  }

  /** `gate:` bounds on the metrics this step reported; the first violation, or null. */
  private async checkGates(step: ResolvedStep, stepRunId: number): Promise<string | null> {
    const entries = Object.entries(step.gate);
    if (entries.length === 0) return null;
    const latest = new Map((await this.store.metrics.latestOfStep(stepRunId)).map((m) => [m.key, m.value]));
    for (const [key, bound] of entries) {
      // `ndcg@k` in a gate names the metric a built-in reports for its `k` option, e.g. `ndcg@10`.
      const k = step.with?.k;
      const value = latest.get(key) ?? (typeof k === 'number' ? latest.get(key.replace(/@k$/, `@${k}`)) : undefined);
      if (value === undefined)
        return `gate on '${key}': the step reported no such metric (it reported: ${[...latest.keys()].join(', ') || 'none'})`;
      if (bound.min !== undefined && value < bound.min)
        return `gate failed: ${key} = ${value} is below the minimum ${bound.min}`;
      if (bound.max !== undefined && value > bound.max)
        return `gate failed: ${key} = ${value} is above the maximum ${bound.max}`;
    }
    return null;
  }

  private async fail(
    step: ResolvedStep,
    writeLog: (s: 'cairn', line: string) => void,
    durationMs: number,
    message: string,
    log: WriteStream,
  ): Promise<StepStatus> {
    writeLog('cairn', `failed: ${message}`);
    await closeLog(log);
    return this.settle(step.name, 'failed', durationMs, message);
  }

  /** What the shared remote needs to serve or receive this step's outputs (cas/remote/stepCache.ts). */
  private remoteStep(
    step: ResolvedStep,
    key: string,
    stepRunId: number,
    writeLog: (s: 'cairn', l: string) => void,
  ): RemoteStepContext {
    const outputs = this.outputEntries(step).map((o) => ({
      ...o,
      abs: this.abs(o.rel),
      what: outputWhat(step.name, o.name, o.rel),
    }));
    const { store, objects, workspace, remote: setting } = this.options;
    const base = {
      setting,
      store,
      objects,
      workspace,
      pipeline: this.pipeline.name,
      step: step.name,
      runId: this.runId,
    };
    return { ...base, stepRunId, key, outputs, log: (line) => writeLog('cairn', line) };
  }

  /** A cache hit: every output restored (verified) or already in place with the same hash. */
  private async tryRestore(
    step: ResolvedStep,
    key: string,
    stepRunId: number,
    writeLog: (s: 'cairn', line: string) => void,
  ): Promise<boolean> {
    const entry = await this.store.artifacts.cacheEntry(key);
    if (!entry) return false;
    const expected = this.outputEntries(step);
    try {
      for (const o of expected) {
        const cached = entry.outputs[o.name];
        if (!cached) {
          if (o.optional) continue;
          return false;
        }
        const what = outputWhat(step.name, o.name, o.rel);
        const restoreOptions = { step: step.name, use: 'restore' } as const;
        const abs = assertWritableInside(this.options.workspace, this.abs(o.rel), what, restoreOptions);
        // An output that is (or holds) a link out of the workspace is not hashed where it leads but replaced.
        const current = (await this.leadsInside(abs)) ? await this.hashOf(abs).catch(() => undefined) : undefined;
        if (current?.hash === cached.hash) continue;
        await this.objects.restore(cached.hash, cached.kind, abs);
      }
    } catch (error) {
      // On a shared store the entry may be a teammate's whose objects live in their workspace and the remote: it is
      // theirs to keep (a run here replaces it), and the remote is asked next. Only this workspace's own entry, in its
      // own SQLite store, is dropped when its objects are gone.
      if (error instanceof MissingObjectError && (this.options.remote || this.store.dialect !== 'sqlite')) {
        writeLog(
          'cairn',
          `cache entry ${key.slice(0, 12)} is in the store, its object ${error.hash.slice(0, 12)} not in this ` +
            `workspace: ${this.options.remote ? 'looking in the shared remote' : 'running the step'}`,
        );
        return false;
      }
      if (error instanceof CorruptObjectError || error instanceof MissingObjectError) {
        writeLog('cairn', `cache entry unusable (${error.message}); running the step`);
        await this.store.artifacts.dropCacheEntry(key);
        return false;
      }
      throw error;
    }
    for (const [name, o] of Object.entries(entry.outputs)) {
      await this.store.artifacts.recordIo(stepRunId, 'out', name, o.path, o.hash);
    }
    if (explanationsOutputName in entry.outputs) await this.store.runs.setTag(this.runId, explainedRunTag, 'true');
    const copied = await this.store.metrics.copyStep(entry.stepRunId, this.runId, stepRunId);
    writeLog(
      'cairn',
      `restored from cache (key ${key.slice(0, 12)}, ${Object.keys(entry.outputs).length} outputs, ${copied.length} metrics)`,
    );
    return true;
  }

  /**
   * A metric reported without a step number gets the next one for its key in this step run (0, 1, 2…, or one past
   * the highest step the key has had), so successive reports draw a history instead of piling up at step 0.
   */
  private recordMetric(stepRunId: number, stepName: string, key: string, value: number, x: number | undefined): void {
    const time = Date.now();
    const counterKey = `${stepRunId}\u0000${key}`;
    const next = this.nextMetricStep.get(counterKey) ?? 0;
    const stepX = x ?? next;
    this.nextMetricStep.set(counterKey, Math.max(next, Math.floor(stepX) + 1));
    this.store.writer.add(this.runId, stepRunId, key, stepX, value, time);
    this.emit({ type: 'metric', runId: this.runId, stepName, key, value, step: stepX, time });
  }

  /** A metrics file (`metrics:` of a command step): numeric leaves become metrics, nested keys joined by '.'. */
  private readMetricsFile(
    abs: string,
    rel: string,
    stepRunId: number,
    stepName: string,
    writeLog: (s: 'cairn', line: string) => void,
  ): void {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(abs, 'utf8'));
    } catch (error) {
      writeLog(
        'cairn',
        `metrics file ${rel} is not valid JSON (${error instanceof Error ? error.message : String(error)}); its values were not recorded`,
      );
      return;
    }
    const walk = (value: unknown, prefix: string) => {
      if (typeof value === 'number' && Number.isFinite(value))
        this.recordMetric(stepRunId, stepName, prefix, value, undefined);
      else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k);
      }
    };
    walk(data, '');
  }

  private async runCommandStep(
    step: ResolvedStep,
    stepRunId: number,
    writeLog: (s: 'stdout' | 'stderr' | 'cairn', line: string) => void,
  ): Promise<string | null> {
    const command = step.run ?? '';
    const scratch = this.scratchDir();
    await fs.mkdir(scratch, { recursive: true });
    const paramsFile = path.join(scratch, `${step.name}.params.json`);
    const metricsFile = path.join(scratch, `${step.name}.metrics.jsonl`);
    const paramValues: Record<string, unknown> = {};
    for (const [name, p] of Object.entries(this.pipeline.params)) paramValues[name] = p.value;
    await fs.writeFile(paramsFile, JSON.stringify(paramValues, null, 2), { mode: 0o600 });
    await fs.rm(metricsFile, { force: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CAIRN_RUN_ID: String(this.runId),
      CAIRN_STEP: step.name,
      CAIRN_ROOT: this.root,
      CAIRN_PARAMS_FILE: paramsFile,
      CAIRN_METRICS: metricsFile,
      CAIRN_DEPS: JSON.stringify(step.deps.map((d) => this.abs(d))),
    };
    for (const [name, p] of Object.entries(this.pipeline.params))
      env[`CAIRN_PARAM_${envName(name)}`] = typeof p.value === 'string' ? p.value : JSON.stringify(p.value);
    for (const [name, rel] of Object.entries(step.outs)) env[`CAIRN_OUTPUT_${envName(name)}`] = this.abs(rel);
    Object.assign(env, step.env);
    const tail = new MetricsFileTail(metricsFile, (line, lineNo) => {
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        writeLog('cairn', `CAIRN_METRICS line ${lineNo} is not JSON; write {"key": "loss", "value": 0.3, "step": 1}`);
        return;
      }
      const parsed = metricLineSchema.safeParse(json);
      if (!parsed.success) {
        writeLog(
          'cairn',
          `CAIRN_METRICS line ${lineNo} ignored: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'line'}: ${i.message}`).join('; ')}`,
        );
        return;
      }
      this.recordMetric(stepRunId, step.name, parsed.data.key, parsed.data.value, parsed.data.step);
    });
    let result;
    try {
      writeLog('cairn', `$ ${command.trim()}`);
      result = await runCommand({
        command,
        cwd: this.root,
        env,
        signal: this.signal,
        onSpawn: (pid) =>
          this.later(this.store.runs.setStepPid(stepRunId, pid), (m) =>
            writeLog('cairn', `recording the step's process: ${m}`),
          ),
        onLine: (stream, line) => {
          const metric = stream === 'stdout' ? parseMetricLine(line) : undefined;
          if (metric?.error) writeLog('cairn', `metric line ignored: ${metric.error}`);
          else if (metric)
            for (const m of metric.metrics) this.recordMetric(stepRunId, step.name, m.key, m.value, metric.step);
          writeLog(stream, line);
        },
      });
    } finally {
      await tail.close();
      await fs.rm(paramsFile, { force: true });
      await fs.rm(metricsFile, { force: true });
    }
    if (result.cancelled) return 'cancelled';
    if (result.code === 0) return null;
    const program = command.trim().split(/\s+/)[0] ?? command;
    if (result.code === 127)
      return `program not found: '${program}' (exit 127); install it or fix the step's run: line`;
    if (result.code === 126) return `'${program}' cannot be executed (exit 126); check its permissions (chmod +x)`;
    if (result.signal) return `the command was killed by ${result.signal}`;
    return `the command exited with code ${result.code}; see the step log above`;
  }

  private async runBuiltinStep(
    step: ResolvedStep,
    stepRunId: number,
    writeLog: (s: 'stdout' | 'stderr' | 'cairn', line: string) => void,
  ): Promise<string | null> {
    const name = step.uses ?? '';
    const spec = getBuiltin(name);
    if (!spec) return `'${name}' is not a built-in step; \`cairn schema\` lists them`;
    const impl = implementations.get(name);
    if (!impl) return `built-in '${name}' has no implementation in this Cairn version (${cairnVersion()})`;
    const parsed = spec.options.safeParse(step.with ?? {});
    if (!parsed.success)
      return `options of '${name}' are invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
    const options: Record<string, unknown> = { ...parsed.data };
    for (const option of spec.inputs) {
      const v = options[option];
      if (typeof v === 'string') options[option] = this.abs(v);
      else if (Array.isArray(v))
        options[option] = (v as unknown[]).map((x) => (typeof x === 'string' ? this.abs(x) : x));
    }
    const outputs: Record<string, string> = {};
    for (const [o, rel] of Object.entries(step.outs)) outputs[o] = this.abs(rel);
    // Column rules of the `data:` entry an input option reads, for data.validate.
    const dataSchemas: Record<string, Record<string, unknown>> = {};
    for (const option of spec.inputs) {
      const given = step.with?.[option];
      if (typeof given !== 'string') continue;
      const entry = Object.values(this.pipeline.data ?? {}).find(
        (d) => path.normalize(d.path) === path.normalize(given),
      );
      if (entry?.schema) dataSchemas[option] = entry.schema;
    }
    const ctx: BuiltinContext = {
      root: this.root,
      step: step.name,
      options,
      outputs,
      dataSchemas,
      log: (line) => writeLog('stdout', line),
      metric: (key, value, x) => {
        if (!Number.isFinite(value)) {
          writeLog('cairn', `metric ${key} = ${value} ignored: not a finite number`);
          return;
        }
        this.recordMetric(stepRunId, step.name, key, value, x);
      },
      tag: (key, value) =>
        this.later(this.store.runs.setTag(this.runId, key, value), (m) => writeLog('cairn', `tag ${key}: ${m}`)),
      signal: this.signal,
    };
    try {
      // model.register writes into this run's store: the registry hook is bound to this step's context.
      if (name === 'model.register')
        await bindModelRegistry(ctx, {
          store: this.store,
          objects: this.objects,
          workspace: this.options.workspace,
          runId: this.runId,
          stepRunId,
        });
      await impl(ctx);
      return null;
    } catch (error) {
      if (this.signal.aborted) return 'cancelled';
      if (error instanceof StepError) return error.hint ? `${error.message} (${error.hint})` : error.message;
      const e = error instanceof Error ? error : new Error(String(error));
      for (const line of (e.stack ?? e.message).split('\n')) writeLog('cairn', line);
      return `internal error in built-in '${name}': ${e.message}`;
    }
  }
}

function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

function closeLog(log: WriteStream): Promise<void> {
  return new Promise((resolve) => log.end(() => resolve()));
}
