import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  driftTestSchema,
  type Alert,
  type DriftWindow,
  type ModelVersion,
  type MonitorReport,
  type ResolvedDeploy,
  type TitledDriftReport,
} from '@cairn/protocol';
import type { ObjectStore } from '../cas/objectStore.js';
import { formatOf as dataFormatOf, parseJsonl, readTable, takeRows } from '../ml/data/index.js';
import { loadPipeline } from '../executor/loadPipeline.js';
import { driftReport, type DriftOptions } from '../ml/drift/index.js';
import type { Table } from '../ml/types.js';
import { ModelRegistry } from '../registry/registry.js';
import type { Store } from '../store/store.js';
import { assertWritableInside } from '../util/confine.js';
import { sha256File } from '../util/hash.js';
import { insertAlert } from './alerts.js';
import { loggedPrediction, predictedValues } from './predictValues.js';
import { CairnError } from '../util/errors.js';

/**
 * `cairn monitor`: drift of a model's logged traffic (the prediction log of the deployments serving it, inputs and
 * predictions) against its training reference, over windows. The reference is found through lineage (the version's
 * run → the step that produced the model → the table it read, restored from the artifact store) or given. Stores a
 * monitor_reports row; when the latest window drifts, opens one drift alert per model version (never two) and may
 * start the retrain pipeline.
 */

export class MonitorError extends CairnError {
  override name = 'MonitorError';
  constructor(message: string) {
    super('refused', message);
  }
}

export interface MonitorContext {
  store: Store;
  objects: ObjectStore;
  workspace: string;
}

export interface MonitorOptions {
  name: string;
  deploymentId?: number;
  /** A reference table file (absolute), instead of the one lineage finds. */
  reference?: string;
  /** Windows of this many logged rows, the latest ending at the newest row (default 500). */
  windowRows?: number;
  /** Or windows of this length in milliseconds, the latest ending at the newest row. */
  windowMs?: number;
  columns?: string[];
  /** A window drifts when at least this share of its columns drift (default 0.5). */
  share?: number;
  /** Starts the retrain run when an alert opens; returns its run id. */
  retrain?: (alert: Alert) => Promise<number>;
  /** Runs a pipeline file when an alert opens and the version's `deploy.monitor` says `on_drift: retrain` (and `retrain` is not given). */
  retrainPipeline?: (pipelineFile: string) => Promise<number>;
}

type DeployMonitor = NonNullable<ResolvedDeploy['monitor']>;
const unitMs: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The `deploy.monitor` block of the pipeline that registered the version (its file as it is now), if it has one. */
async function deployMonitorOf(
  ctx: MonitorContext,
  v: ModelVersion,
): Promise<{ file: string; monitor: DeployMonitor } | undefined> {
  if (v.runId === null) return undefined;
  const runFile = await ctx.store.runs.pipelineFile(v.runId);
  if (runFile === undefined) return undefined;
  const file = path.resolve(ctx.workspace, runFile);
  const loaded = loadPipeline(file, { cwd: ctx.workspace, workspace: ctx.workspace });
  const monitor = loaded.ok ? loaded.pipeline.deploy?.monitor : undefined;
  return monitor ? { file, monitor } : undefined;
}

/** `deploy.monitor.drift` as per-column tests: a named test (with its threshold) per column, `default` for the rest; `auto` keeps the default choice. */
function testsOf(monitor: DeployMonitor, columns: string[]): NonNullable<DriftOptions['tests']> {
  const tests: NonNullable<DriftOptions['tests']> = {};
  const fallback = monitor.drift['default'];
  for (const c of columns) {
    const cfg = monitor.drift[c] ?? fallback;
    const test = driftTestSchema.safeParse(cfg?.test);
    if (test.success)
      tests[c] = { test: test.data, ...(cfg?.threshold === undefined ? {} : { threshold: cfg.threshold }) };
  }
  return tests;
}

export interface MonitorOutcome {
  report: MonitorReport;
  /** The latest window drifted. */
  drifted: boolean;
  /** The open drift alert of this version: newly opened by this report, or open already. */
  alert: Alert | null;
  alertOpened: boolean;
  retrainRunId: number | null;
}

const TABLE_EXT = /\.(csv|jsonl|parquet)$/i;

/** The table a model version was trained on: lineage back from the model artifact to the first table input. */
export async function lineageReference(ctx: MonitorContext, v: ModelVersion): Promise<{ table: Table; label: string }> {
  if (v.runId === null)
    throw new MonitorError(
      `the run that registered ${v.name} version ${v.version} was deleted, so its training data cannot be found: give --reference FILE`,
    );
  // Breadth-first from the model artifact: a model exported to ONNX reaches its trainer, then the training table.
  const seen = new Set<string>();
  let frontier = [v.artifactHash];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const hash of frontier) {
      if (seen.has(hash)) continue;
      seen.add(hash);
      const step = await ctx.store.artifacts.producerInRun(v.runId, hash);
      if (!step) continue;
      const ins = step.inputs;
      const table = ins.find((i) => TABLE_EXT.test(i.path));
      if (table) {
        const label = `${table.path} (input of step ${step.step}, run ${v.runId})`;
        if (await ctx.objects.has(table.hash))
          return { table: await readTable(ctx.objects.pathOf(table.hash), dataFormatOf(table.path)), label };
        const abs = path.resolve(ctx.workspace, table.path);
        try {
          if ((await sha256File(abs)) === table.hash) return { table: await readTable(abs), label };
        } catch {
          // Gone from the workspace: reported below.
        }
        throw new MonitorError(
          `${label} is not in the artifact store and the workspace file changed or is gone: give --reference FILE`,
        );
      }
      next.push(...ins.map((i) => i.hash));
    }
    frontier = next;
  }
  throw new MonitorError(
    `no table (csv, jsonl, parquet) found upstream of ${v.name} version ${v.version} in run ${v.runId}: give --reference FILE`,
  );
}

/** The model's predictions on the reference rows, as the `prediction` column, or why there are none. */
async function referencePredictions(
  ctx: MonitorContext,
  v: ModelVersion,
  reference: Table,
): Promise<unknown[] | string> {
  if (v.artifactKind !== 'file') return `version ${v.version} is a folder, not a model file`;
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-monitor-'));
  try {
    const what = `version ${v.version}'s file ${v.path}`;
    const file = assertWritableInside(dir, path.basename(v.path), what, { use: 'restore' });
    await ctx.objects.restore(v.artifactHash, 'file', file);
    return (await predictedValues(file, reference)).values;
  } catch (error) {
    // The reference lacks a column the model needs (a --reference of another shape): inputs are still compared.
    return error instanceof Error ? error.message : String(error);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Adds a column by writing the table's cells through the JSON-lines reader (same type inference as the log). */
function withColumn(table: Table, name: string, values: unknown[]): Table {
  const col = parseJsonl(values.map((v) => JSON.stringify({ [name]: v ?? null })).join('\n'), name).columns[0];
  return col ? { rowCount: table.rowCount, columns: [...table.columns.filter((c) => c.name !== name), col] } : table;
}

/** Row windows, newest last: by count (the latest ending at the newest row) or by time. */
function windowsOf(
  at: number[],
  o: { windowRows?: number; windowMs?: number },
): Array<{ start: number; end: number; rows: number[] }> {
  const out: Array<{ start: number; end: number; rows: number[] }> = [];
  const n = at.length;
  if (o.windowMs !== undefined) {
    const last = at[n - 1] ?? 0;
    let end = last + 1;
    let i = n - 1;
    while (i >= 0) {
      const start = end - o.windowMs;
      const rows: number[] = [];
      while (i >= 0 && (at[i] ?? 0) >= start) rows.unshift(i--);
      if (rows.length > 0) out.unshift({ start, end, rows });
      end = start;
    }
    return out;
  }
  const size = o.windowRows ?? 500;
  for (let hi = n; hi > 0; hi -= size) {
    const lo = Math.max(0, hi - size);
    const rows = Array.from({ length: hi - lo }, (_, k) => lo + k);
    out.unshift({ start: at[lo] ?? 0, end: (at[hi - 1] ?? 0) + 1, rows });
  }
  // The oldest window holds the remainder; under half a window it is too small to judge alone, so it joins the next one.
  const [first, second] = out;
  if (first && second && first.rows.length < size / 2)
    out.splice(0, 2, { start: first.start, end: second.end, rows: [...first.rows, ...second.rows] });
  return out;
}

export async function runMonitor(ctx: MonitorContext, o: MonitorOptions): Promise<MonitorOutcome> {
  const registry = new ModelRegistry(ctx.store, ctx.objects, ctx.workspace);
  const deployments = await ctx.store.deployments.idsOf(o.name);
  if (o.deploymentId !== undefined && !deployments.includes(o.deploymentId)) {
    throw new MonitorError(
      `deployment ${o.deploymentId} does not serve ${o.name}${deployments.length > 0 ? ` (its deployments: ${deployments.join(', ')})` : ''}; \`cairn deployments list\` shows them`,
    );
  }
  const ids = o.deploymentId === undefined ? deployments : [o.deploymentId];
  if (ids.length === 0)
    throw new MonitorError(
      `${o.name} has no deployment, so no logged traffic to monitor: serve it with \`cairn serve --model ${o.name}@ALIAS\``,
    );
  const all = await ctx.store.deployments.predictions(ids);
  if (all.length === 0)
    throw new MonitorError(
      `no prediction of ${o.name} is logged yet (deployment${ids.length === 1 ? '' : 's'} ${ids.join(', ')}): send traffic first`,
    );
  // The version monitored: the champion arm's latest (a challenger has its own reference).
  const latest = [...all].reverse().find((r) => r.arm === 'champion') ?? all[all.length - 1];
  const version = latest?.version ?? null;
  const rows = all.filter((r) => r.version === version);
  const v = version === null ? null : await registry.find(`${o.name}@${version}`);

  let reference: Table;
  let referenceLabel: string;
  if (o.reference !== undefined) {
    reference = await readTable(o.reference);
    referenceLabel = path.relative(ctx.workspace, o.reference).split(path.sep).join('/');
  } else {
    if (v === null)
      throw new MonitorError(
        `${o.name} is served from a file, not a registered version, so lineage cannot find its training data: give --reference FILE`,
      );
    ({ table: reference, label: referenceLabel } = await lineageReference(ctx, v));
  }

  const records = rows.map((r) => ({
    ...(JSON.parse(r.inputsJson) as Record<string, unknown>),
    prediction: loggedPrediction(r.predictionJson).value,
  }));
  let current = parseJsonl(records.map((r) => JSON.stringify(r)).join('\n'), 'the prediction log');
  const refPredictions = v === null ? 'the model is served from a file' : await referencePredictions(ctx, v, reference);
  if (typeof refPredictions !== 'string') reference = withColumn(reference, 'prediction', refPredictions);
  else current = { rowCount: current.rowCount, columns: current.columns.filter((c) => c.name !== 'prediction') };

  // The pipeline's deploy.monitor block sets per-column tests, the window (when no window option is given) and on_drift.
  const block = v === null ? undefined : await deployMonitorOf(ctx, v);
  const tests = block
    ? testsOf(
        block.monitor,
        current.columns.map((c) => c.name),
      )
    : {};
  const options: DriftOptions = {
    share: o.share ?? 0.5,
    ...(o.columns === undefined ? {} : { columns: o.columns }),
    ...(Object.keys(tests).length > 0 ? { tests } : {}),
  };
  const blockWindow = /^(\d+)([smhdw])$/.exec(block?.monitor.window ?? '');
  const windowing =
    o.windowRows === undefined && o.windowMs === undefined && blockWindow
      ? { windowMs: Number(blockWindow[1]) * (unitMs[blockWindow[2] ?? 'd'] ?? 86_400_000) }
      : o;
  const byBlock = o.retrainPipeline;
  const retrain =
    o.retrain ??
    (block?.monitor.onDrift === 'retrain' && byBlock ? (): Promise<number> => byBlock(block.file) : undefined);
  const windows: DriftWindow[] = windowsOf(
    rows.map((r) => r.at),
    windowing,
  ).map((w) => {
    const r = driftReport(reference, takeRows(current, w.rows), options);
    return {
      start: w.start,
      end: w.end,
      rows: w.rows.length,
      share: r.shareDrifted,
      features: r.features
        .filter((f) => f.score !== null)
        .map((f) => ({ name: f.name, score: f.score ?? 0, drifted: f.drifted })),
    };
  });
  const overall = driftReport(reference, current, options);
  const last = windows[windows.length - 1];
  const drifted = last !== undefined && last.share >= (o.share ?? 0.5) && last.features.length > 0;
  const createdAt = Date.now();
  const view: TitledDriftReport = {
    ...overall,
    id: `monitor:${o.name}@${version ?? 'file'}:${createdAt}`,
    title: `${o.name}${version === null ? '' : ` version ${version}`}: logged traffic vs ${referenceLabel}${typeof refPredictions === 'string' ? ` (predictions not compared: ${refPredictions})` : ''}`,
    createdAt,
    windows,
  };
  const deploymentId = ids.length === 1 ? (ids[0] ?? null) : null;
  const reportId = await ctx.store.monitor.insertReport({
    name: o.name,
    version,
    deploymentId,
    reference: referenceLabel,
    drifted,
    reportJson: JSON.stringify(view),
    createdAt,
  });

  let alert: Alert | null = (await ctx.store.monitor.openAlert(o.name, version, 'drift')) ?? null;
  let alertOpened = false;
  let retrainRunId: number | null = null;
  if (drifted && last !== undefined && alert === null) {
    const names = last.features.filter((f) => f.drifted).map((f) => f.name);
    alert = await insertAlert(ctx.store, {
      name: o.name,
      version,
      deploymentId,
      kind: 'drift',
      message: `latest window (${last.rows} rows) drifted: ${names.length} of ${last.features.length} columns (${names.join(', ')}) vs ${referenceLabel}`,
      reportId,
    });
    alertOpened = true;
    if (retrain) {
      retrainRunId = await retrain(alert);
      await ctx.store.monitor.setRetrainRun(alert.id, retrainRunId);
      alert = { ...alert, retrainRunId };
    }
  }
  const report = (await ctx.store.monitor.reports({ id: reportId }))[0];
  if (!report) throw new Error(`monitor report ${reportId} vanished after insert`);
  return { report, drifted, alert, alertOpened, retrainRunId };
}
