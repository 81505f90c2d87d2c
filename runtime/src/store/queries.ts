import {
  runGatesSchema,
  runListQuerySchema,
  type MetricHistory,
  type MetricPoint,
  type RunComparison,
  type RunDetail,
  type RunGates,
  type RunList,
  type RunListQuery,
  type RunStatus,
  type RunSummary,
  type StepRun,
  type StepStatus,
  type ParamType,
} from '@cairn/protocol';
import { lttbIndices } from '../util/downsample.js';
import type { Store } from './store.js';

/** Reads for the UI and the CLI. All SQL values are bound parameters; column names come from fixed maps only. */

interface RunRow {
  id: number;
  pipeline: string;
  file: string;
  status: string;
  started_at: number;
  ended_at: number | null;
  git_commit: string | null;
  git_dirty: number | null;
  backend: string | null;
  platform: string;
  cairn_version: string;
  error: string | null;
  params_json: string;
  metrics_json: string;
  tags_json: string;
}

const runColumns = `r.id, p.name AS pipeline, p.file, r.status, r.started_at, r.ended_at, r.git_commit, r.git_dirty, r.backend,
  r.platform, r.cairn_version, r.error, r.params_json, r.metrics_json, r.tags_json`;

const sortColumns: Record<string, string> = {
  id: 'r.id',
  startedAt: 'r.started_at',
  durationMs: '(r.ended_at - r.started_at)',
  status: 'r.status',
  pipeline: 'p.name',
};

/** `$."key"`: a JSON path naming one object key exactly, whatever characters it holds. */
function jsonKeyPath(key: string): string {
  return `$."${key.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Parsed params/metrics/tags JSON by its text: listing the same runs again (a UI refresh) skips JSON.parse. Keyed by
 * the text itself, so a changed value is never served stale. Bounded; cleared when full.
 */
const parsedJson = new Map<string, unknown>();
const PARSED_JSON_LIMIT = 30_000;

function parseCached<T>(text: string): T {
  let value = parsedJson.get(text);
  if (value === undefined) {
    value = JSON.parse(text);
    if (parsedJson.size >= PARSED_JSON_LIMIT) parsedJson.clear();
    parsedJson.set(text, value);
  }
  return value as T;
}

function toSummary(row: RunRow): RunSummary {
  return {
    id: row.id,
    pipeline: row.pipeline,
    pipelineFile: row.file,
    status: row.status as RunStatus,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    durationMs: row.ended_at === null ? null : row.ended_at - row.started_at,
    gitCommit: row.git_commit,
    gitDirty: row.git_dirty === null ? null : row.git_dirty === 1,
    backend: row.backend,
    platform: row.platform,
    cairnVersion: row.cairn_version,
    // Shared between results: callers serialize summaries, never mutate them.
    params: parseCached<Record<string, unknown>>(row.params_json),
    metrics: parseCached<Record<string, number>>(row.metrics_json),
    tags: parseCached<Record<string, string>>(row.tags_json),
    error: row.error,
  };
}

function runListRows(store: Store, query: RunListQuery): { rows: RunRow[]; total: number } {
  const q = runListQuerySchema.parse(query);
  const where: string[] = [];
  const args: unknown[] = [];
  const f = q.filter ?? {};
  if (f.pipeline !== undefined) {
    where.push('(p.name = ? OR p.file = ?)');
    args.push(f.pipeline, f.pipeline);
  }
  if (f.status && f.status.length > 0) {
    where.push(`r.status IN (${f.status.map(() => '?').join(', ')})`);
    args.push(...f.status);
  }
  for (const [key, value] of Object.entries(f.tags ?? {})) {
    where.push('EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.id AND t.key = ? AND t.value = ?)');
    args.push(key, value);
  }
  for (const [column, conditions] of [['r.params_json', f.params ?? []], ['r.metrics_json', f.metrics ?? []]] as const) {
    for (const c of conditions) {
      where.push(`json_extract(${column}, ?) ${c.op} ?`);
      args.push(jsonKeyPath(c.key), typeof c.value === 'boolean' ? (c.value ? 1 : 0) : c.value);
    }
  }
  const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  let orderSql = 'r.id DESC';
  const orderArgs: unknown[] = [];
  if (q.sort) {
    const dir = q.sort.order === 'asc' ? 'ASC' : 'DESC';
    const fixed = sortColumns[q.sort.by];
    if (fixed) orderSql = `${fixed} ${dir}, r.id ${dir}`;
    else {
      const [kind, ...rest] = q.sort.by.split(':');
      orderSql = `json_extract(${kind === 'param' ? 'r.params_json' : 'r.metrics_json'}, ?) ${dir} NULLS LAST, r.id ${dir}`;
      orderArgs.push(jsonKeyPath(rest.join(':')));
    }
  }
  const from = 'FROM runs r JOIN pipelines p ON p.id = r.pipeline_id';
  const total = (store.db.prepare(`SELECT count(*) AS n ${from} ${whereSql}`).get(...args) as { n: number }).n;
  const rows = store.db
    .prepare<unknown[], RunRow>(`SELECT ${runColumns} ${from} ${whereSql} ORDER BY ${orderSql} LIMIT ? OFFSET ?`)
    .all(...args, ...orderArgs, q.limit, q.offset);
  return { rows, total };
}

export function listRuns(store: Store, query: RunListQuery = {}): RunList {
  const { rows, total } = runListRows(store, query);
  return { runs: rows.map(toSummary), total };
}

/**
 * The same list as `listRuns`, serialized directly: the stored params/metrics/tags JSON is spliced in as it is, never
 * parsed and re-stringified (for `cairn runs list --format json` and exports of thousands of runs).
 */
export function listRunsJson(store: Store, query: RunListQuery = {}): string {
  const { rows, total } = runListRows(store, query);
  const q = JSON.stringify;
  const parts = rows.map(
    (r) =>
      `{"id":${r.id},"pipeline":${q(r.pipeline)},"pipelineFile":${q(r.file)},"status":${q(r.status)},"startedAt":${r.started_at},` +
      `"endedAt":${q(r.ended_at)},"durationMs":${r.ended_at === null ? 'null' : r.ended_at - r.started_at},"gitCommit":${q(r.git_commit)},` +
      `"gitDirty":${r.git_dirty === null ? 'null' : r.git_dirty === 1},"backend":${q(r.backend)},"platform":${q(r.platform)},` +
      `"cairnVersion":${q(r.cairn_version)},"params":${r.params_json},"metrics":${r.metrics_json},"tags":${r.tags_json},"error":${q(r.error)}}`,
  );
  return `{"runs":[${parts.join(',')}],"total":${total}}`;
}

export function getRunSummary(store: Store, runId: number): RunSummary | undefined {
  const row = store.db.prepare<[number], RunRow>(`SELECT ${runColumns} FROM runs r JOIN pipelines p ON p.id = r.pipeline_id WHERE r.id = ?`).get(runId);
  return row ? toSummary(row) : undefined;
}

/** A run's stored evaluation gates (runs.gates_json); null for a run recorded before they were stored (migration 6). */
export function runGatesOf(store: Store, runId: number): RunGates | null {
  const row = store.db.prepare<[number], { gates_json: string | null }>('SELECT gates_json FROM runs WHERE id = ?').get(runId);
  if (!row || row.gates_json === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(row.gates_json);
  } catch (error) {
    throw new Error(`run ${runId}: its stored gates (runs.gates_json) are not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = runGatesSchema.safeParse(json);
  if (!parsed.success) throw new Error(`run ${runId}: its stored gates (runs.gates_json) are not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export function getRun(store: Store, runId: number): RunDetail | undefined {
  const summary = getRunSummary(store, runId);
  if (!summary) return undefined;
  const paramDetails: RunDetail['paramDetails'] = {};
  const params = store.db
    .prepare<[number], { name: string; value: string; type: string; secret: number; overridden: number }>('SELECT name, value, type, secret, overridden FROM params WHERE run_id = ? ORDER BY name')
    .all(runId);
  for (const p of params) {
    paramDetails[p.name] = { value: JSON.parse(p.value) as unknown, type: p.type as ParamType, secret: p.secret === 1, overridden: p.overridden === 1 };
  }
  const stepRows = store.db
    .prepare<[number], { id: number; step: string; status: string; cache_hit: number; cache_key: string | null; started_at: number | null; ended_at: number | null; duration_ms: number | null; error: string | null; log_path: string | null }>(
      'SELECT id, step, status, cache_hit, cache_key, started_at, ended_at, duration_ms, error, log_path FROM step_runs WHERE run_id = ? ORDER BY id',
    )
    .all(runId);
  const outs = store.db.prepare<[number], { name: string | null; path: string; hash: string }>("SELECT name, path, hash FROM step_io WHERE step_run_id = ? AND direction = 'out' ORDER BY name");
  const steps: StepRun[] = stepRows.map((s) => ({
    step: s.step,
    status: s.status as StepStatus,
    cacheHit: s.cache_hit === 1,
    cacheKey: s.cache_key,
    startedAt: s.started_at,
    endedAt: s.ended_at,
    durationMs: s.duration_ms,
    error: s.error,
    log: s.log_path,
    outputs: outs.all(s.id).map((o) => ({ name: o.name ?? '', path: o.path, hash: o.hash })),
  }));
  return { ...summary, paramDetails, steps, gates: runGatesOf(store, runId) };
}

export function compareRuns(store: Store, runIds: number[]): RunComparison {
  const runs = runIds.map((id) => {
    const r = getRunSummary(store, id);
    if (!r) throw new Error(`run ${id} does not exist; \`cairn runs list\` shows the runs there are`);
    return r;
  });
  const paramNames = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const params: RunComparison['params'] = {};
  for (const name of paramNames) {
    const values = runs.map((r) => (name in r.params ? r.params[name] : null));
    const first = JSON.stringify(values[0]);
    if (values.some((v) => JSON.stringify(v) !== first)) params[name] = values;
  }
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const metrics: RunComparison['metrics'] = {};
  for (const key of metricKeys) metrics[key] = runs.map((r) => r.metrics[key] ?? null);
  return { runs: runs.map((r) => ({ id: r.id, pipeline: r.pipeline, status: r.status, startedAt: r.startedAt })), params, metrics };
}

/**
 * A metric's history, at most `maxPoints` points. Long histories are reduced inside SQLite first (min and max of each
 * of `maxPoints` x-buckets: spikes survive, and only ~2×maxPoints rows reach JavaScript), then LTTB picks the final
 * points from those candidates.
 */
export function metricHistory(store: Store, runId: number, key: string, maxPoints = 2000): MetricHistory {
  store.metrics.flush();
  const stats = store.db
    .prepare<[number, string], { n: number; lo: number | null; hi: number | null }>('SELECT count(*) AS n, min(step) AS lo, max(step) AS hi FROM metrics WHERE run_id = ? AND key = ?')
    .get(runId, key) ?? { n: 0, lo: null, hi: null };
  const all = () =>
    store.db
      .prepare<[number, string], MetricPoint>('SELECT step, value, time FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, rowid')
      .all(runId, key);
  if (stats.n <= maxPoints) return { runId, key, total: stats.n, points: all(), downsampled: false };
  let candidates: MetricPoint[];
  let byOrder = false;
  const lo = stats.lo ?? 0;
  const hi = stats.hi ?? 0;
  if (hi > lo) {
    // One small range query per x-bucket (min and max, bare columns give their rows): each walks only its slice of the
    // covering index, where a GROUP BY on a computed bucket would sort all rows in a temp b-tree.
    const buckets = maxPoints;
    const width = (hi - lo) / buckets;
    const pick = (agg: 'min' | 'max') =>
      store.db.prepare<[number, string, number, number], MetricPoint & { n: number }>(
        `SELECT step, ${agg}(value) AS value, time, count(*) AS n FROM metrics WHERE run_id = ? AND key = ? AND step >= ? AND step < ?`,
      );
    const lowest = pick('min');
    const highest = pick('max');
    candidates = [];
    for (let b = 0; b < buckets; b++) {
      const from = lo + b * width;
      const to = b === buckets - 1 ? Number.POSITIVE_INFINITY : lo + (b + 1) * width;
      const a = lowest.get(runId, key, from, to);
      if (!a || a.n === 0) continue;
      const z = highest.get(runId, key, from, to);
      const pair = [a, z].filter((p): p is MetricPoint & { n: number } => p !== undefined).sort((p, q) => p.step - q.step);
      for (const p of pair) {
        const last = candidates.at(-1);
        if (!last || last.step !== p.step || last.value !== p.value) candidates.push({ step: p.step, value: p.value, time: p.time });
      }
    }
  } else {
    // Every point at the same x: nothing to bucket by, so reduce in order of arrival.
    candidates = all();
    byOrder = true;
  }
  const xs = Float64Array.from(candidates, (p, i) => (byOrder ? i : p.step));
  const ys = Float64Array.from(candidates, (p) => p.value);
  const points = lttbIndices(xs, ys, maxPoints).map((i) => candidates[i] as MetricPoint);
  return { runId, key, total: stats.n, points, downsampled: true };
}
