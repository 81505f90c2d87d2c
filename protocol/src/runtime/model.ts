import { z } from 'zod';
import { validateDiagnosticSchema } from '../diagnostics.js';
import { gateSchema } from '../pipeline/schema.js';

/**
 * What the runtime stores and returns about runs, steps, metrics and lineage: the payloads of the runtime/* messages
 * (messages.ts) and of `cairn runs|lineage --format json`.
 */

export const runStatuses = ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export const runStatusSchema = z.enum(runStatuses);
export type RunStatus = z.infer<typeof runStatusSchema>;
/** The statuses a run ends in: once a run is in one, it stays there. */
export const terminalRunStatuses = [
  'succeeded',
  'failed',
  'cancelled',
  'interrupted',
] as const satisfies readonly RunStatus[];
const terminalRunStatusSet: ReadonlySet<string> = new Set(terminalRunStatuses);
export function isTerminalRunStatus(status: string): boolean {
  return terminalRunStatusSet.has(status);
}

export const stepStatuses = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'skipped',
  'interrupted',
] as const;
export const stepStatusSchema = z.enum(stepStatuses);
export type StepStatus = z.infer<typeof stepStatusSchema>;

/** Shown instead of a secret param's value, everywhere (database, logs, output, the editor). */
export const redactedValue = '***';

/** A param as recorded on a run; secret values are never stored nor sent (value is `redactedValue`). */
export const runParamSchema = z.object({
  value: z.unknown(),
  type: z.enum(['int', 'float', 'string', 'bool', 'list', 'map']),
  secret: z.boolean(),
  overridden: z.boolean(),
});

/** One row of a run list: the columns a table or chart shows. Times are epoch milliseconds. */
export const runSummarySchema = z.object({
  id: z.number().int(),
  pipeline: z.string(),
  pipelineFile: z.string(),
  status: runStatusSchema,
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  durationMs: z.number().nullable(),
  gitCommit: z.string().nullable(),
  gitDirty: z.boolean().nullable(),
  backend: z.string().nullable(),
  platform: z.string(),
  cairnVersion: z.string(),
  /** Param name → value (secrets as "***"). */
  params: z.record(z.string(), z.unknown()),
  /** Metric key → latest value. */
  metrics: z.record(z.string(), z.number()),
  tags: z.record(z.string(), z.string()),
  error: z.string().nullable(),
  /** Who started the run (git user.email, else the OS user) and on which host; absent/null for runs recorded before. */
  user: z.string().nullable().optional(),
  host: z.string().nullable().optional(),
  /** The sweep the run is one combination of (`cairn sweep`); null/absent for a plain run. */
  sweepId: z.number().int().nullable().optional(),
});
export type RunSummary = z.infer<typeof runSummarySchema>;

/** Where a step run's outputs came from: this workspace's cache, the shared artifact remote, or neither (it ran). */
export const cacheSourceSchema = z.enum(['local', 'remote', 'none']);
export type CacheSource = z.infer<typeof cacheSourceSchema>;

export const stepRunSchema = z.object({
  step: z.string(),
  status: stepStatusSchema,
  cacheHit: z.boolean(),
  /** Where a cache hit came from ('none' when the step was not a hit); step_runs.cache_source, migration 11. */
  cacheSource: cacheSourceSchema,
  cacheKey: z.string().nullable(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  durationMs: z.number().nullable(),
  error: z.string().nullable(),
  /** Workspace-relative path of the step's log file. */
  log: z.string().nullable(),
  outputs: z.array(z.object({ name: z.string(), path: z.string(), hash: z.string() })),
});
export type StepRun = z.infer<typeof stepRunSchema>;

/**
 * The evaluation gates a run was held to: step name → that step's `gate:` bounds in the pipeline as resolved when the
 * run started (every gated step of the pipeline, run, cached or not selected; `{}` when none had a gate). Stored with
 * the run (runs.gates_json), so editing the pipeline file later changes nothing about an old run.
 */
export const runGatesSchema = z.record(z.string(), gateSchema);
export type RunGates = z.infer<typeof runGatesSchema>;

export const runDetailSchema = runSummarySchema.extend({
  paramDetails: z.record(z.string(), runParamSchema),
  steps: z.array(stepRunSchema),
  /** null: the run was recorded before runs stored their gates (store migration 6). */
  gates: runGatesSchema.nullable(),
});
export type RunDetail = z.infer<typeof runDetailSchema>;

/** Filter for run lists. `params`/`metrics` conditions compare a value: `{ key: 'lr', op: '=', value: 0.01 }`. */
export const runConditionSchema = z.object({
  key: z.string().min(1),
  op: z.enum(['=', '!=', '<', '<=', '>', '>=']),
  value: z.union([z.number(), z.string(), z.boolean()]),
});
export const runFilterSchema = z.object({
  pipeline: z.string().optional(),
  status: z.array(runStatusSchema).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  params: z.array(runConditionSchema).optional(),
  metrics: z.array(runConditionSchema).optional(),
  /** Runs started by this user (RunSummary.user): `cairn runs list --user X`, `--mine`, the Experiments view's "mine". */
  user: z.string().optional(),
  /** The runs of one sweep (`cairn runs list --sweep ID`). */
  sweep: z.number().int().optional(),
});
export type RunFilter = z.infer<typeof runFilterSchema>;

/** A parameter sweep: its combinations are runs with `sweepId` set to its id (`cairn sweep`). */
export const sweepSummarySchema = z.object({
  id: z.number().int(),
  pipeline: z.string(),
  pipelineFile: z.string(),
  createdAt: z.number(),
  /** The swept params (the axes of the compare view's parallel coordinates), in matrix order. */
  params: z.array(z.string()),
  /** Combinations the sweep expanded to; `runs` of them have started so far. */
  combinations: z.number().int(),
  runs: z.number().int(),
});
export type SweepSummary = z.infer<typeof sweepSummarySchema>;

/** Sort key: a run column, or `param:<name>` / `metric:<key>`. */
export const runSortSchema = z.object({
  by: z.union([
    z.enum(['id', 'startedAt', 'durationMs', 'status', 'pipeline']),
    z.string().regex(/^(param|metric):.+$/),
  ]),
  order: z.enum(['asc', 'desc']).default('desc'),
});
export type RunSort = z.infer<typeof runSortSchema>;

/**
 * Where the previous page of a keyset-paged list ended (the run list, runtime/runsPage): its last row's sort key
 * (null: the key is missing, sorted last) and id.
 */
export const runCursorSchema = z.strictObject({
  key: z.union([z.number(), z.string(), z.boolean(), z.null()]),
  id: z.number().int(),
});
export type RunCursor = z.infer<typeof runCursorSchema>;

export const runListQuerySchema = z
  .object({
    filter: runFilterSchema.optional(),
    sort: runSortSchema.optional(),
    /** OFFSET paging (`cairn runs list --offset`); views page with `after` (rows inserted meanwhile shift offsets). */
    offset: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(100_000).default(100),
    /** The next page after this cursor (the previous answer's `next`), by keyset as runtime/runsPage. */
    after: runCursorSchema.optional(),
  })
  .refine((q) => q.after === undefined || q.offset === 0, {
    message: 'give either offset or after (a cursor), not both',
    path: ['after'],
  });
export type RunListQuery = z.input<typeof runListQuerySchema>;

export const runListSchema = z.object({
  runs: z.array(runSummarySchema),
  total: z.number().int(),
  /** For a list by keyset (offset 0 or `after`): the cursor of the next page; null: this was the last one. */
  next: runCursorSchema.nullable().optional(),
});
export type RunList = z.infer<typeof runListSchema>;

/** Runs side by side: only params whose values differ between the runs; metrics (latest values) for all. */
export const runComparisonSchema = z.object({
  runs: z.array(runSummarySchema.pick({ id: true, pipeline: true, status: true, startedAt: true })),
  /** Param name → value per run, in `runs` order (null: the run has no such param). */
  params: z.record(z.string(), z.array(z.unknown())),
  metrics: z.record(z.string(), z.array(z.number().nullable())),
});
export type RunComparison = z.infer<typeof runComparisonSchema>;

export const metricPointSchema = z.object({ step: z.number(), value: z.number(), time: z.number() });
export type MetricPoint = z.infer<typeof metricPointSchema>;

export const metricHistorySchema = z.object({
  runId: z.number().int(),
  key: z.string(),
  /** Points stored for this key. */
  total: z.number().int(),
  /** Points returned: at most the requested `maxPoints`, chosen by LTTB so peaks and dips stay. */
  points: z.array(metricPointSchema),
  downsampled: z.boolean(),
});
export type MetricHistory = z.infer<typeof metricHistorySchema>;

export const lineageNodeKinds = ['data', 'step', 'artifact', 'model', 'deployment'] as const;
export const lineageNodeSchema = z.object({
  /**
   * `artifact:<sha256>:<workspace path>` for files (the legacy `artifact:<sha256>` still resolves) (kind `data` when no step produced it), `step:<stepRunId>`, `model:<name>@<version>`,
   * `deployment:<id>`.
   */
  id: z.string(),
  kind: z.enum(lineageNodeKinds),
  label: z.string(),
  /** Workspace-relative path (data, artifact). */
  path: z.string().optional(),
  hash: z.string().optional(),
  runId: z.number().int().optional(),
  /** An input changed since this node was produced: re-running would give something else. */
  stale: z.boolean(),
  staleReason: z.string().optional(),
  /** A read-only input read from outside the workspace (below the pipeline's `allow_outside:`): where it really is. */
  outside: z.string().optional(),
});
export type LineageNode = z.infer<typeof lineageNodeSchema>;
export const lineageGraphSchema = z.object({
  nodes: z.array(lineageNodeSchema),
  edges: z.array(z.object({ from: z.string(), to: z.string() })),
});
export type LineageGraph = z.infer<typeof lineageGraphSchema>;

/** Result of starting a run: an id, or the diagnostics that made the pipeline invalid (nothing ran). */
export const startRunResultSchema = z.object({
  runId: z.number().int().nullable(),
  diagnostics: z.array(validateDiagnosticSchema),
});
