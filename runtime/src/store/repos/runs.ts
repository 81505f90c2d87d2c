import {
  cacheSourceSchema,
  runGatesSchema,
  runListQuerySchema,
  runPageQuerySchema,
  runSummariesToTable,
  toCompareCell,
  type CacheSource,
  type CompareColumn,
  type RunCursor,
  type RunFilter,
  type RunPage,
  type RunPageQuery,
  type RunSort,
  type ParamType,
  type RunComparison,
  type RunDetail,
  type RunGates,
  type RunList,
  type RunListQuery,
  type RunStatus,
  type RunSummary,
  type StepRun,
  type StepStatus,
} from '@cairn/protocol';
import { processAlive } from '../../util/process.js';
import { CairnError } from '../../util/errors.js';
import type { SqlDb, SqlValue } from '../sql.js';
import type { MetricWriter } from './metrics.js';
import { RUN_SORT_KEYS, sortKeyValue, writeSortKey } from './runSortKeys.js';

/** Shown instead of a secret param's value, everywhere (database, logs, output). */
/** The one redaction marker (protocol/), under the store's name. */
export { redactedValue as REDACTED } from '@cairn/protocol';
import { redactedValue as REDACTED } from '@cairn/protocol';

export interface NewRun {
  pipelineName: string;
  pipelineFile: string;
  params: Record<string, { value: unknown; type: ParamType; secret: boolean; overridden: boolean }>;
  gitCommit: string | null;
  gitDirty: boolean | null;
  platform: string;
  cairnVersion: string;
  selection: unknown;
  /** The resolved pipeline's evaluation gates (executor's pipelineGates). Omitted: stored as NULL, like a run from before they were stored. */
  gates?: RunGates;
  /** Who started it (git user.email, else the OS user) and on which machine; omitted: NULL. */
  user?: string | null;
  host?: string | null;
  /** The sweep this run is one combination of (SweepRepository.createSweep); omitted: NULL. */
  sweepId?: number | null;
}

/** A step run as the lineage graph and the promotion gates read it. */
export interface StepRunRow {
  id: number;
  runId: number;
  step: string;
  status: StepStatus;
  cacheHit: boolean;
  cacheSource: CacheSource;
  error: string | null;
}

/** The stored text as the protocol's value (the column holds only these; anything else reads as not a hit). */
function cacheSourceOf(text: string): CacheSource {
  const parsed = cacheSourceSchema.safeParse(text);
  return parsed.success ? parsed.data : 'none';
}

/** The pipeline row of a file (made on first use; renamed when the file's pipeline name changed). */
export async function pipelineIdOf(t: SqlDb, name: string, file: string): Promise<number> {
  const row = await t.get<{ id: number; name: string }>('SELECT id, name FROM pipelines WHERE file = ?', [file]);
  if (row) {
    if (row.name !== name) await t.run('UPDATE pipelines SET name = ? WHERE id = ?', [name, row.id]);
    return row.id;
  }
  const created = await t.get<{ id: number }>(
    'INSERT INTO pipelines (name, file, created_at) VALUES (?, ?, ?) RETURNING id',
    [name, file, Date.now()],
  );
  return created?.id ?? -1;
}

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
  user_name: string | null;
  host: string | null;
  sweep_id: number | null;
}

const runColumns = `r.id, p.name AS pipeline, p.file, r.status, r.started_at, r.ended_at, r.git_commit, r.git_dirty, r.backend,
  r.platform, r.cairn_version, r.error, r.params_json, r.metrics_json, r.tags_json, r.user_name, r.host,
  r.sweep_id`;

const sortColumns: Record<string, string> = {
  id: 'r.id',
  startedAt: 'r.started_at',
  durationMs: '(r.ended_at - r.started_at)',
  status: 'r.status',
  pipeline: 'p.name',
};

/** `$."key"`: a JSON path naming one object key exactly, whatever characters it holds (SQLite's json_extract). */
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
    user: row.user_name,
    host: row.host,
    sweepId: row.sweep_id,
  };
}

/** The filters the run list and the run pages share: pipeline (name or file), status set, user. */
function columnFilters(
  f: Pick<RunFilter, 'pipeline' | 'status' | 'user' | 'sweep'>,
  where: string[],
  args: SqlValue[],
): void {
  if (f.pipeline !== undefined) {
    where.push('(p.name = ? OR p.file = ?)');
    args.push(f.pipeline, f.pipeline);
  }
  if (f.status && f.status.length > 0) {
    where.push(`r.status IN (${f.status.map(() => '?').join(', ')})`);
    args.push(...f.status);
  }
  if (f.user !== undefined) {
    where.push('r.user_name = ?');
    args.push(f.user);
  }
  if (f.sweep !== undefined) {
    where.push('r.sweep_id = ?');
    args.push(f.sweep);
  }
}

/** A LIKE pattern matching `text` anywhere, its `%`, `_` and `\` taken literally (used with ESCAPE '\'). */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** SQL fragment with its bound values, in the order its `?` appear. */
interface Fragment {
  sql: string;
  args: SqlValue[];
}

type CellKind = CompareColumn['kind'];

/** End (exclusive) of the JSON value starting at `i` of `text` (a valid JSON text: the store wrote it). */
function valueEnd(text: string, i: number): number {
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const ch = text.charCodeAt(j);
    if (ch === 0x22) {
      // A string: to its closing quote, over escapes.
      for (j++; text.charCodeAt(j) !== 0x22; j++) if (text.charCodeAt(j) === 0x5c) j++;
      if (depth === 0) return j + 1;
    } else if (ch === 0x7b || ch === 0x5b) depth++;
    else if (ch === 0x7d || ch === 0x5d) {
      if (depth === 0) return j;
      if (--depth === 0) return j + 1;
    } else if (depth === 0 && (ch === 0x2c || ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09)) return j;
  }
  return text.length;
}

/**
 * The top-level fields of a stored JSON object as their JSON text (`{"lr":0.01}` → lr → `0.01`), so that a page
 * copies the stored number text instead of parsing it and formatting it again (most of the cost at 10,000 × 50).
 */
function rawFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  const ws = (j: number) => {
    while (j < text.length && ' \n\r\t'.includes(text.charAt(j))) j++;
    return j;
  };
  let i = ws(text.indexOf('{') + 1);
  while (i < text.length && text.charCodeAt(i) === 0x22) {
    const keyEnd = valueEnd(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    const start = ws(ws(keyEnd) + 1); // past the ':'
    const end = valueEnd(text, start);
    fields.set(key, text.slice(start, end));
    i = ws(ws(end) + 1); // past the ','
  }
  return fields;
}

/**
 * rawFields of one run's params, metrics or tags, cached by run id and checked against the text (a changed value is
 * never served stale): a warm page (a UI refresh) skips the parse, and an id lookup, unlike one by the text, does not
 * hash the whole JSON text. Bounded; cleared when full.
 */
class RawFieldsCache {
  private readonly byRun = new Map<number, { text: string; fields: Map<string, string> }>();

  get(runId: number, text: string): Map<string, string> {
    const hit = this.byRun.get(runId);
    if (hit?.text === text) return hit.fields;
    const fields = rawFields(text);
    if (this.byRun.size >= PARSED_JSON_LIMIT) this.byRun.clear();
    this.byRun.set(runId, { text, fields });
    return fields;
  }
}
const rawFieldsCaches = { param: new RawFieldsCache(), metric: new RawFieldsCache(), tag: new RawFieldsCache() };

/**
 * The RunTable of some rows for exactly these columns, as JSON text (runSummariesToTable's result, spelled out).
 * Cells are toCompareCell's (a property test says both encodings agree): numbers, strings, booleans as stored; lists
 * and maps as their JSON text. One string per row from a reused array of cells, joined once at the end: pushing every
 * cell into one array of a million pieces cost twice as much at 10,000 × 50.
 */
type TableRow = Pick<
  RunRow,
  'id' | 'pipeline' | 'status' | 'started_at' | 'params_json' | 'metrics_json' | 'tags_json'
>;

function tableJson(rows: readonly TableRow[], keys: readonly string[]): string {
  const specs = keys.map((key) => {
    const at = key.indexOf(':');
    return { key, group: key.slice(0, at) as CompareColumn['group'], name: key.slice(at + 1) };
  });
  const n = specs.length;
  const groups = specs.map((c) => (c.group === 'param' ? 0 : c.group === 'metric' ? 1 : 2));
  const names = specs.map((c) => c.name);
  const kinds: Array<CellKind | undefined> = specs.map(() => undefined);
  const wants = (g: CompareColumn['group']) => specs.some((c) => c.group === g);
  const [wantParams, wantMetrics, wantTags] = [wants('param'), wants('metric'), wants('tag')];
  const none = new Map<string, string>();
  const q = JSON.stringify;
  const quoted = new Map<string, string>(); // pipeline names: a few, repeated on every row
  const cells: string[] = new Array<string>(n);
  const sources: Array<Map<string, string>> = [none, none, none];
  const out: string[] = [];
  for (const r of rows) {
    sources[0] = wantParams ? rawFieldsCaches.param.get(r.id, r.params_json) : none;
    sources[1] = wantMetrics ? rawFieldsCaches.metric.get(r.id, r.metrics_json) : none;
    sources[2] = wantTags ? rawFieldsCaches.tag.get(r.id, r.tags_json) : none;
    for (let i = 0; i < n; i++) {
      const raw = (sources[groups[i] as number] as Map<string, string>).get(names[i] as string);
      const first = raw === undefined ? 0x6e : raw.charCodeAt(0);
      let kind: CellKind;
      if (first === 0x6e) {
        cells[i] = 'null';
        continue;
      } else if (first === 0x22) kind = 'string';
      else if (first === 0x74 || first === 0x66) kind = 'boolean';
      else if (first === 0x2d || (first >= 0x30 && first <= 0x39)) kind = 'number';
      else {
        // A list or a map: its JSON text, as a string cell (toCompareCell's form, whatever spacing it was stored with).
        cells[i] = q(toCompareCell(JSON.parse(raw ?? 'null')));
        kinds[i] = 'string';
        continue;
      }
      cells[i] = raw ?? 'null';
      const seen = kinds[i];
      if (seen !== kind) kinds[i] = seen === undefined ? kind : 'string';
    }
    let pipeline = quoted.get(r.pipeline);
    if (pipeline === undefined) quoted.set(r.pipeline, (pipeline = q(r.pipeline)));
    out.push(
      `{"id":${r.id},"pipeline":${pipeline},"status":"${r.status}","startedAt":${r.started_at},"values":[${cells.join(',')}]}`,
    );
  }
  const columns: CompareColumn[] = specs.map((c, i) => ({
    key: c.key,
    name: c.name,
    group: c.group,
    kind: kinds[i] ?? 'string',
  }));
  return `{"columns":${q(columns)},"rows":[${out.join(',')}]}`;
}

const FINISH_RUN = 'UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ?';

/**
 * The PostgreSQL channel on which a run's insert and each status change are announced (payload: the run id), from the
 * writing transaction, so a listener sees the row once it is committed (rpc/runWatcher.ts; SQLite watchers poll
 * `PRAGMA data_version` instead).
 */
export const RUNS_CHANNEL = 'cairn_runs';
const NOTIFY_RUN = `SELECT pg_notify('${RUNS_CHANNEL}', ?) AS sent`;

async function announceRun(t: SqlDb, runId: number): Promise<void> {
  if (t.dialect === 'postgres') await t.get(NOTIFY_RUN, [String(runId)]);
}

/** What a watcher of other processes' runs compares between two looks (rpc/runWatcher.ts). */
export interface RunChangeRow {
  id: number;
  pipeline: string;
  status: string;
  startedAt: number;
  endedAt: number | null;
  error: string | null;
  host: string | null;
  pid: number | null;
}

const RUN_CHANGE_COLUMNS = `SELECT r.id, p.name AS pipeline, r.status, r.started_at AS "startedAt", r.ended_at AS "endedAt",
  r.error, r.host, r.pid FROM runs r JOIN pipelines p ON p.id = r.pipeline_id`;
const INTERRUPT_STEPS =
  "UPDATE step_runs SET status = 'interrupted' WHERE run_id = ? AND status IN ('pending', 'running')";

/** Runs, their params, tags and step runs: the tracking writes of the executor and the reads of the UI and CLI. */
export class RunRepository {
  constructor(
    private readonly db: SqlDb,
    /** Flushed before a run is finished, so its last metrics are in its summary. */
    private readonly writer?: MetricWriter,
  ) {}

  /**
   * Runs of this host left 'running' by a process that is gone (crash, SIGKILL, power loss) become 'interrupted', and
   * the process groups of their command steps, orphaned by the crash, are killed so they cannot write into a later
   * run. Runs of other hosts (a shared store) are theirs to mark.
   */
  async markInterrupted(host: string): Promise<number> {
    const running = await this.db.all<{ id: number; pid: number | null }>(
      "SELECT id, pid FROM runs WHERE status = 'running' AND (host IS NULL OR host = ?)",
      [host],
    );
    const dead = running.filter((r) => r.pid === null || !processAlive(r.pid));
    if (dead.length === 0) return 0;
    const now = Date.now();
    for (const r of dead) {
      const orphans = await this.db.all<{ pid: number }>(
        "SELECT pid FROM step_runs WHERE run_id = ? AND status = 'running' AND pid IS NOT NULL",
        [r.id],
      );
      for (const o of orphans) {
        try {
          process.kill(-o.pid, 'SIGKILL');
        } catch {
          // ESRCH: the group ended with its runtime.
        }
      }
    }
    await this.db.tx(async (t) => {
      for (const r of dead) {
        await t.run(FINISH_RUN, ['interrupted', now, 'the runtime stopped while this run was in progress', r.id]);
        await t.run(INTERRUPT_STEPS, [r.id]);
        await announceRun(t, r.id);
      }
    });
    return dead.length;
  }

  /**
   * Deletes a finished run and everything recorded under it (params, tags, step runs, metrics, lineage edges, and the
   * cache entries its steps created — their objects stay in the store until `cairn gc`). A running run is refused.
   */
  deleteRun(runId: number): Promise<boolean> {
    return this.db.tx(async (t) => {
      const row = await t.get<{ status: string }>('SELECT status FROM runs WHERE id = ?', [runId]);
      if (!row) return false;
      if (row.status === 'running') throw new Error(`run ${runId} is still running: cancel it first`);
      await t.run('DELETE FROM cache_entries WHERE step_run_id IN (SELECT id FROM step_runs WHERE run_id = ?)', [
        runId,
      ]);
      await t.run('DELETE FROM metrics WHERE run_id = ?', [runId]);
      await t.run('DELETE FROM lineage_edges WHERE run_id = ?', [runId]);
      await t.run('DELETE FROM runs WHERE id = ?', [runId]);
      return true;
    });
  }

  createRun(run: NewRun): Promise<number> {
    return this.db.tx(async (t) => {
      const pipelineId = await pipelineIdOf(t, run.pipelineName, run.pipelineFile);
      const summary: Record<string, unknown> = {};
      for (const [name, p] of Object.entries(run.params)) summary[name] = p.secret ? REDACTED : p.value;
      const row = await t.get<{ id: number }>(
        `INSERT INTO runs (pipeline_id, status, started_at, git_commit, git_dirty, platform, cairn_version, pid, selection,
           params_json, gates_json, user_name, host, sweep_id)
         VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [
          pipelineId,
          Date.now(),
          run.gitCommit,
          run.gitDirty === null ? null : run.gitDirty ? 1 : 0,
          run.platform,
          run.cairnVersion,
          process.pid,
          JSON.stringify(run.selection ?? null),
          JSON.stringify(summary),
          run.gates === undefined ? null : JSON.stringify(run.gates),
          run.user ?? null,
          run.host ?? null,
          run.sweepId ?? null,
        ],
      );
      const id = row?.id ?? -1;
      for (const [name, p] of Object.entries(run.params)) {
        await t.run('INSERT INTO params (run_id, name, value, type, secret, overridden) VALUES (?, ?, ?, ?, ?, ?)', [
          id,
          name,
          JSON.stringify(p.secret ? REDACTED : p.value),
          p.type,
          p.secret ? 1 : 0,
          p.overridden ? 1 : 0,
        ]);
        await writeSortKey(t, id, 'param', name, summary[name]);
      }
      await announceRun(t, id);
      return id;
    });
  }

  async finishRun(runId: number, status: RunStatus, error: string | null = null): Promise<void> {
    await this.writer?.flush();
    await this.db.tx(async (t) => {
      await t.run(FINISH_RUN, [status, Date.now(), error, runId]);
      await announceRun(t, runId);
    });
  }

  /** The highest run id (0: none yet): where a watcher of new runs starts. */
  async maxId(): Promise<number> {
    return (await this.db.get<{ id: number | null }>('SELECT max(id) AS id FROM runs'))?.id ?? 0;
  }

  /** Runs still running, with what a watcher compares (the ones another process started before the watch began). */
  running(): Promise<RunChangeRow[]> {
    return this.db.all<RunChangeRow>(`${RUN_CHANGE_COLUMNS} WHERE r.status = 'running' ORDER BY r.id`);
  }

  /** Runs after `afterId`, and the runs `ids` (a watcher's unfinished ones), in id order: primary-key lookups only. */
  changes(afterId: number, ids: readonly number[]): Promise<RunChangeRow[]> {
    const known = ids.length > 0 ? ` OR r.id IN (${ids.map(() => '?').join(', ')})` : '';
    return this.db.all<RunChangeRow>(`${RUN_CHANGE_COLUMNS} WHERE r.id > ?${known} ORDER BY r.id`, [afterId, ...ids]);
  }

  async setTag(runId: number, key: string, value: string): Promise<void> {
    await this.db.tx(async (t) => {
      await t.run(
        'INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value',
        [runId, key, value],
      );
      const tags: Record<string, string> = {};
      for (const row of await t.all<{ key: string; value: string }>('SELECT key, value FROM tags WHERE run_id = ?', [
        runId,
      ])) {
        tags[row.key] = row.value;
      }
      await t.run('UPDATE runs SET tags_json = ? WHERE id = ?', [JSON.stringify(tags), runId]);
      if (key === 'backend') await t.run('UPDATE runs SET backend = ? WHERE id = ?', [value, runId]);
    });
  }

  createStepRuns(runId: number, steps: string[]): Promise<Map<string, number>> {
    return this.db.tx(async (t) => {
      const ids = new Map<string, number>();
      for (const s of steps) {
        const row = await t.get<{ id: number }>(
          "INSERT INTO step_runs (run_id, step, status) VALUES (?, ?, 'pending') RETURNING id",
          [runId, s],
        );
        ids.set(s, row?.id ?? -1);
      }
      return ids;
    });
  }

  async startStep(stepRunId: number, cacheKey: string | null, logPath: string | null): Promise<void> {
    await this.db.run(
      "UPDATE step_runs SET status = 'running', started_at = ?, cache_key = ?, log_path = ? WHERE id = ?",
      [Date.now(), cacheKey, logPath, stepRunId],
    );
  }

  async finishStep(
    stepRunId: number,
    status: StepStatus,
    fields: { cacheHit?: boolean; cacheSource?: CacheSource; durationMs?: number; error?: string | null },
  ): Promise<void> {
    const source: CacheSource = fields.cacheHit ? (fields.cacheSource ?? 'local') : 'none';
    await this.db.run(
      'UPDATE step_runs SET status = ?, cache_hit = ?, cache_source = ?, ended_at = ?, duration_ms = ?, error = ? WHERE id = ?',
      [status, fields.cacheHit ? 1 : 0, source, Date.now(), fields.durationMs ?? null, fields.error ?? null, stepRunId],
    );
  }

  /** The process group of a command step while it runs (see markInterrupted). */
  async setStepPid(stepRunId: number, pid: number | null): Promise<void> {
    await this.db.run('UPDATE step_runs SET pid = ? WHERE id = ?', [pid, stepRunId]);
  }

  async setStepStatus(stepRunId: number, status: StepStatus, error: string | null = null): Promise<void> {
    await this.db.run('UPDATE step_runs SET status = ?, error = ? WHERE id = ?', [status, error, stepRunId]);
  }

  private async listRows(query: RunListQuery): Promise<{ rows: RunRow[]; total: number; next?: RunCursor | null }> {
    const q = runListQuerySchema.parse(query);
    const where: string[] = [];
    const args: SqlValue[] = [];
    const f = q.filter ?? {};
    const pg = this.db.dialect === 'postgres';
    columnFilters(f, where, args);
    for (const [key, value] of Object.entries(f.tags ?? {})) {
      where.push('EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.id AND t.key = ? AND t.value = ?)');
      args.push(key, value);
    }
    for (const [column, conditions] of [
      ['r.params_json', f.params ?? []],
      ['r.metrics_json', f.metrics ?? []],
    ] as const) {
      for (const c of conditions) {
        if (pg) {
          // jsonb compares numbers as numbers and strings as strings, as SQLite's json_extract does.
          where.push(`(${column}::jsonb -> ?) ${c.op === '!=' ? '<>' : c.op} ?::jsonb`);
          args.push(c.key, JSON.stringify(c.value));
        } else {
          where.push(`json_extract(${column}, ?) ${c.op} ?`);
          args.push(jsonKeyPath(c.key), typeof c.value === 'boolean' ? (c.value ? 1 : 0) : c.value);
        }
      }
    }
    const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const from = 'FROM runs r JOIN pipelines p ON p.id = r.pipeline_id';
    const total = (await this.db.get<{ n: number }>(`SELECT count(*) AS n ${from} ${whereSql}`, args))?.n ?? 0;
    if (q.offset === 0) {
      // The first page and every page after a cursor: by keyset, as runtime/runsPage (the Experiments tree).
      const sort: RunSort = q.sort ?? { by: 'id', order: 'desc' };
      const { rows, next } = await this.keysetPage<RunRow>(runColumns, where, args, sort, q.after, q.limit);
      return { rows, total, next };
    }
    let orderSql = 'r.id DESC';
    const orderArgs: SqlValue[] = [];
    if (q.sort) {
      const dir = q.sort.order === 'asc' ? 'ASC' : 'DESC';
      const fixed = sortColumns[q.sort.by];
      if (fixed) orderSql = `${fixed} ${dir}, r.id ${dir}`;
      else {
        const [kind, ...rest] = q.sort.by.split(':');
        const column = kind === 'param' ? 'r.params_json' : 'r.metrics_json';
        const key = rest.join(':');
        orderSql = `${pg ? `(${column}::jsonb -> ?)` : `json_extract(${column}, ?)`} ${dir} NULLS LAST, r.id ${dir}`;
        orderArgs.push(pg ? key : jsonKeyPath(key));
      }
    }
    const rows = await this.db.all<RunRow>(
      `SELECT ${runColumns} ${from} ${whereSql} ORDER BY ${orderSql} LIMIT ? OFFSET ?`,
      [...args, ...orderArgs, q.limit, q.offset],
    );
    return { rows, total };
  }

  /** A cursor key bound for comparison with a sort key (jsonb on PostgreSQL for run_sort_keys.value). */
  private keyArg(keyed: boolean, key: Exclude<RunCursor['key'], null>): Fragment {
    if (keyed) {
      const bound = sortKeyValue(this.db.dialect, key) ?? null;
      return { sql: this.db.dialect === 'postgres' ? '?::jsonb' : '?', args: [bound] };
    }
    return { sql: '?', args: [typeof key === 'boolean' ? (key ? 1 : 0) : key] };
  }

  /**
   * The rows of one keyset page: ORDER BY (sort key, id), missing keys last, strictly after the cursor. By a param or a
   * metric it walks run_sort_keys' index (name, value, run_id) in order, then, once the runs with a value are done,
   * the runs without one by id: two index walks that stop at the page's end, where sorting by json_extract read every
   * run's JSON. `where` may name r (runs) and p (pipelines).
   */
  private async keysetPage<T>(
    selected: string,
    where: readonly string[],
    args: readonly SqlValue[],
    sort: RunSort,
    after: RunCursor | undefined,
    pageSize: number,
  ): Promise<{ rows: Array<T & { id: number; sort_key: unknown }>; next: RunCursor | null }> {
    const dir = sort.order === 'asc' ? 'ASC' : 'DESC';
    const cmp = sort.order === 'asc' ? '>' : '<';
    const from = 'FROM runs r JOIN pipelines p ON p.id = r.pipeline_id';
    type PageRow = T & { id: number; sort_key: unknown };
    const all = (sql: string, params: SqlValue[]) => this.db.all<PageRow>(sql, params);
    const and = (clauses: string[]) => (clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '');
    const limit = pageSize + 1;
    let rows: PageRow[];
    const fixed = sortColumns[sort.by];
    if (fixed) {
      const pageWhere = [...where];
      const pageArgs = [...args];
      // Only a run's duration can be missing. For the others no NULLS LAST and a row-value cursor, which PostgreSQL
      // matches to the (key, id) index in either direction (with NULLS LAST it sorted all runs: 884 ms at 100,000).
      const nullable = sort.by === 'durationMs';
      if (after) {
        const { key: k, id } = after;
        if (k === null) {
          pageWhere.push(`(${fixed} IS NULL AND r.id ${cmp} ?)`);
          pageArgs.push(id);
        } else if (nullable) {
          const v = this.keyArg(false, k);
          pageWhere.push(`(${fixed} ${cmp} ${v.sql} OR (${fixed} = ${v.sql} AND r.id ${cmp} ?) OR ${fixed} IS NULL)`);
          pageArgs.push(...v.args, ...v.args, id);
        } else {
          const v = this.keyArg(false, k);
          pageWhere.push(`(${fixed}, r.id) ${cmp} (${v.sql}, ?)`);
          pageArgs.push(...v.args, id);
        }
      }
      rows = await all(
        `SELECT ${selected}, ${fixed} AS sort_key ${from} ${and(pageWhere)}
         ORDER BY ${fixed} ${dir}${nullable ? ' NULLS LAST' : ''}, r.id ${dir} LIMIT ?`,
        [...pageArgs, limit],
      );
    } else {
      rows = [];
      const name = sort.by;
      if (after?.key !== null) {
        // The runs with a value, in index order, after the cursor's (value, id).
        const keyWhere = ['k.name = ?'];
        const keyArgs: SqlValue[] = [name];
        if (after) {
          const v = this.keyArg(true, after.key);
          keyWhere.push(`(k.value ${cmp} ${v.sql} OR (k.value = ${v.sql} AND k.run_id ${cmp} ?))`);
          keyArgs.push(...v.args, ...v.args, after.id);
        }
        rows = await all(
          `SELECT ${selected}, k.value AS sort_key FROM ${RUN_SORT_KEYS} k JOIN runs r ON r.id = k.run_id
             JOIN pipelines p ON p.id = r.pipeline_id ${and([...keyWhere, ...where])}
           ORDER BY k.value ${dir}, k.run_id ${dir} LIMIT ?`,
          [...keyArgs, ...args, limit],
        );
      }
      if (rows.length < limit) {
        // Then the runs without one (missing keys sort last), by id.
        const tailWhere = [`NOT EXISTS (SELECT 1 FROM ${RUN_SORT_KEYS} k WHERE k.run_id = r.id AND k.name = ?)`];
        const tailArgs: SqlValue[] = [name];
        if (after?.key === null) {
          tailWhere.push(`r.id ${cmp} ?`);
          tailArgs.push(after.id);
        }
        rows.push(
          ...(await all(
            `SELECT ${selected}, NULL AS sort_key ${from} ${and([...tailWhere, ...where])} ORDER BY r.id ${dir} LIMIT ?`,
            [...tailArgs, ...args, limit - rows.length],
          )),
        );
      }
    }
    const more = rows.length > pageSize;
    if (more) rows.length = pageSize;
    const last = rows.at(-1);
    let next: RunCursor | null = null;
    if (more && last) {
      const k = last.sort_key;
      if (k !== null && typeof k !== 'number' && typeof k !== 'string' && typeof k !== 'boolean') {
        throw new CairnError(
          'refused',
          `runs cannot be paged by ${sort.by}: its values are lists or maps; sort by a scalar column`,
        );
      }
      next = { key: k, id: last.id };
    }
    return { rows, next };
  }

  /**
   * The cursor of the row `skip` rows after `after` (else the `skip`th row): the same keyset walk as a page, reading
   * only ids and sort keys. Null: no row follows them, the page after it is empty.
   */
  private async seek(
    where: readonly string[],
    args: readonly SqlValue[],
    sort: RunSort,
    after: RunCursor | undefined,
    skip: number,
  ): Promise<RunCursor | null> {
    // `next` is null when no row follows the skipped ones.
    return (await this.keysetPage<{ id: number }>('r.id', where, args, sort, after, skip)).next;
  }

  /**
   * One page of runs as a compare table, by keyset: ORDER BY (sort key, id) with missing keys last, and the page after
   * a cursor starts strictly after that row, so every run is on exactly one page whatever the ties, and runs inserted
   * between pages never repeat or hide the ones before the cursor. Only the asked columns travel.
   */
  async page(query: RunPageQuery = {}): Promise<RunPage> {
    return JSON.parse(await this.pageJson(query)) as RunPage;
  }

  /**
   * `page`, as the JSON text of a RunPage, written row by row (no objects per run, no second pass of JSON.stringify):
   * the runtime splices it into its JSON-RPC answer (rpc/rawJson.ts).
   */
  async pageJson(query: RunPageQuery = {}): Promise<string> {
    const q = runPageQuerySchema.parse(query);
    const sort: RunSort = q.sort ?? { by: 'id', order: 'desc' };
    const where: string[] = [];
    const args: SqlValue[] = [];
    const f = q.filter ?? {};
    columnFilters(f, where, args);
    if (f.text !== undefined) {
      const fields = ['p.name', "coalesce(r.user_name, '')", "coalesce(r.host, '')", 'r.status', 'r.tags_json'];
      where.push(`(${fields.map((c) => `lower(${c}) LIKE ? ESCAPE '\\'`).join(' OR ')})`);
      args.push(...fields.map(() => containsPattern(f.text ?? '')));
    }
    const from = 'FROM runs r JOIN pipelines p ON p.id = r.pipeline_id';
    const filterSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    // The count needs the pipelines only when a filter names them; PostgreSQL runs it on another pooled connection
    // while the page is read (the page no longer waits for it: at 100,000 runs it was most of the first page).
    const countFrom = where.some((c) => c.includes('p.')) ? from : 'FROM runs r';
    const counting = q.withTotal
      ? this.db.get<{ n: number }>(`SELECT count(*) AS n ${countFrom} ${filterSql}`, args)
      : Promise.resolve(undefined);

    // Asked columns: only what the table needs leaves the database (a third of the bytes at 50 columns).
    const wanted = (group: string) => q.columns?.some((c) => c.startsWith(`${group}:`)) ?? false;
    const selected = q.columns
      ? `r.id, p.name AS pipeline, r.status, r.started_at, ${(['param', 'metric', 'tag'] as const)
          .map((g) => (wanted(g) ? `r.${g}s_json` : `'{}' AS ${g}s_json`))
          .join(', ')}`
      : runColumns;
    const read = async () => {
      const start = q.skip === undefined ? q.after : await this.seek(where, args, sort, q.after, q.skip);
      return start === null
        ? { rows: [], next: null }
        : await this.keysetPage<RunRow>(selected, where, args, sort, start, q.limit);
    };
    const [counted, { rows, next }] = await Promise.all([counting, read()]);
    const total = q.withTotal ? Number(counted?.n ?? 0) : undefined;
    const tail = `,"next":${JSON.stringify(next)}${total === undefined ? '' : `,"total":${total}`}}`;
    // Without asked columns the page names its own (a view's first look): the general conversion will do.
    if (!q.columns) return `{"table":${JSON.stringify(runSummariesToTable(rows.map(toSummary), q.columns))}${tail}`;
    return `{"table":${tableJson(rows, q.columns)}${tail}`;
  }

  async list(query: RunListQuery = {}): Promise<RunList> {
    const { rows, total, next } = await this.listRows(query);
    return { runs: rows.map(toSummary), total, ...(next === undefined ? {} : { next }) };
  }

  /**
   * The same list as `list`, serialized directly: the stored params/metrics/tags JSON is spliced in as it is, never
   * parsed and re-stringified (for `cairn runs list --format json` and exports of thousands of runs).
   */
  async listJson(query: RunListQuery = {}): Promise<string> {
    const { rows, total, next } = await this.listRows(query);
    const q = JSON.stringify;
    const parts = rows.map(
      (r) =>
        `{"id":${r.id},"pipeline":${q(r.pipeline)},"pipelineFile":${q(r.file)},"status":${q(r.status)},"startedAt":${r.started_at},` +
        `"endedAt":${q(r.ended_at)},"durationMs":${r.ended_at === null ? 'null' : r.ended_at - r.started_at},"gitCommit":${q(r.git_commit)},` +
        `"gitDirty":${r.git_dirty === null ? 'null' : r.git_dirty === 1},"backend":${q(r.backend)},"platform":${q(r.platform)},` +
        `"cairnVersion":${q(r.cairn_version)},"params":${r.params_json},"metrics":${r.metrics_json},"tags":${r.tags_json},"error":${q(r.error)},` +
        `"user":${q(r.user_name)},"host":${q(r.host)},"sweepId":${q(r.sweep_id)}}`,
    );
    return `{"runs":[${parts.join(',')}],"total":${total}${next === undefined ? '' : `,"next":${q(next)}`}}`;
  }

  async summary(runId: number): Promise<RunSummary | undefined> {
    const row = await this.db.get<RunRow>(
      `SELECT ${runColumns} FROM runs r JOIN pipelines p ON p.id = r.pipeline_id WHERE r.id = ?`,
      [runId],
    );
    return row ? toSummary(row) : undefined;
  }

  /** A run's stored evaluation gates (runs.gates_json); null for a run recorded before they were stored (migration 6). */
  async gates(runId: number): Promise<RunGates | null> {
    const row = await this.db.get<{ gates_json: string | null }>('SELECT gates_json FROM runs WHERE id = ?', [runId]);
    if (!row || row.gates_json === null) return null;
    let json: unknown;
    try {
      json = JSON.parse(row.gates_json);
    } catch (error) {
      throw new Error(
        `run ${runId}: its stored gates (runs.gates_json) are not JSON: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const parsed = runGatesSchema.safeParse(json);
    if (!parsed.success)
      throw new Error(
        `run ${runId}: its stored gates (runs.gates_json) are not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    return parsed.data;
  }

  async detail(runId: number): Promise<RunDetail | undefined> {
    const summary = await this.summary(runId);
    if (!summary) return undefined;
    const paramDetails: RunDetail['paramDetails'] = {};
    const params = await this.db.all<{ name: string; value: string; type: string; secret: number; overridden: number }>(
      'SELECT name, value, type, secret, overridden FROM params WHERE run_id = ? ORDER BY name',
      [runId],
    );
    for (const p of params) {
      paramDetails[p.name] = {
        value: JSON.parse(p.value) as unknown,
        type: p.type as ParamType,
        secret: p.secret === 1,
        overridden: p.overridden === 1,
      };
    }
    const stepRows = await this.db.all<{
      id: number;
      step: string;
      status: string;
      cache_hit: number;
      cache_source: string;
      cache_key: string | null;
      started_at: number | null;
      ended_at: number | null;
      duration_ms: number | null;
      error: string | null;
      log_path: string | null;
    }>(
      'SELECT id, step, status, cache_hit, cache_source, cache_key, started_at, ended_at, duration_ms, error, log_path FROM step_runs WHERE run_id = ? ORDER BY id',
      [runId],
    );
    const steps: StepRun[] = [];
    for (const s of stepRows) {
      const outs = await this.db.all<{ name: string | null; path: string; hash: string }>(
        "SELECT name, path, hash FROM step_io WHERE step_run_id = ? AND direction = 'out' ORDER BY name",
        [s.id],
      );
      steps.push({
        step: s.step,
        status: s.status as StepStatus,
        cacheHit: s.cache_hit === 1,
        cacheSource: cacheSourceOf(s.cache_source),
        cacheKey: s.cache_key,
        startedAt: s.started_at,
        endedAt: s.ended_at,
        durationMs: s.duration_ms,
        error: s.error,
        log: s.log_path,
        outputs: outs.map((o) => ({ name: o.name ?? '', path: o.path, hash: o.hash })),
      });
    }
    return { ...summary, paramDetails, steps, gates: await this.gates(runId) };
  }

  async compare(runIds: number[]): Promise<RunComparison> {
    const runs: RunSummary[] = [];
    for (const id of runIds) {
      const r = await this.summary(id);
      if (!r) throw new Error(`run ${id} does not exist; \`cairn runs list\` shows the runs there are`);
      runs.push(r);
    }
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
    return {
      runs: runs.map((r) => ({ id: r.id, pipeline: r.pipeline, status: r.status, startedAt: r.startedAt })),
      params,
      metrics,
    };
  }

  async tag(runId: number, key: string): Promise<string | undefined> {
    return (await this.db.get<{ value: string }>('SELECT value FROM tags WHERE run_id = ? AND key = ?', [runId, key]))
      ?.value;
  }

  async exists(runId: number): Promise<boolean> {
    return (await this.db.get('SELECT 1 AS one FROM runs WHERE id = ?', [runId])) !== undefined;
  }

  /** The latest value of each metric of a run (runs.metrics_json); undefined when there is no such run. */
  async latestMetrics(runId: number): Promise<Record<string, number> | undefined> {
    const row = await this.db.get<{ metrics_json: string }>('SELECT metrics_json FROM runs WHERE id = ?', [runId]);
    return row ? (JSON.parse(row.metrics_json) as Record<string, number>) : undefined;
  }

  /** The workspace path of the pipeline file a run ran. */
  async pipelineFile(runId: number): Promise<string | undefined> {
    return (
      await this.db.get<{ file: string }>(
        'SELECT p.file AS file FROM runs r JOIN pipelines p ON p.id = r.pipeline_id WHERE r.id = ?',
        [runId],
      )
    )?.file;
  }

  async steps(runId: number): Promise<StepRunRow[]> {
    const rows = await this.db.all<{
      id: number;
      run_id: number;
      step: string;
      status: string;
      cache_hit: number;
      cache_source: string;
      error: string | null;
    }>('SELECT id, run_id, step, status, cache_hit, cache_source, error FROM step_runs WHERE run_id = ? ORDER BY id', [
      runId,
    ]);
    return rows.map(toStepRun);
  }
}

export function toStepRun(r: {
  id: number;
  run_id: number;
  step: string;
  status: string;
  cache_hit: number;
  cache_source: string;
  error: string | null;
}): StepRunRow {
  return {
    id: r.id,
    runId: r.run_id,
    step: r.step,
    status: r.status as StepStatus,
    cacheHit: r.cache_hit === 1,
    cacheSource: cacheSourceOf(r.cache_source),
    error: r.error,
  };
}
