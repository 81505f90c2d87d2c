import { storeOf } from '../store.js';
import { z } from 'zod';
import { runStatuses, type RunFilter, type RunListQuery, type RunSummary } from '@cairn/protocol';
import { slurmJobsOf, slurmStatesOf } from '@cairn/protocol/config.js';
import { flag, formatOf, parseArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { runUser } from '../../util/git.js';
import { workspaceOf } from '../../util/workspace.js';

const conditionPattern = /^([^<>=!]+?)\s*(<=|>=|!=|=|<|>)\s*(.+)$/;

/** `lr=0.01`, `acc>=0.9`: numbers compare as numbers, `true`/`false` as booleans, the rest as text. */
export function parseCondition(text: string, what: string): NonNullable<RunFilter['params']>[number] {
  const m = conditionPattern.exec(text);
  if (!m)
    throw new UsageError(
      `--${what} ${text}: write NAME OP VALUE with OP one of = != < <= > >= (e.g. --${what} 'acc>=0.9')`,
    );
  const raw = (m[3] ?? '').trim();
  const n = Number(raw);
  const value = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(n) ? n : raw;
  return { key: (m[1] ?? '').trim(), op: m[2] as '=', value };
}

function runId(text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`'${text ?? ''}' is not a run id (a whole number, as \`cairn runs list\` shows)`);
  return n;
}

export function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

function printList(io: CliIo, runs: RunSummary[], total: number): void {
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort().slice(0, 6);
  const rows = [['ID', 'PIPELINE', 'STATUS', 'STARTED', 'DURATION', ...metricKeys]];
  for (const r of runs) {
    rows.push([
      String(r.id),
      r.pipeline,
      r.status,
      when(r.startedAt),
      r.durationMs === null ? '' : `${(r.durationMs / 1000).toFixed(1)} s`,
      ...metricKeys.map((k) => cell(r.metrics[k])),
    ]);
  }
  io.stdout(table(rows));
  if (total > runs.length) io.stdout(`(${runs.length} of ${total}; --offset/--limit page through)\n`);
}

export const runsCommand: CliCommand = {
  name: 'runs',
  summary: 'List, show and compare tracked runs.',
  usage:
    'cairn runs list [--pipeline P] [--sweep ID] [--status S[,S]] [--mine | --user EMAIL] [--param NAME=V]… [--metric "KEY>=V"]… [--tag K=V]… [--sort FIELD|param:N|metric:K] [--asc] [--limit N] [--offset N]\n' +
    '       cairn runs show <id>\n       cairn runs compare <id> <id>…\n       (all: [--workspace DIR] [--store URL|PATH] [--format json])',
  async run(args, io) {
    const [sub, ...rest] = args;
    const parsed = parseArgs(rest, {
      boolean: ['asc', 'mine'],
      value: [
        'format',
        'workspace',
        'store',
        'user',
        'pipeline',
        'sweep',
        'status',
        'param',
        'metric',
        'tag',
        'sort',
        'limit',
        'offset',
      ],
    });
    const format = formatOf(parsed);
    const workspace = workspaceOf(parsed, io.cwd);
    if (sub !== 'list' && sub !== 'show' && sub !== 'compare')
      throw new UsageError(
        sub === undefined
          ? 'give a sub-command: list, show or compare'
          : `unknown sub-command '${sub}' (list, show, compare)`,
      );
    const store = await storeOf(parsed, workspace, { mustExist: true });
    try {
      if (sub === 'list') {
        if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${parsed.positionals[0]}`);
        const filter: RunFilter = {};
        const user = flag(parsed, 'user');
        if (user !== undefined && parsed.flags.has('mine')) throw new UsageError('give --mine or --user, not both');
        // --mine: the runs this user starts (the name runs record: git user.email, else the OS user).
        if (parsed.flags.has('mine')) filter.user = runUser(workspace).user;
        else if (user !== undefined) filter.user = user;
        const pipeline = flag(parsed, 'pipeline');
        if (pipeline !== undefined) filter.pipeline = pipeline;
        const sweep = flag(parsed, 'sweep');
        if (sweep !== undefined) {
          const id = Number(sweep);
          if (!Number.isInteger(id) || id < 1)
            throw new UsageError(`--sweep ${sweep}: give a sweep id (\`cairn sweep\` prints it)`);
          filter.sweep = id;
        }
        const status = flag(parsed, 'status');
        if (status !== undefined) {
          const list = z.array(z.enum(runStatuses)).safeParse(status.split(','));
          if (!list.success) throw new UsageError(`--status ${status}: statuses are ${runStatuses.join(', ')}`);
          filter.status = list.data;
        }
        const params = (parsed.flags.get('param') ?? []).map((c) => parseCondition(c, 'param'));
        if (params.length > 0) filter.params = params;
        const metrics = (parsed.flags.get('metric') ?? []).map((c) => parseCondition(c, 'metric'));
        if (metrics.length > 0) filter.metrics = metrics;
        for (const t of parsed.flags.get('tag') ?? []) {
          const eq = t.indexOf('=');
          if (eq <= 0) throw new UsageError(`--tag ${t}: write --tag KEY=VALUE`);
          (filter.tags ??= {})[t.slice(0, eq)] = t.slice(eq + 1);
        }
        const query: RunListQuery = { filter };
        const sort = flag(parsed, 'sort');
        if (sort !== undefined) query.sort = { by: sort, order: parsed.flags.has('asc') ? 'asc' : 'desc' };
        for (const k of ['limit', 'offset'] as const) {
          const v = flag(parsed, k);
          if (v === undefined) continue;
          const n = Number(v);
          if (!Number.isInteger(n) || n < (k === 'limit' ? 1 : 0))
            throw new UsageError(`--${k} ${v}: give a whole number`);
          query[k] = n;
        }
        try {
          if (format === 'json') io.stdout((await store.runs.listJson(query)) + '\n');
          else {
            const result = await store.runs.list(query);
            printList(io, result.runs, result.total);
          }
        } catch (error) {
          if (error instanceof z.ZodError)
            throw new UsageError(error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
          throw error;
        }
        return 0;
      }
      if (sub === 'show') {
        if (parsed.positionals.length !== 1) throw new UsageError('give one run id');
        const id = runId(parsed.positionals[0]);
        const run = await store.runs.detail(id);
        if (!run) {
          io.stderr(`cairn runs show: run ${id} does not exist; \`cairn runs list\` shows the runs there are\n`);
          return 1;
        }
        if (format === 'json') {
          io.stdout(JSON.stringify(run) + '\n');
          return 0;
        }
        const lines = [
          `run ${run.id}  ${run.pipeline} (${run.pipelineFile})  ${run.status}${run.error ? ` — ${run.error}` : ''}`,
          `started ${when(run.startedAt)}${run.durationMs === null ? '' : `, took ${(run.durationMs / 1000).toFixed(1)} s`}`,
          `git ${run.gitCommit ?? 'unknown'}${run.gitDirty ? ' (dirty)' : ''}  platform ${run.platform}  cairn ${run.cairnVersion}${run.backend ? `  backend ${run.backend}` : ''}`,
        ];
        io.stdout(lines.join('\n') + '\n\n');
        const params = Object.entries(run.paramDetails);
        if (params.length > 0)
          io.stdout(
            table([
              ['PARAM', 'VALUE', 'TYPE', ''],
              ...params.map(([k, p]) => [k, cell(p.value), p.type, p.overridden ? 'overridden' : '']),
            ]) + '\n',
          );
        // A run on Slurm: each step's job id and the Slurm state last seen (kept up to date while it runs).
        const jobs = slurmJobsOf(run.tags);
        const states = slurmStatesOf(run.tags);
        const onSlurm = Object.keys(jobs).length > 0;
        io.stdout(
          table([
            ['STEP', 'STATUS', 'DURATION', 'CACHE', ...(onSlurm ? ['SLURM JOB'] : []), 'ERROR'],
            ...run.steps.map((s) => [
              s.step,
              s.status,
              s.durationMs === null ? '' : `${Math.round(s.durationMs)} ms`,
              s.cacheHit ? `hit (${s.cacheSource})` : '',
              ...(onSlurm ? [jobs[s.step] ? `${jobs[s.step]} ${states[s.step] ?? ''}`.trim() : ''] : []),
              s.error ?? '',
            ]),
          ]),
        );
        const metrics = Object.entries(run.metrics);
        if (metrics.length > 0)
          io.stdout('\n' + table([['METRIC', 'VALUE'], ...metrics.map(([k, v]) => [k, cell(v)])]));
        if (run.gates === null) io.stdout(`\n(no evaluation gates stored: run ${run.id} predates stored gates)\n`);
        else {
          const gates = Object.entries(run.gates).flatMap(([step, gate]) =>
            Object.entries(gate).map(([metric, b]) => [
              step,
              metric,
              b.min === undefined ? '' : String(b.min),
              b.max === undefined ? '' : String(b.max),
            ]),
          );
          io.stdout(
            gates.length === 0
              ? '\n(no evaluation gates in the pipeline when the run started)\n'
              : '\n' + table([['GATED STEP', 'METRIC', 'MIN', 'MAX'], ...gates]),
          );
        }
        return 0;
      }
      if (parsed.positionals.length < 2) throw new UsageError('give at least two run ids to compare');
      const ids = parsed.positionals.map(runId);
      let comparison;
      try {
        comparison = await store.runs.compare(ids);
      } catch (error) {
        io.stderr(`cairn runs compare: ${error instanceof Error ? error.message : String(error)}\n`);
        return 1;
      }
      if (format === 'json') {
        io.stdout(JSON.stringify(comparison) + '\n');
        return 0;
      }
      const head = ['', ...comparison.runs.map((r) => `run ${r.id}`)];
      const rows = [head];
      for (const [k, vs] of Object.entries(comparison.params)) rows.push([`param ${k}`, ...vs.map(cell)]);
      for (const [k, vs] of Object.entries(comparison.metrics)) rows.push([`metric ${k}`, ...vs.map(cell)]);
      io.stdout(table(rows));
      if (Object.keys(comparison.params).length === 0) io.stdout('(the runs have the same params)\n');
      return 0;
    } finally {
      await store.close();
    }
  },
};
