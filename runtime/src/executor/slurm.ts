import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ResolvedPipeline, ResolvedStep, RunEvent, StepStatus } from '@cairn/protocol';
import { slurmJobsTag, slurmStatesTag, type WorkspaceConfig } from '@cairn/protocol/config.js';
import { CairnError } from '../util/errors.js';
import { MetricsFileTail } from './commandStep.js';
import {
  concludeRun,
  createRunRecord,
  restoreCachedSteps,
  type ExecuteOptions,
  type RunHandle,
  type RunOutcome,
  type StepOutcome,
} from './executor.js';

export { slurmJobsTag };

/** The step runner's bundle file name, beside dist/cli.js (esbuild.mjs builds it). */
export const stepRunnerBundle = 'stepExec.js';

export interface SlurmSettings {
  partition?: string;
  account?: string;
  qos?: string;
  time?: string;
  extraArgs?: string[];
  /**
   * The argv that starts Cairn's step runner on the node, given `step-exec …` after it: the `cairn` CLI or its small
   * step-exec bundle (default: this Node and dist/stepExec.js beside this bundle, see defaultCairn).
   */
  cairn?: string[];
  /** Environment of the Slurm clients (SLURM_CONF…); the job inherits it (sbatch --export=ALL). */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds between squeue polls. */
  pollMs?: number;
}

export function slurmSettingsOf(config: WorkspaceConfig | undefined): SlurmSettings {
  const s = config?.slurm;
  return {
    ...(s?.partition ? { partition: s.partition } : {}),
    ...(s?.account ? { account: s.account } : {}),
    ...(s?.qos ? { qos: s.qos } : {}),
    ...(s?.time ? { time: s.time } : {}),
    ...(s?.extra_args ? { extraArgs: s.extra_args } : {}),
  };
}

/** The cluster cannot be used (controller down, sbatch refused): raised before a run is created where possible. */
export class SlurmError extends CairnError {
  constructor(message: string) {
    super('refused', message);
    this.name = 'SlurmError';
  }
}

function client(program: string, args: string[], env: NodeJS.ProcessEnv | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { env: env ?? process.env, encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why =
          code === 'ENOENT' ? `${program} is not installed (install slurm-client)` : stderr.trim() || error.message;
        reject(new SlurmError(`${program} ${args.join(' ')}: ${why}`));
      } else resolve(stdout.trim());
    });
  });
}

/** `scontrol ping` must report the controller UP; otherwise nothing is submitted. */
export async function checkController(env?: NodeJS.ProcessEnv): Promise<void> {
  let out: string;
  try {
    out = await client('scontrol', ['ping'], env);
  } catch (error) {
    throw new SlurmError(`the Slurm controller is unreachable (${(error as Error).message}); nothing was submitted`);
  }
  if (!/\bUP\b/.test(out)) {
    const conf = (env ?? process.env).SLURM_CONF ?? '/etc/slurm/slurm.conf';
    throw new SlurmError(
      `the Slurm controller is unreachable (${out.replace(/\s+/g, ' ')}); check slurmctld and ${conf}; nothing was submitted`,
    );
  }
}

/** sbatch options for a step's `resources:` and the workspace's Slurm settings. */
export function sbatchResourceArgs(step: ResolvedStep, settings: SlurmSettings): string[] {
  const args: string[] = [];
  const r = step.resources;
  if (r.cpu !== undefined) args.push(`--cpus-per-task=${Math.max(1, Math.ceil(r.cpu))}`);
  if (r.memory !== undefined) args.push(`--mem=${slurmMemory(r.memory)}`);
  // `optional` runs where there is none, so only `required` asks Slurm for one.
  if (r.gpu === 'required') args.push('--gres=gpu:1');
  if (settings.time) args.push(`--time=${settings.time}`);
  if (settings.partition) args.push(`--partition=${settings.partition}`);
  if (settings.account) args.push(`--account=${settings.account}`);
  if (settings.qos) args.push(`--qos=${settings.qos}`);
  args.push(...(settings.extraArgs ?? []));
  return args;
}

/** `4G`, `512Mi`, `2GB`, a number of bytes… → Slurm's megabytes (`--mem=4096M`). */
function slurmMemory(memory: string | number): string {
  if (typeof memory === 'number') return `${Math.max(1, Math.ceil(memory / 1048576))}M`;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B?)?$/i.exec(memory.trim());
  if (!m) return memory;
  const factor: Record<string, number> = { '': 1 / 1048576, K: 1 / 1024, M: 1, G: 1024, T: 1048576 };
  return `${Math.max(1, Math.ceil(Number(m[1]) * (factor[(m[2] ?? '').toUpperCase()] ?? 1)))}M`;
}

type JobState = { state: string; reason: string };

/** States of jobs still known to the controller (squeue --states=all keeps finished ones for MinJobAge). */
async function jobStates(ids: string[], env: NodeJS.ProcessEnv | undefined): Promise<Map<string, JobState>> {
  // -r: one line per array task (`<array>_<index>`), pending ones included, as their ids are recorded.
  const out = await client('squeue', ['-h', '-r', '--states=all', '-j', ids.join(','), '-o', '%i|%T|%r'], env);
  const states = new Map<string, JobState>();
  for (const line of out.split('\n')) {
    const [id, state, reason] = line.split('|');
    if (id && state) states.set(id, { state, reason: reason ?? '' });
  }
  return states;
}

const terminalStates = new Set([
  'COMPLETED',
  'FAILED',
  'TIMEOUT',
  'CANCELLED',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
]);

/**
 * How a job starts the step runner: dist/stepExec.js beside this bundle (step-exec alone: a job's start-up is on the
 * critical path of every chain), else this process's own entry script (under tsx, in development).
 */
function defaultCairn(): string[] {
  const runner = path.join(__dirname, stepRunnerBundle);
  if (existsSync(runner)) return [process.execPath, runner];
  const script = process.argv[1];
  if (!script)
    throw new SlurmError("cannot tell how to start cairn on the node; set the Slurm executor's cairn command");
  return [process.execPath, path.resolve(script)];
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A run made ready for the cluster: its record, its cache hits restored, its param overrides written for the jobs. */
interface PreparedRun {
  pipeline: ResolvedPipeline;
  options: ExecuteOptions;
  selected: ResolvedStep[];
  runId: number;
  stepRunIds: Map<string, number>;
  outcomes: Record<string, StepOutcome>;
  scratch: string;
  paramsFile: string;
  controller: AbortController;
  progress: Progress;
  emit: (event: RunEvent) => void;
  /** Step → Slurm job id (`<array>_<index>` for a sweep's array task). */
  jobs: Map<string, string>;
}

async function prepareRun(pipeline: ResolvedPipeline, options: ExecuteOptions): Promise<PreparedRun> {
  const { selected, runId, stepRunIds } = await createRunRecord(pipeline, options);
  const controller = new AbortController();
  const emit = (event: RunEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A listener's failure must not stop the run.
    }
  };
  const progress: Progress = (step, status, message, slurm) =>
    emit({
      type: 'progress',
      runId,
      pipeline: pipeline.name,
      ...(step ? { step } : {}),
      status,
      ...(message ? { message } : {}),
      ...(slurm ? { slurm } : {}),
    });
  progress(undefined, 'running');
  const outcomes = await restoreCachedSteps(pipeline, selected, runId, stepRunIds, options, controller.signal);
  for (const [name, o] of Object.entries(outcomes))
    progress(name, o.status, o.cacheHit ? 'restored from cache' : (o.error ?? undefined));
  const scratch = path.join(options.workspace, '.cairn', 'tmp', `slurm-run-${runId}`);
  await fs.mkdir(scratch, { recursive: true });
  const overrides: Record<string, string> = {};
  for (const [name, p] of Object.entries(pipeline.params)) {
    if (p.overridden) overrides[name] = typeof p.value === 'string' ? p.value : JSON.stringify(p.value);
  }
  const paramsFile = path.join(scratch, 'params.json');
  await fs.writeFile(paramsFile, JSON.stringify(overrides), { mode: 0o600 });
  await fs.mkdir(path.join(options.workspace, '.cairn', 'logs', String(runId)), { recursive: true });
  const jobs = new Map<string, string>();
  return {
    pipeline,
    options,
    selected,
    runId,
    stepRunIds,
    outcomes,
    scratch,
    paramsFile,
    controller,
    progress,
    emit,
    jobs,
  };
}

/**
 * Whether a step of the run goes to the cluster: not when it is settled (a cache hit) or cannot run (an earlier
 * failure, an upstream step that did not succeed: then it is settled as skipped here).
 */
function toSubmit(run: PreparedRun, step: ResolvedStep): boolean {
  if (run.outcomes[step.name]) return false;
  const selectedNames = new Set(run.selected.map((s) => s.name));
  const failedEarly = Object.values(run.outcomes).some((o) => o.status === 'failed');
  const upstream = step.needs.filter((n) => selectedNames.has(n));
  if (failedEarly || upstream.some((n) => run.outcomes[n] && run.outcomes[n].status !== 'succeeded')) {
    run.outcomes[step.name] = {
      status: 'skipped',
      cacheHit: false,
      durationMs: null,
      error: 'an upstream step did not succeed',
    };
    return false;
  }
  return true;
}

/** The step runner's argv for a step of one run (`runArgs`: `--run` … of that run, or `--manifest` for an array). */
function stepExecArgs(cairn: string[], step: ResolvedStep, runArgs: string[], run: PreparedRun): string[] {
  const options = run.options;
  return [
    ...cairn,
    'step-exec',
    '--step',
    step.name,
    '--pipeline',
    run.pipeline.file,
    ...runArgs,
    '--workspace',
    options.workspace,
    // The job looks cache misses up on the shared remote and pushes to it, as a local run does.
    ...(options.remote
      ? ['--remote', options.remote.remote.url, ...(options.remote.autoPush ? [] : ['--no-push'])]
      : []),
    ...(options.force ? ['--force'] : []),
  ];
}

function runArgsOf(run: PreparedRun): string[] {
  return [
    '--run',
    String(run.runId),
    '--params-file',
    run.paramsFile,
    // A sweep combination's own folder copy: the job must not write into the shared pipeline folder.
    ...(run.options.filesRoot ? ['--files-root', run.options.filesRoot] : []),
  ];
}

/**
 * Nothing half-submitted: what any of `queuedIn` queued is cancelled, the step fails in each of `failIn` with sbatch's
 * message.
 */
async function submitFailed(
  queuedIn: PreparedRun[],
  failIn: PreparedRun[],
  step: string,
  error: unknown,
  settings: SlurmSettings,
): Promise<void> {
  // An array task's id cancels that task; the array's own id would cancel every combination's.
  const queued = queuedIn.flatMap((r) => [...r.jobs.values()]);
  if (queued.length > 0) await client('scancel', queued, settings.env).catch(() => '');
  for (const r of failIn) {
    r.outcomes[step] = { status: 'failed', cacheHit: false, durationMs: null, error: (error as Error).message };
  }
}

/**
 * Runs a pipeline on Slurm: cache hits restored here first, then one `sbatch` job per remaining step running
 * `cairn step-exec` (the local executor's per-step code), chained with `--dependency=afterok:` as `needs` says.
 */
export async function startSlurmRun(
  pipeline: ResolvedPipeline,
  options: ExecuteOptions,
  settings: SlurmSettings = {},
): Promise<RunHandle> {
  await checkController(settings.env);
  const cairn = settings.cairn ?? defaultCairn();
  const run = await prepareRun(pipeline, options);
  const { jobs, runId } = run;
  const selectedNames = new Set(run.selected.map((s) => s.name));
  for (const step of run.selected) {
    if (!toSubmit(run, step)) continue;
    const after = step.needs
      .filter((n) => selectedNames.has(n))
      .flatMap((n) => (jobs.has(n) ? [jobs.get(n) ?? ''] : []));
    const logDir = path.join(options.workspace, '.cairn', 'logs', String(runId));
    const args = [
      '--parsable',
      // A job lost with its node fails its step (Slurm's reason kept); a re-run resumes from the cache.
      '--no-requeue',
      `--job-name=cairn-${runId}-${step.name}`,
      `--chdir=${options.filesRoot ?? pipeline.root}`,
      `--output=${path.join(logDir, `${step.name}.slurm.out`)}`,
      ...(after.length > 0 ? [`--dependency=afterok:${after.join(':')}`, '--kill-on-invalid-dep=yes'] : []),
      ...sbatchResourceArgs(step, settings),
      '--wrap',
      stepExecArgs(cairn, step, runArgsOf(run), run).map(shellQuote).join(' '),
    ];
    try {
      const id = (await client('sbatch', args, settings.env)).split(';')[0] ?? '';
      jobs.set(step.name, id);
      run.progress(step.name, 'pending', `queued: Slurm job ${id}`, { job: id, state: 'PENDING' });
    } catch (error) {
      await submitFailed([run], [run], step.name, error, settings);
      break;
    }
  }
  return watchRun(run, settings);
}

/** One run of a sweep on Slurm: the pipeline resolved with its combination's params, and how it runs. */
export interface SweepRunRequest {
  pipeline: ResolvedPipeline;
  options: ExecuteOptions;
}

/** A step's definition as the job sees it: equal across combinations when no swept param reaches it. */
function stepIdentity(step: ResolvedStep): string {
  return JSON.stringify(step);
}

/**
 * Runs a sweep's combinations on Slurm as job arrays: each combination is a normal run (its record, its cache hits
 * restored first), and each step is ONE `sbatch --array` over the combinations that still need it, task index =
 * combination index. A task finds its run in the array's manifest by SLURM_ARRAY_TASK_ID (step-exec --manifest). A
 * step that depends on a swept param waits with `--dependency=aftercorr:` on the same index of its upstream arrays; a
 * step shared by every combination (same definition, shared upstream) is an array throttled to one task at a time
 * (`%1`): the first task runs it, the others find it in the cache and restore it into their own run, so it runs once.
 */
export async function startSlurmSweep(
  requests: SweepRunRequest[],
  sweepId: number,
  settings: SlurmSettings = {},
): Promise<RunHandle[]> {
  await checkController(settings.env);
  const cairn = settings.cairn ?? defaultCairn();
  const runs: PreparedRun[] = [];
  for (const r of requests) runs.push(await prepareRun(r.pipeline, r.options));
  const head = runs[0];
  if (!head) return [];
  const workspace = head.options.workspace;
  const scratch = path.join(workspace, '.cairn', 'tmp', `slurm-sweep-${sweepId}`);
  const logDir = path.join(workspace, '.cairn', 'logs', `sweep-${sweepId}`);
  await fs.mkdir(scratch, { recursive: true });
  await fs.mkdir(logDir, { recursive: true });
  /** Step → its array job id and the task indices it holds. */
  const arrays = new Map<string, { id: string; indices: Set<number> }>();
  const shared = new Set<string>();
  for (const step of head.selected) {
    const steps = runs.map((r) => r.selected.find((s) => s.name === step.name));
    const same = steps.every((s) => s !== undefined && stepIdentity(s) === stepIdentity(step));
    // A wrong guess costs only parallelism: each task looks its own cache key up before running.
    if (same && step.needs.every((n) => shared.has(n))) shared.add(step.name);
    const indices = runs.flatMap((r, i) => {
      const own = steps[i];
      return own && toSubmit(r, own) ? [i] : [];
    });
    if (indices.length === 0) continue;
    const manifest: Record<string, { run: number; paramsFile: string; filesRoot?: string }> = {};
    for (const i of indices) {
      const r = runs[i];
      if (!r) continue;
      manifest[String(i)] = {
        run: r.runId,
        paramsFile: r.paramsFile,
        ...(r.options.filesRoot ? { filesRoot: r.options.filesRoot } : {}),
      };
    }
    const manifestFile = path.join(scratch, `${step.name}.json`);
    await fs.writeFile(manifestFile, JSON.stringify(manifest), { mode: 0o600 });
    const dependencies: string[] = [];
    for (const n of step.needs) {
      const upstream = arrays.get(n);
      if (!upstream) continue;
      // aftercorr pairs task i with the upstream's task i; where the upstream array lacks a task (a cache hit in that
      // combination) the pairing is not Slurm's documented case, so then the whole upstream array is waited for.
      const paired = indices.every((i) => upstream.indices.has(i));
      dependencies.push(`${paired ? 'aftercorr' : 'afterok'}:${upstream.id}`);
    }
    const args = [
      '--parsable',
      '--no-requeue',
      `--array=${indices.join(',')}${shared.has(step.name) ? '%1' : ''}`,
      `--job-name=cairn-sweep${sweepId}-${step.name}`,
      `--chdir=${workspace}`,
      `--output=${path.join(logDir, `${step.name}.%a.slurm.out`)}`,
      ...(dependencies.length > 0 ? [`--dependency=${dependencies.join(',')}`, '--kill-on-invalid-dep=yes'] : []),
      ...sbatchResourceArgs(step, settings),
      '--wrap',
      // Pipeline file, workspace, remote and --force are the same in every combination: the first one's are used.
      stepExecArgs(cairn, step, ['--manifest', manifestFile], head).map(shellQuote).join(' '),
    ];
    const submitted = indices.map((i) => runs[i]).filter((r): r is PreparedRun => r !== undefined);
    try {
      const id = (await client('sbatch', args, settings.env)).split(';')[0] ?? '';
      arrays.set(step.name, { id, indices: new Set(indices) });
      for (const i of indices) {
        const r = runs[i];
        if (!r) continue;
        const job = `${id}_${i}`;
        r.jobs.set(step.name, job);
        r.progress(step.name, 'pending', `queued: Slurm job ${job}`, { job, state: 'PENDING' });
      }
    } catch (error) {
      await submitFailed(runs, submitted, step.name, error, settings);
      break;
    }
  }
  const handles: RunHandle[] = [];
  for (const r of runs) handles.push(await watchRun(r, settings));
  void Promise.allSettled(handles.map((h) => h.done)).then(() => fs.rm(scratch, { recursive: true, force: true }));
  return handles;
}

/** Records the run's jobs, follows their logs and states until every step is settled. */
async function watchRun(run: PreparedRun, settings: SlurmSettings): Promise<RunHandle> {
  const { jobs, runId, options } = run;
  await options.store.runs.setTag(runId, slurmJobsTag, JSON.stringify(Object.fromEntries(jobs)));
  await options.store.runs.setTag(
    runId,
    slurmStatesTag,
    JSON.stringify(Object.fromEntries([...jobs.keys()].map((s) => [s, 'PENDING']))),
  );
  // The job writes its step log into the workspace; followed here so the log streams live as for a local run.
  const tails = [...jobs.keys()].map(
    (step) =>
      new MetricsFileTail(path.join(options.workspace, '.cairn', 'logs', String(runId), `${step}.log`), (line) => {
        const cairnLine = line.startsWith('[cairn] ');
        const text = cairnLine ? line.slice('[cairn] '.length) : line;
        run.emit({ type: 'log', runId, step, stream: cairnLine ? 'cairn' : 'stdout', line: text });
      }),
  );
  const watcher = new JobWatcher(
    run.pipeline,
    run.selected,
    runId,
    run.stepRunIds,
    options,
    settings,
    jobs,
    run.outcomes,
    run.progress,
    run.emit,
  );
  const done = watcher.watch(run.controller.signal).then(async (outcome) => {
    await Promise.all(tails.map((t) => t.close()));
    await fs.rm(run.scratch, { recursive: true, force: true });
    run.progress(undefined, outcome.status, outcome.error ?? undefined);
    return outcome;
  });
  return {
    runId,
    done,
    cancel: () => {
      run.controller.abort();
      void client('scancel', [...jobs.values()], settings.env).catch(() => '');
    },
  };
}

type Progress = (
  step: string | undefined,
  status: StepStatus | 'running',
  message?: string,
  slurm?: { job: string; state: string },
) => void;

/**
 * Polls the run's jobs and turns Slurm's states into the run's step statuses (each change kept in the run's
 * `cairn.slurm_states` tag and sent with the step's progress event); follows the metrics the jobs write into the store
 * and sends them as live metric events, as a local run does.
 */
class JobWatcher {
  private readonly seen = new Map<string, string>();
  private metricCursor = 0;

  constructor(
    private readonly pipeline: ResolvedPipeline,
    private readonly selected: ResolvedStep[],
    private readonly runId: number,
    private readonly stepRunIds: Map<string, number>,
    private readonly options: ExecuteOptions,
    private readonly settings: SlurmSettings,
    private readonly jobs: Map<string, string>,
    private readonly outcomes: Record<string, StepOutcome>,
    private readonly progress: Progress,
    private readonly emit: (event: RunEvent) => void,
  ) {}

  /** Sends the metrics the jobs wrote since the last look (the jobs flush theirs as they are reported). */
  private async followMetrics(): Promise<void> {
    const { cursor, rows } = await this.options.store.metrics.after(this.runId, this.metricCursor);
    this.metricCursor = cursor;
    const stepOf = new Map([...this.stepRunIds].map(([name, id]) => [id, name]));
    for (const r of rows) {
      const stepName = r.stepRunId === null ? undefined : stepOf.get(r.stepRunId);
      if (stepName === undefined || !this.jobs.has(stepName)) continue; // a cache hit's copy: not live
      this.emit({
        type: 'metric',
        runId: this.runId,
        stepName,
        key: r.key,
        value: r.value,
        step: r.step,
        time: r.time,
      });
    }
  }

  /** A Slurm state seen for the first time for a step: kept on the run and sent with the step's progress. */
  private async stateSeen(): Promise<void> {
    const states = Object.fromEntries([...this.jobs.keys()].map((s) => [s, this.seen.get(s) ?? 'PENDING']));
    await this.options.store.runs.setTag(this.runId, slurmStatesTag, JSON.stringify(states));
  }

  async watch(signal: AbortSignal): Promise<RunOutcome> {
    const store = this.options.store;
    // Metrics already in the run (cache hits' copies) are not live: follow what comes after them.
    this.metricCursor = (await store.metrics.after(this.runId, 0)).cursor;
    for (const step of this.selected) {
      const o = this.outcomes[step.name];
      if (o && !o.cacheHit && o.status !== 'succeeded' && o.status !== 'failed') {
        const id = this.stepRunIds.get(step.name);
        if (id !== undefined) await store.runs.setStepStatus(id, o.status, o.error);
      }
    }
    while ([...this.jobs.keys()].some((s) => !this.outcomes[s])) {
      await new Promise((resolve) => setTimeout(resolve, this.settings.pollMs ?? 250));
      const open = [...this.jobs].filter(([s]) => !this.outcomes[s]);
      const states = await jobStates(
        open.map(([, id]) => id),
        this.settings.env,
      );
      for (const [step, id] of open) {
        if (this.outcomes[step]) continue; // settled meanwhile (downstream of a failure)
        const js = states.get(id) ?? { state: 'UNKNOWN', reason: 'the controller no longer knows this job' };
        const changed = this.seen.get(step) !== js.state;
        if (changed) {
          this.seen.set(step, js.state);
          await this.stateSeen();
          const slurm = { job: id, state: js.state };
          if (js.state === 'PENDING') this.progress(step, 'pending', `queued: Slurm job ${id} (${js.reason})`, slurm);
          else if (js.state === 'RUNNING') this.progress(step, 'running', `Slurm job ${id} running`, slurm);
        }
        if (terminalStates.has(js.state) || js.state === 'UNKNOWN') {
          await this.followMetrics(); // the job's last metrics before its step is settled
          await this.finish(step, id, js, signal.aborted);
        }
      }
      await this.followMetrics();
    }
    return concludeRun(store, this.pipeline, this.runId, this.outcomes, signal.aborted);
  }

  /** A job ended: the step's own record (written by step-exec) unless Slurm stopped it, then Slurm's reason. */
  private async finish(step: string, jobId: string, js: JobState, cancelled: boolean): Promise<void> {
    const store = this.options.store;
    const stepRunId = this.stepRunIds.get(step) ?? -1;
    const row = (await store.runs.steps(this.runId)).find((r) => r.step === step);
    let outcome: StepOutcome;
    if (js.state === 'COMPLETED' && row?.status === 'succeeded') {
      outcome = { status: 'succeeded', cacheHit: row.cacheHit, durationMs: null, error: null };
    } else if (cancelled) {
      outcome = { status: 'cancelled', cacheHit: false, durationMs: null, error: 'the run was cancelled' };
      await store.runs.setStepStatus(stepRunId, 'cancelled', outcome.error);
    } else if (js.state === 'FAILED' && row?.status === 'failed' && row.error) {
      outcome = { status: 'failed', cacheHit: false, durationMs: null, error: row.error };
    } else {
      const reason = js.reason && js.reason !== 'None' ? `: ${js.reason}` : '';
      const error = `Slurm job ${jobId} ended ${js.state}${reason}`;
      outcome = { status: 'failed', cacheHit: false, durationMs: null, error };
      await store.runs.finishStep(stepRunId, 'failed', { error, durationMs: 0 });
    }
    this.outcomes[step] = outcome;
    this.progress(step, outcome.status, outcome.error ?? undefined, { job: jobId, state: js.state });
    if (outcome.status !== 'succeeded') await this.cancelDownstream(step);
  }

  /** Every step below a failed one: its job cancelled (afterok can never hold), the step marked cancelled. */
  private async cancelDownstream(failed: string): Promise<void> {
    const below = new Set([failed]);
    for (const s of this.selected) if (s.needs.some((n) => below.has(n))) below.add(s.name);
    below.delete(failed);
    const ids: string[] = [];
    for (const name of below) {
      if (this.outcomes[name]) continue;
      const error = `an upstream step did not succeed (${failed})`;
      this.outcomes[name] = { status: 'cancelled', cacheHit: false, durationMs: null, error };
      const id = this.stepRunIds.get(name);
      if (id !== undefined) await this.options.store.runs.setStepStatus(id, 'cancelled', error);
      this.progress(name, 'cancelled', error);
      const job = this.jobs.get(name);
      if (job) {
        ids.push(job);
        this.seen.set(name, 'CANCELLED');
      }
    }
    if (ids.length > 0) {
      await client('scancel', ids, this.settings.env).catch(() => '');
      await this.stateSeen();
    }
  }
}
