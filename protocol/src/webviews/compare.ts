import { z } from 'zod';
import { metricHistorySchema, runStatusSchema, type RunStatus, type RunSummary } from '../runtime/model.js';
import { hostErrorMessageSchema, readyMessageSchema, viewErrorMessageSchema, webviewMessage } from './common.js';

/**
 * Compare view contract. Runs are the runtime's `RunSummary` rows (`runtime/listRuns`), relayed as a table: columns
 * once, then one value array per run. At 10,000 runs × 50 columns that is 40% fewer bytes than the summaries and the
 * view can validate it in a tight loop (measured in Node: ~20 ms, against ~160 ms for the summaries as zod objects), which
 * keeps first paint under 300 ms. `runSummariesToTable` is the one conversion, used by the extension.
 */

const runIdSchema = z.number().int();

/** A cell: numbers are finite (NaN/Infinity are sent as null, a missing value, never a number). */
export type CompareCell = number | string | boolean | null;
function isCell(v: unknown): v is CompareCell {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

export const compareColumnSchema = z.strictObject({
  /** Unique within the table: `param:lr`, `metric:val/auc`, `tag:owner` (the runtime's sort-key form). */
  key: z.string().min(1),
  /** What the header shows, e.g. `lr`. */
  name: z.string(),
  group: z.enum(['param', 'metric', 'tag']),
  kind: z.enum(['number', 'string', 'boolean']),
});
export type CompareColumn = z.infer<typeof compareColumnSchema>;

/** A column key as the compare table spells it: `param:lr`, `metric:val/auc`, `tag:owner`. */
export const runColumnKeySchema = z
  .string()
  .regex(/^(param|metric|tag):.+$/, 'a column is param:<name>, metric:<key> or tag:<key>');

const rowKeys = new Set(['id', 'pipeline', 'status', 'startedAt', 'values']);
const statuses: ReadonlySet<string> = new Set(runStatusSchema.options);

export interface CompareRow {
  id: number;
  pipeline: string;
  status: RunStatus;
  /** Epoch milliseconds. */
  startedAt: number;
  /** One value per column, in column order. */
  values: CompareCell[];
}

/** What is wrong with one row, or undefined: a hand-written check, as fast as a loop (see the note above). */
function rowProblem(r: unknown): { path: Array<string | number>; message: string } | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return { path: [], message: 'a run must be an object' };
  const o = r as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!rowKeys.has(k)) return { path: [k], message: `unknown key '${k}'` };
  if (typeof o.id !== 'number' || !Number.isInteger(o.id)) return { path: ['id'], message: 'id must be an integer' };
  if (typeof o.pipeline !== 'string') return { path: ['pipeline'], message: 'pipeline must be a string' };
  if (typeof o.status !== 'string' || !statuses.has(o.status))
    return { path: ['status'], message: `status must be one of ${[...statuses].join(', ')}` };
  if (typeof o.startedAt !== 'number' || !Number.isFinite(o.startedAt))
    return { path: ['startedAt'], message: 'startedAt must be a finite number' };
  if (!Array.isArray(o.values)) return { path: ['values'], message: 'values must be an array' };
  const bad = o.values.findIndex((v) => !isCell(v));
  if (bad >= 0) return { path: ['values', bad], message: 'values must be finite numbers, strings, booleans or null' };
  return undefined;
}

/** The runs of a table. One loop instead of a zod object per run: 10,000 runs check in a few milliseconds. */
export const compareRowsSchema = z
  .custom<CompareRow[]>((v) => Array.isArray(v), { message: 'rows must be an array' })
  .superRefine((rows, ctx) => {
    for (let i = 0; i < rows.length; i++) {
      const problem = rowProblem(rows[i]);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem.message, path: [i, ...problem.path] });
        return;
      }
    }
  });

export const runTableSchema = z
  .strictObject({ columns: z.array(compareColumnSchema), rows: compareRowsSchema })
  .superRefine((t, ctx) => {
    const keys = new Set<string>();
    for (const c of t.columns) {
      if (keys.has(c.key))
        ctx.addIssue({ code: 'custom', message: `column key '${c.key}' appears twice`, path: ['columns'] });
      keys.add(c.key);
    }
    const n = t.columns.length;
    // Refinements also run when a row was already rejected: never assume its shape here.
    const bad = t.rows.findIndex((r) => Array.isArray(r?.values) && r.values.length !== n);
    if (bad >= 0) {
      ctx.addIssue({
        code: 'custom',
        message: `run has ${t.rows[bad]?.values.length} values for ${n} columns`,
        path: ['rows', bad, 'values'],
      });
    }
  });
export type RunTable = z.infer<typeof runTableSchema>;

/** One stored value as a table cell (the one conversion; the runtime's `runs/page` uses it too). */
export function toCompareCell(v: unknown): CompareCell {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  // Lists and maps (param types `list`/`map`) are shown as JSON text.
  return JSON.stringify(v) ?? null;
}

/**
 * The table for some runs: params, then metrics, then tags, each group in name order; absent values are null. With
 * `keys` (column keys, `metric:auc`), exactly those columns in that order, present in the runs or not.
 */
/** `o[name]` when `o` has it itself: a run's param or metric may be called `__proto__` or `constructor`. */
const own = (o: Readonly<Record<string, unknown>>, name: string): unknown =>
  Object.hasOwn(o, name) ? o[name] : undefined;

export function runSummariesToTable(runs: readonly RunSummary[], keys?: readonly string[]): RunTable {
  const groups = { param: new Set<string>(), metric: new Set<string>(), tag: new Set<string>() };
  for (const r of runs) {
    for (const k of Object.keys(r.params)) groups.param.add(k);
    for (const k of Object.keys(r.metrics)) groups.metric.add(k);
    for (const k of Object.keys(r.tags)) groups.tag.add(k);
  }
  const pick = (r: RunSummary, group: CompareColumn['group'], name: string): unknown =>
    own(group === 'param' ? r.params : group === 'metric' ? r.metrics : r.tags, name);
  const specs: Array<{ group: CompareColumn['group']; name: string }> = [];
  if (keys) {
    for (const key of keys) {
      const at = key.indexOf(':');
      const group = key.slice(0, at);
      if (group !== 'param' && group !== 'metric' && group !== 'tag')
        throw new Error(`column key '${key}' is not param:, metric: or tag:`);
      specs.push({ group, name: key.slice(at + 1) });
    }
  } else {
    for (const group of ['param', 'metric', 'tag'] as const) {
      for (const name of [...groups[group]].sort()) specs.push({ group, name });
    }
  }
  const rows: CompareRow[] = runs.map((r) => ({
    id: r.id,
    pipeline: r.pipeline,
    status: r.status,
    startedAt: r.startedAt,
    values: specs.map((s) => toCompareCell(pick(r, s.group, s.name))),
  }));
  const columns: CompareColumn[] = specs.map((s, i) => {
    let kind: CompareColumn['kind'] | undefined;
    for (const row of rows) {
      const v = row.values[i];
      if (v === null || v === undefined) continue;
      const k = typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string';
      if (kind === undefined) kind = k;
      else if (kind !== k) {
        kind = 'string';
        break;
      }
    }
    return { key: `${s.group}:${s.name}`, name: s.name, group: s.group, kind: kind ?? 'string' };
  });
  return { columns, rows };
}

/** What the view shows, kept in its state so a reloaded panel can ask the runtime again. */
export const compareQuerySchema = z.strictObject({
  /** Explicit runs to compare; absent means the newest runs of `pipeline` (or of the workspace). */
  runIds: z.array(runIdSchema).max(10000).optional(),
  pipeline: z.string().optional(),
});
export type CompareQuery = z.infer<typeof compareQuerySchema>;

/** Splits a table for delivery: the first `first` rows, then chunks of `rest` rows (same columns). */
export function chunkRunTable(table: RunTable, first = 1000, rest = 2500): RunTable[] {
  const out: RunTable[] = [{ columns: table.columns, rows: table.rows.slice(0, first) }];
  for (let i = first; i < table.rows.length; i += rest)
    out.push({ columns: table.columns, rows: table.rows.slice(i, i + rest) });
  return out;
}

// ---- extension → view

/**
 * The runs to show (replaces what the view had); `total` counts all that matched; `keyMetric` is charted first.
 * Large tables come in chunks (`chunkRunTable`): this message carries the first rows and `pending` says how many
 * follow in `patch` messages, so the table paints before the rest has crossed the process boundary.
 */
export const compareRunsMessageSchema = webviewMessage(
  'runs',
  z.strictObject({
    query: compareQuerySchema,
    table: runTableSchema,
    total: z.number().int(),
    keyMetric: z.string().optional(),
    pending: z.number().int().min(0).optional(),
    /**
     * More runs than the view holds at once (over 10,000): `table` is the first rows in the runtime's order, and the
     * view asks for the pages of `pageSize` rows around what it shows (`requestPages`); the runtime sorts and filters.
     */
    window: z.strictObject({ pageSize: z.number().int().min(1).max(10_000) }).optional(),
  }),
);
/** More runs or live changes (a run finished, a metric arrived): the view replaces the runs it has, adds the others. */
export const compareRunsPatchMessageSchema = webviewMessage(
  'patch',
  z.strictObject({ table: runTableSchema, pending: z.number().int().min(0).optional() }),
);
/**
 * Answer to `requestPages`: rows page·pageSize … of the view's order; `total` counts the runs the filter matches.
 * A `generation` older than the view's last request is stale (a sort or filter changed since) and is dropped.
 */
export const compareRowsPageMessageSchema = webviewMessage(
  'rowsPage',
  z.strictObject({
    generation: z.number().int().min(0),
    page: z.number().int().min(0),
    table: runTableSchema,
    total: z.number().int().min(0),
  }),
);
/** Answer to `requestHistories`: one downsampled history per run that has the metric. */
export const compareHistoriesMessageSchema = webviewMessage(
  'histories',
  z.strictObject({ requestId: z.number().int(), metric: z.string(), histories: z.array(metricHistorySchema) }),
);

export const compareToViewSchema = z.discriminatedUnion('type', [
  compareRunsMessageSchema,
  compareRunsPatchMessageSchema,
  compareRowsPageMessageSchema,
  compareHistoriesMessageSchema,
  hostErrorMessageSchema,
]);
export type CompareToView = z.infer<typeof compareToViewSchema>;

// ---- view → extension

/** Asks for the downsampled histories of one metric for some runs; `maxPoints` per run. */
export const compareRequestHistoriesMessageSchema = webviewMessage(
  'requestHistories',
  z.strictObject({
    requestId: z.number().int().min(0),
    runIds: z.array(runIdSchema).min(1).max(1000),
    metric: z.string().min(1).max(512),
    maxPoints: z.number().int().min(10).max(20000),
  }),
);
/** A sort of a windowed view, by a column key as the table spells it (`run:startedAt`, `metric:val/auc`). */
export const compareSortSchema = z.strictObject({
  key: z.string().regex(/^(run:(id|status|pipeline|startedAt)|(param|metric):.+)$/, 'a column the runtime sorts by'),
  dir: z.enum(['asc', 'desc']),
});
export type CompareSort = z.infer<typeof compareSortSchema>;

/**
 * A windowed view (`runs.window`) asks for the pages it needs to show, nearest first. Each request replaces the
 * last: pages it no longer names are dropped by the host. A new `generation` (a sort or filter change) starts over.
 */
export const compareRequestPagesMessageSchema = webviewMessage(
  'requestPages',
  z.strictObject({
    generation: z.number().int().min(0),
    pages: z.array(z.number().int().min(0)).max(64),
    sort: compareSortSchema.optional(),
    /** Text the runs' pipeline, user, host, status or tags contain (the runtime's filter). */
    text: z.string().min(1).max(200).optional(),
    /** Only these columns travel (the ones the view shows), in this order. */
    columns: z.array(runColumnKeySchema).max(1000),
  }),
);
/** Opens a run's details (the Experiments view item and its logs). */
export const compareOpenRunMessageSchema = webviewMessage('openRun', z.strictObject({ runId: runIdSchema }));
/** Opens the lineage view on a run. */
export const compareShowLineageMessageSchema = webviewMessage('showLineage', z.strictObject({ runId: runIdSchema }));

export const compareFromViewSchema = z.discriminatedUnion('type', [
  readyMessageSchema,
  viewErrorMessageSchema,
  compareRequestHistoriesMessageSchema,
  compareRequestPagesMessageSchema,
  compareOpenRunMessageSchema,
  compareShowLineageMessageSchema,
]);
export type CompareFromView = z.infer<typeof compareFromViewSchema>;

/** Persisted with `setState`; the host reads only `query` (validated) when it revives the panel. */
export const compareViewStateSchema = z.looseObject({ query: compareQuerySchema });
