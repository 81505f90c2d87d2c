import type {
  ListRunsRequest,
  RunCursor,
  RunList,
  RunMetricNotification,
  RunProgressNotification,
  RunStatus,
  RunSummary,
} from '@cairn/protocol';
import { isTerminalRunStatus, runStatuses } from '@cairn/protocol';
import { slurmJobsOf, withSlurmJob } from '@cairn/protocol/config.js';

/**
 * What the Experiments tree shows, without vscode: runs grouped by pipeline, loaded a page at a time, and kept current
 * by run notifications one run at a time (no reload per event), so 10,000 runs stay fluid. Unit-tested.
 */

export const runsPageSize = 100;

export interface RunCondition {
  key: string;
  op: '=' | '!=' | '<' | '<=' | '>' | '>=';
  value: number | string | boolean;
}

export interface RunsView {
  statuses: RunStatus[] | undefined;
  params: RunCondition[];
  metrics: RunCondition[];
  sort: { by: string; order: 'asc' | 'desc' };
  /** Only this user's runs ("mine"; a shared store holds the whole team's); undefined: everyone's. */
  user?: string | undefined;
}

export const defaultRunsView: RunsView = {
  statuses: undefined,
  params: [],
  metrics: [],
  sort: { by: 'startedAt', order: 'desc' },
};

interface Group {
  runs: RunSummary[];
  total: number;
  /** The first page arrived. */
  loaded: boolean;
  /** Where the next page starts (the last page's cursor); null: every run is loaded. */
  next: RunCursor | null;
}

export type ProgressEffect =
  /** A loaded run changed: refresh its node. */
  | { kind: 'run'; run: RunSummary; finished: boolean }
  /** A run this model has not seen: fetch it (GetRun) and `insertRun` it. */
  | { kind: 'unknown'; runId: number; pipeline: string }
  | { kind: 'none' };

export class RunsModel {
  private readonly groups = new Map<string, Group>();
  private readonly byId = new Map<number, RunSummary>();
  /** Slurm jobs of runs not loaded yet, by step, from progress events that came before the run (see upsertRun). */
  private readonly earlySlurm = new Map<number, Record<string, { id: string; state: string }>>();
  view: RunsView = { ...defaultRunsView };

  /** Pipeline names, sorted: those found in the workspace and those seen in runs. */
  pipelines(): string[] {
    return [...this.groups.keys()].sort((a, b) => a.localeCompare(b));
  }

  /** Makes sure a group exists for each name (pipelines found in the workspace with no run yet show too). */
  addPipelines(names: Iterable<string>): void {
    for (const name of names)
      if (!this.groups.has(name)) this.groups.set(name, { runs: [], total: 0, loaded: false, next: null });
  }

  group(pipeline: string): { runs: readonly RunSummary[]; total: number; loaded: boolean } | undefined {
    return this.groups.get(pipeline);
  }

  run(id: number): RunSummary | undefined {
    return this.byId.get(id);
  }

  /** Runs of the group not loaded yet. */
  remaining(pipeline: string): number {
    const g = this.groups.get(pipeline);
    return g && g.next !== null ? Math.max(0, g.total - g.runs.length) : 0;
  }

  /** Where a group's next page starts; undefined: load its first page. */
  nextCursor(pipeline: string): RunCursor | undefined {
    const g = this.groups.get(pipeline);
    return g?.loaded && g.next !== null ? g.next : undefined;
  }

  /**
   * The ListRunsRequest for a page of a group under the current filter and sort: the first page, or the one after a
   * cursor (keyset: runs started meanwhile neither repeat nor shift the loaded ones, as offsets would).
   */
  pageQuery(pipeline: string, after?: RunCursor, limit = runsPageSize): ListRunsRequest.Params {
    const filter: NonNullable<ListRunsRequest.Params['filter']> = { pipeline };
    if (this.view.statuses && this.view.statuses.length > 0) filter.status = this.view.statuses;
    if (this.view.params.length > 0) filter.params = this.view.params;
    if (this.view.metrics.length > 0) filter.metrics = this.view.metrics;
    if (this.view.user !== undefined) filter.user = this.view.user;
    return { filter, sort: this.view.sort, limit, ...(after ? { after } : {}) };
  }

  /** Takes a page the runtime returned for `pageQuery(pipeline, after)` (a first page replaces the group's runs). */
  acceptPage(pipeline: string, page: RunList, after?: RunCursor): void {
    const g = this.groups.get(pipeline) ?? { runs: [], total: 0, loaded: false, next: null };
    if (after === undefined) {
      for (const r of g.runs) this.byId.delete(r.id);
      g.runs = [];
    }
    const have = new Set(g.runs.map((r) => r.id));
    for (const run of page.runs) {
      if (have.has(run.id)) continue;
      g.runs.push(run);
      this.byId.set(run.id, run);
    }
    g.total = Math.max(page.total, g.runs.length);
    g.next = page.next ?? null;
    g.loaded = true;
    this.groups.set(pipeline, g);
  }

  /** Forgets loaded runs (filter or sort changed): groups reload their first page when shown. */
  invalidate(): void {
    this.byId.clear();
    for (const g of this.groups.values()) {
      g.runs = [];
      g.total = 0;
      g.loaded = false;
      g.next = null;
    }
  }

  applyProgress(p: RunProgressNotification.Params): ProgressEffect {
    const run = this.byId.get(p.runId);
    if (!run) {
      // Kept until the run arrives: it may have been read from the store before its jobs were submitted.
      if (p.step !== undefined && p.slurm !== undefined) {
        const early = this.earlySlurm.get(p.runId) ?? {};
        early[p.step] = { id: p.slurm.job, state: p.slurm.state };
        this.earlySlurm.set(p.runId, early);
      }
      // Any first event of a new run (a step starting, or the run itself) is enough to fetch it once.
      return { kind: 'unknown', runId: p.runId, pipeline: p.pipeline };
    }
    if (p.step !== undefined) {
      // A Slurm step's job and state show on the running row (the stored run has them only once fetched again).
      if (p.slurm === undefined) return { kind: 'none' };
      run.tags = withSlurmJob(run.tags, p.step, { id: p.slurm.job, state: p.slurm.state });
      return { kind: 'run', run, finished: false };
    }
    if (!(runStatuses as readonly string[]).includes(p.status)) return { kind: 'none' };
    run.status = p.status as RunStatus;
    const finished = isTerminalRunStatus(p.status);
    if (p.durationMs !== undefined) run.durationMs = p.durationMs;
    if (finished && p.message !== undefined && p.status !== 'succeeded') run.error = p.message;
    return { kind: 'run', run, finished };
  }

  /** A live metric: the run's latest value for the key. Returns the run when it is loaded. */
  applyMetric(m: RunMetricNotification.Params): RunSummary | undefined {
    const run = this.byId.get(m.runId);
    if (!run) return undefined;
    run.metrics = { ...run.metrics, [m.key]: m.value };
    return run;
  }

  /**
   * A run fetched after a notification, or refreshed when it finished. Newest-first views put a new run on top; other
   * sorts only count it (its place is the runtime's to decide on the next page load). Returns what changed.
   */
  upsertRun(summary: RunSummary): 'updated' | 'inserted' | 'counted' | 'filtered' {
    const early = this.earlySlurm.get(summary.id);
    this.earlySlurm.delete(summary.id);
    for (const [step, job] of Object.entries(early ?? {})) {
      // What the store had when the run was read wins; an event seen before that fills what it lacked.
      if (slurmJobsOf(summary.tags)[step] === undefined) summary.tags = withSlurmJob(summary.tags, step, job);
    }
    const known = this.byId.get(summary.id);
    if (known) {
      Object.assign(known, summary);
      return 'updated';
    }
    if (!this.matches(summary)) return 'filtered';
    const g = this.groups.get(summary.pipeline) ?? { runs: [], total: 0, loaded: false, next: null };
    this.groups.set(summary.pipeline, g);
    g.total += 1;
    const newestFirst =
      (this.view.sort.by === 'startedAt' || this.view.sort.by === 'id') && this.view.sort.order === 'desc';
    if (!newestFirst || !g.loaded) return 'counted';
    g.runs.unshift(summary);
    this.byId.set(summary.id, summary);
    return 'inserted';
  }

  /** After a delete: the group it was in, if loaded. */
  removeRun(id: number): string | undefined {
    const run = this.byId.get(id);
    if (!run) return undefined;
    this.byId.delete(id);
    const g = this.groups.get(run.pipeline);
    if (g) {
      g.runs = g.runs.filter((r) => r.id !== id);
      g.total = Math.max(0, g.total - 1);
    }
    return run.pipeline;
  }

  /** The filter, applied to one run on the client (for runs that arrive by notification). */
  matches(run: RunSummary): boolean {
    if (this.view.statuses && this.view.statuses.length > 0 && !this.view.statuses.includes(run.status)) return false;
    if (this.view.user !== undefined && run.user !== this.view.user) return false;
    return (
      this.view.params.every((c) => compare(run.params[c.key], c)) &&
      this.view.metrics.every((c) => compare(run.metrics[c.key], c))
    );
  }
}

function compare(actual: unknown, c: RunCondition): boolean {
  if (actual === undefined || actual === null) return false;
  const a = actual as number | string | boolean;
  switch (c.op) {
    case '=':
      return a === c.value || String(a) === String(c.value);
    case '!=':
      return !(a === c.value || String(a) === String(c.value));
    case '<':
      return a < c.value;
    case '<=':
      return a <= c.value;
    case '>':
      return a > c.value;
    case '>=':
      return a >= c.value;
  }
}

export type ParsedConditions =
  { ok: true; params: RunCondition[]; metrics: RunCondition[] } | { ok: false; error: string };

/**
 * Parses the filter box: comma-separated conditions, `param:lr=0.01`, `metric:rmse<0.9`, or `rmse<0.9` (a metric).
 * Values are numbers when they read as one, `true`/`false` as booleans, anything else a string.
 */
export function parseConditions(text: string): ParsedConditions {
  const params: RunCondition[] = [];
  const metrics: RunCondition[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    const m = /^(?:(param|metric):)?([^<>=!]+?)\s*(<=|>=|!=|=|<|>)\s*(.+)$/.exec(part);
    if (!m)
      return {
        ok: false,
        error: `"${part}" is not a condition: write key<op>value with op one of = != < <= > >=, e.g. metric:rmse<0.9 or param:lr=0.01`,
      };
    const [, kind, key, op, rawValue] = m as unknown as [
      string,
      string | undefined,
      string,
      RunCondition['op'],
      string,
    ];
    const v = rawValue.trim();
    const value: number | string | boolean =
      v === 'true' ? true : v === 'false' ? false : v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
    (kind === 'param' ? params : metrics).push({ key: key.trim(), op, value });
  }
  return { ok: true, params, metrics };
}

/** The filter as one line (tree message and the filter box's initial value). */
export function describeView(view: RunsView): string {
  const parts: string[] = [];
  if (view.user !== undefined) parts.push(`mine (${view.user})`);
  if (view.statuses && view.statuses.length > 0) parts.push(`status ${view.statuses.join('|')}`);
  for (const c of view.params) parts.push(`param:${c.key}${c.op}${String(c.value)}`);
  for (const c of view.metrics) parts.push(`metric:${c.key}${c.op}${String(c.value)}`);
  const sorted =
    view.sort.by === 'startedAt' && view.sort.order === 'desc' ? '' : `sorted by ${view.sort.by} ${view.sort.order}`;
  if (sorted) parts.push(sorted);
  return parts.join(', ');
}

export function conditionsText(view: RunsView): string {
  return [
    ...view.params.map((c) => `param:${c.key}${c.op}${String(c.value)}`),
    ...view.metrics.map((c) => `metric:${c.key}${c.op}${String(c.value)}`),
  ].join(', ');
}

/** A group's children: plain runs, and each sweep's runs folded into one entry where its newest loaded run is. */
export function foldSweeps(
  runs: readonly RunSummary[],
): Array<{ runId: number } | { sweepId: number; runIds: number[] }> {
  const out: Array<{ runId: number } | { sweepId: number; runIds: number[] }> = [];
  const sweeps = new Map<number, number[]>();
  for (const r of runs) {
    if (r.sweepId === null || r.sweepId === undefined) {
      out.push({ runId: r.id });
      continue;
    }
    let ids = sweeps.get(r.sweepId);
    if (!ids) {
      sweeps.set(r.sweepId, (ids = []));
      out.push({ sweepId: r.sweepId, runIds: ids });
    }
    ids.push(r.id);
  }
  return out;
}
