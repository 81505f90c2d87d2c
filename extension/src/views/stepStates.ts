import type { RunDetail, StepStatus } from '@cairn/protocol';

/**
 * The cache state of each step of a pipeline, as the Pipelines tree and the CodeLens show it. Pure (unit-tested).
 *
 * fresh:   the step's last run succeeded (ran or restored from cache) after the pipeline file last changed, and every
 *          step it needs is fresh.
 * stale:   never ran, was cancelled or interrupted, the pipeline file changed since, or a step it needs is not fresh.
 * running: a run is executing it now.
 * failed:  its last run failed.
 *
 * The extension sees the pipeline file's modification time, not the step's input files: a changed data file is found
 * stale by the runtime's cache key when the step runs, not here (see docs/extension.md).
 */
export type StepState = 'fresh' | 'stale' | 'running' | 'failed';

export interface StepStateInfo {
  state: StepState;
  why: string;
  /** The run the state comes from. */
  runId?: number;
  status?: StepStatus;
  /** When that step run ended (or started, while running), epoch ms. */
  at?: number | null;
  metrics?: Readonly<Record<string, number>>;
}

export interface StepShape {
  name: string;
  needs: readonly string[];
}

/** The runs to read, newest first (the latest few of the pipeline with their step records). */
export type RunForState = Pick<RunDetail, 'id' | 'startedAt' | 'steps' | 'metrics'>;

const decided = new Set<StepStatus>(['running', 'succeeded', 'failed', 'cancelled', 'interrupted']);

export function stepStates(
  steps: readonly StepShape[],
  runsNewestFirst: readonly RunForState[],
  pipelineChangedAt: number | undefined,
): Map<string, StepStateInfo> {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const own = new Map<string, StepStateInfo>();
  for (const step of steps) {
    let found: StepStateInfo | undefined;
    for (const run of runsNewestFirst) {
      const record = run.steps.find((r) => r.step === step.name && decided.has(r.status));
      if (!record) continue;
      const at = record.endedAt ?? record.startedAt ?? run.startedAt;
      const base = { runId: run.id, status: record.status, at, metrics: run.metrics };
      if (record.status === 'running') found = { ...base, state: 'running', why: `running in run #${run.id}` };
      else if (record.status === 'failed')
        found = { ...base, state: 'failed', why: `failed in run #${run.id}${record.error ? `: ${record.error}` : ''}` };
      else if (record.status === 'succeeded') {
        const started = record.startedAt ?? run.startedAt;
        found =
          pipelineChangedAt !== undefined && pipelineChangedAt > started
            ? { ...base, state: 'stale', why: `the pipeline file changed after run #${run.id}` }
            : {
                ...base,
                state: 'fresh',
                why: `${record.cacheHit ? (record.cacheSource === 'remote' ? 'restored from the shared remote' : 'restored from cache') : 'ran'} in run #${run.id}`,
              };
      } else found = { ...base, state: 'stale', why: `${record.status} in run #${run.id}` };
      break;
    }
    own.set(step.name, found ?? { state: 'stale', why: 'never ran' });
  }
  // A fresh step whose upstream is not fresh is stale: running the pipeline would run it again.
  const result = new Map<string, StepStateInfo>();
  const visiting = new Set<string>();
  const resolve = (name: string): StepStateInfo => {
    const done = result.get(name);
    if (done) return done;
    const mine = own.get(name) ?? { state: 'stale', why: 'never ran' };
    if (visiting.has(name)) return mine; // A cycle: the language server reports it; do not loop.
    visiting.add(name);
    let info = mine;
    if (mine.state === 'fresh') {
      for (const need of byName.get(name)?.needs ?? []) {
        if (!byName.has(need)) continue;
        const up = resolve(need);
        if (up.state !== 'fresh') {
          info = { ...mine, state: 'stale', why: `upstream step '${need}' is ${up.state}` };
          break;
        }
      }
    }
    visiting.delete(name);
    result.set(name, info);
    return info;
  };
  for (const step of steps) resolve(step.name);
  return result;
}

/** Codicon and theme colour per state. */
export function stepStateIcon(state: StepState): { icon: string; color: string | undefined } {
  switch (state) {
    case 'fresh':
      return { icon: 'pass-filled', color: 'testing.iconPassed' };
    case 'stale':
      return { icon: 'circle-large-outline', color: 'list.warningForeground' };
    case 'running':
      return { icon: 'sync~spin', color: 'charts.blue' };
    case 'failed':
      return { icon: 'error', color: 'testing.iconFailed' };
  }
}
