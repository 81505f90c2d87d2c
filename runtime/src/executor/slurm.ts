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
  const out = await client('squeue', ['-h', '--states=all', '-j', ids.join(','), '-o', '%i|%T|%r'], env);
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

  const jobs = new Map<string, string>();
  const selectedNames = new Set(selected.map((s) => s.name));
  const failedEarly = Object.values(outcomes).some((o) => o.status === 'failed');
  for (const step of selected) {
    if (outcomes[step.name]) continue;
    const upstream = step.needs.filter((n) => selectedNames.has(n));
    if (failedEarly || upstream.some((n) => outcomes[n] && outcomes[n].status !== 'succeeded')) {
      outcomes[step.name] = {
        status: 'skipped',
        cacheHit: false,
        durationMs: null,
        error: 'an upstream step did not succeed',
      };
      continue;
    }
    const after = upstream.flatMap((n) => (jobs.has(n) ? [jobs.get(n) ?? ''] : []));
    const logDir = path.join(options.workspace, '.cairn', 'logs', String(runId));
    await fs.mkdir(logDir, { recursive: true });
    const command = [
      ...cairn,
      'step-exec',
      '--run',
      String(runId),
      '--step',
      step.name,
      '--pipeline',
      pipeline.file,
      '--params-file',
      paramsFile,
      '--workspace',
      options.workspace,
      // A sweep combination's own folder copy: the job must not write into the shared pipeline folder.
      ...(options.filesRoot ? ['--files-root', options.filesRoot] : []),
      // The job looks cache misses up on the shared remote and pushes to it, as a local run does.
      ...(options.remote
        ? ['--remote', options.remote.remote.url, ...(options.remote.autoPush ? [] : ['--no-push'])]
        : []),
      ...(options.force ? ['--force'] : []),
    ];
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
      command.map(shellQuote).join(' '),
    ];
    try {
      const id = (await client('sbatch', args, settings.env)).split(';')[0] ?? '';
      jobs.set(step.name, id);
      progress(step.name, 'pending', `queued: Slurm job ${id}`, { job: id, state: 'PENDING' });
    } catch (error) {
      // Nothing half-submitted: what was queued is cancelled, the run fails with sbatch's message.
      if (jobs.size > 0) await client('scancel', [...jobs.values()], settings.env).catch(() => '');
      outcomes[step.name] = { status: 'failed', cacheHit: false, durationMs: null, error: (error as Error).message };
      break;
    }
  }
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
        emit({ type: 'log', runId, step, stream: cairnLine ? 'cairn' : 'stdout', line: text });
      }),
  );
  const watcher = new JobWatcher(
    pipeline,
    selected,
    runId,
    stepRunIds,
    options,
    settings,
    jobs,
    outcomes,
    progress,
    emit,
  );
  const done = watcher.watch(controller.signal).then(async (outcome) => {
    await Promise.all(tails.map((t) => t.close()));
    await fs.rm(scratch, { recursive: true, force: true });
    progress(undefined, outcome.status, outcome.error ?? undefined);
    return outcome;
  });
  return {
    runId,
    done,
    cancel: () => {
      controller.abort();
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
