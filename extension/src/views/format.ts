import {
  explainedRunTag,
  type RunProgressNotification,
  type RunStatus,
  type RunSummary,
  type StepStatus,
} from '@cairn/protocol';
import { slurmJobsOf, slurmStatesOf } from '@cairn/protocol/config.js';

/** Formatting for the trees and lenses. Pure: no vscode import (unit-tested). */

/** "just now", "42s ago", "5m ago", "3h ago", "2d ago"; a future time (clock skew) reads "just now". */
export function formatAge(thenMs: number, nowMs: number): string {
  const s = Math.floor((nowMs - thenMs) / 1000);
  if (!Number.isFinite(s) || s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

/** "850 ms", "12.3 s", "4m 05s", "2h 03m". */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalS = Math.round(ms / 1000);
  const m = Math.floor(totalS / 60);
  if (m < 60) return `${m}m ${String(totalS % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/**
 * One line of the runtime log per status change the runtime reports: `run #12 recommender: running`,
 * `run #12 recommender › train: succeeded (restored from cache, 850 ms)`. The log then holds each run's state history
 * in the order it arrived (the e2e suite reads it from there: a state too short to render is still recorded).
 */
export function progressLogLine(p: RunProgressNotification.Params): string {
  const details = [p.message, p.durationMs === undefined ? '' : formatDuration(p.durationMs)].filter((d) => d);
  const what = p.step === undefined ? `run #${p.runId} ${p.pipeline}` : `run #${p.runId} ${p.pipeline} › ${p.step}`;
  return `${what}: ${p.status}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
}

/** A metric value with 4 significant digits; never prints NaN or Infinity as a number. */
export function formatMetric(value: number): string {
  if (Number.isNaN(value)) return 'n/a';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '-∞';
  if (value !== 0 && (Math.abs(value) >= 1e6 || Math.abs(value) < 1e-3)) return value.toExponential(3);
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/**
 * Metrics people look for first, best-known names first; a run shows the first it has. Otherwise the first key in
 * alphabetical order, so the choice is stable between runs.
 */
export const preferredMetrics = [
  'ndcg@10',
  'ndcg',
  'map',
  'f1',
  'roc_auc',
  'auc',
  'accuracy',
  'precision@10',
  'recall@10',
  'rmse',
  'mae',
  'r2',
  'loss',
  'val_loss',
];

export function keyMetric(
  metrics: Readonly<Record<string, number>>,
  preferred: readonly string[] = preferredMetrics,
): { key: string; value: number } | undefined {
  const keys = Object.keys(metrics);
  if (keys.length === 0) return undefined;
  const lower = new Map(keys.map((k) => [k.toLowerCase(), k]));
  for (const p of preferred) {
    const exact = lower.get(p.toLowerCase());
    if (exact !== undefined) return { key: exact, value: metrics[exact] as number };
    // Prefixed by a step or split name: "eval/ndcg@10", "test_f1".
    const suffixed = keys
      .filter((k) => k.toLowerCase().endsWith(`/${p.toLowerCase()}`) || k.toLowerCase().endsWith(`_${p.toLowerCase()}`))
      .sort()[0];
    if (suffixed !== undefined) return { key: suffixed, value: metrics[suffixed] as number };
  }
  const first = [...keys].sort()[0] as string;
  return { key: first, value: metrics[first] as number };
}

/** Codicon per status (the tree icon). */
/**
 * A run's tree item context (package.json menus match it): running runs can be cancelled, finished ones deleted, and
 * runs whose steps recorded explanations offer "Open Explanation".
 */
export function runContextValue(run: Pick<RunSummary, 'status' | 'tags'>): string {
  if (run.status === 'running') return 'cairn.run.running';
  return run.tags[explainedRunTag] === 'true' ? 'cairn.run.explained' : 'cairn.run';
}

export function runStatusIcon(status: RunStatus | StepStatus): string {
  switch (status) {
    case 'running':
      return 'sync~spin';
    case 'succeeded':
      return 'pass';
    case 'failed':
      return 'error';
    case 'cancelled':
      return 'circle-slash';
    case 'interrupted':
      return 'debug-disconnect';
    case 'pending':
      return 'clock';
    case 'skipped':
      return 'debug-step-over';
  }
}

/** Theme colour id per status, so the icon reads at a glance. */
export function runStatusColor(status: RunStatus | StepStatus): string | undefined {
  switch (status) {
    case 'succeeded':
      return 'testing.iconPassed';
    case 'failed':
      return 'testing.iconFailed';
    case 'running':
      return 'charts.blue';
    case 'cancelled':
    case 'interrupted':
      return 'testing.iconSkipped';
    default:
      return undefined;
  }
}

/**
 * Tree item label and description of a run: "#12 succeeded", "5m ago · 12.3 s · ndcg@10 0.3412". A run someone else
 * started (a shared store holds the team's runs) says whose it is: "5m ago · 12.3 s · by ana@team.example · …"; `me`
 * is the user this workspace's runs record, whose own runs stay unmarked.
 */
export function runLabel(run: Pick<RunSummary, 'id' | 'status'>): string {
  return `#${run.id} ${run.status}`;
}

export function runDescription(
  run: Pick<RunSummary, 'startedAt' | 'durationMs' | 'metrics' | 'status'> & Partial<Pick<RunSummary, 'tags' | 'user'>>,
  nowMs: number,
  preferred?: readonly string[],
  me?: string,
): string {
  const parts = [formatAge(run.startedAt, nowMs)];
  if (run.status !== 'running') {
    const d = formatDuration(run.durationMs);
    if (d) parts.push(d);
  }
  if (run.user && run.user !== me) parts.push(`by ${run.user}`);
  const metric = keyMetric(run.metrics, preferred);
  if (metric) parts.push(`${metric.key} ${formatMetric(metric.value)}`);
  const jobs = Object.entries(slurmJobsOf(run.tags));
  if (jobs.length > 0) {
    // While it runs, each job's Slurm state (PENDING, RUNNING…); once it ended, the ids alone.
    const states = run.status === 'running' ? slurmStatesOf(run.tags) : {};
    parts.push(`jobs ${jobs.map(([step, id]) => (states[step] ? `${id} ${states[step]}` : id)).join(',')}`);
  }
  return parts.join(' · ');
}

/** "Slurm jobs: train 41, report 42" for a run that ran on Slurm; undefined otherwise. */
export function slurmJobsText(tags: Readonly<Record<string, string>> | undefined): string | undefined {
  const jobs = Object.entries(slurmJobsOf(tags));
  const states = slurmStatesOf(tags);
  const one = ([step, id]: [string, string]) => `${step} ${id}${states[step] ? ` (${states[step]})` : ''}`;
  return jobs.length > 0 ? `Slurm jobs: ${jobs.map(one).join(', ')}` : undefined;
}

/** The last-result lens text of a step: "✓ succeeded 5m ago · rmse 0.91". */
export function lastResultText(
  result: { status: RunStatus | StepStatus; at: number | null; metrics?: Readonly<Record<string, number>> },
  nowMs: number,
  preferred?: readonly string[],
): string {
  const mark =
    result.status === 'succeeded' ? '✓' : result.status === 'failed' ? '✗' : result.status === 'running' ? '…' : '•';
  const parts = [`${mark} ${result.status}${result.at === null ? '' : ` ${formatAge(result.at, nowMs)}`}`];
  const metric = result.metrics ? keyMetric(result.metrics, preferred) : undefined;
  if (metric) parts.push(`${metric.key} ${formatMetric(metric.value)}`);
  return parts.join(' · ');
}
