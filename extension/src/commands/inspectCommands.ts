import * as vscode from 'vscode';
import {
  DeleteRunRequest,
  GetRunRequest,
  ListRunsRequest,
  ListSweepsRequest,
  RunExplanationsRequest,
  ServedPredictionsRequest,
  explainedRunTag,
  type Deployment,
} from '@cairn/protocol';
import { isMethodMissing } from '../models/modelsService.js';
import type { ExperimentNode } from '../views/experimentsView.js';
import { openRuntimeFile, pickRun, runIdOf, runItem, type CommandContext, type Target } from './context.js';
import { runDetailMarkdown } from './reports.js';

/** Looking at runs (details, logs, comparisons, lineage) and deleting one. */

/** The runs selected in the Experiments view, or two or more picked (the clicked one pre-ticked). */
export const compareRuns = (ctx: CommandContext) => async (target: Target, selected?: ExperimentNode[]) => {
  let ids = (selected ?? []).flatMap((n) => (n.kind === 'run' ? [n.runId] : []));
  if (ids.length < 2) {
    const page = await ctx.runtime.request(ListRunsRequest, {
      sort: { by: 'startedAt', order: 'desc' },
      offset: 0,
      limit: 200,
    });
    const first = typeof target === 'number' ? undefined : runIdOf(target);
    const picked = await vscode.window.showQuickPick(
      page.runs.map((r) => ({ ...runItem(r), picked: r.id === first })),
      { title: 'Cairn: compare which runs? (pick two or more)', canPickMany: true },
    );
    if (!picked) return undefined;
    ids = picked.map((p) => p.runId);
  }
  if (ids.length < 2) {
    void vscode.window.showWarningMessage('Cairn: pick at least two runs to compare.');
    return undefined;
  }
  ctx.webviews.showCompare({ runIds: ids });
  return ids;
};

/** The compare view on one sweep's runs (the given sweep id, else one picked): its parallel coordinates show the
 * swept params against the chosen metric. */
export const compareSweep = (ctx: CommandContext) => async (target?: number | ExperimentNode) => {
  let sweepId = typeof target === 'number' ? target : target?.kind === 'sweep' ? target.sweepId : undefined;
  if (sweepId === undefined) {
    const { sweeps } = await ctx.runtime.request(ListSweepsRequest, { limit: 100 });
    if (sweeps.length === 0) {
      void vscode.window.showInformationMessage('Cairn: no sweeps yet; `cairn sweep PIPELINE -p NAME=V1,V2` runs one.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      sweeps.map((s) => ({
        label: `sweep ${s.id}`,
        description: `${s.pipeline}: ${s.params.join(', ')}`,
        detail: `${s.runs} of ${s.combinations} combinations run`,
        sweepId: s.id,
      })),
      { title: 'Cairn: compare which sweep?' },
    );
    if (!picked) return undefined;
    sweepId = picked.sweepId;
  }
  const page = await ctx.runtime.request(ListRunsRequest, { filter: { sweep: sweepId }, offset: 0, limit: 10_000 });
  const ids = page.runs.map((r) => r.id);
  if (ids.length === 0) {
    void vscode.window.showWarningMessage(`Cairn: sweep ${sweepId} has no runs.`);
    return undefined;
  }
  ctx.webviews.showCompare({ runIds: ids });
  return ids;
};

export const showLineage = (ctx: CommandContext) => async (target: Target) => {
  const runId = await pickRun(ctx.runtime, target, 'Cairn: lineage of which run?');
  if (runId === undefined) return undefined;
  ctx.webviews.showLineage({ target: `run:${runId}` });
  return runId;
};

/** A run's explanations (importance bars, one row's waterfall); with several explaining steps, the user picks one. */
export const openExplanation = (ctx: CommandContext) => async (target: Target) => {
  const runId = await pickRun(ctx.runtime, target, 'Cairn: explanations of which run?', undefined, {
    tags: { [explainedRunTag]: 'true' },
    none: 'Cairn: no run has explanations yet: add `explain: true` to an evaluate step and run the pipeline.',
  });
  if (runId === undefined) return undefined;
  const { steps } = await ctx.runtime.request(RunExplanationsRequest, { runId });
  const chosen =
    steps.length === 1
      ? steps[0]
      : (
          await vscode.window.showQuickPick(
            steps.map((s) => ({ label: s.step, description: s.explanations.model, s })),
            { title: `Cairn: which step's explanations of run #${runId}?` },
          )
        )?.s;
  if (!chosen) return undefined;
  ctx.webviews.showExplanation({ runId, step: chosen.step });
  return { runId, step: chosen.step };
};

/** A cell or prediction as one short text for a quick pick row. */
const brief = (v: unknown): string => {
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
};

/**
 * One served prediction's explanation: a deployment (the clicked one in the Models view, or picked), then one of its
 * newest logged rows; the explanation panel asks the runtime for that row's contributions by the version that
 * answered it (`runtime/explainServed`).
 */
export const explainServed = (ctx: CommandContext) => async (target?: { deployment?: Deployment }) => {
  const all = target?.deployment
    ? [target.deployment]
    : ctx.models.snapshot.flatMap((m) => m.status?.deployments ?? []).sort((a, b) => b.startedAt - a.startedAt);
  if (all.length === 0) {
    void vscode.window.showInformationMessage(
      'Cairn: no deployment yet: serve a model (Deploy Locally, or `cairn serve --workspace`) and send it requests.',
    );
    return undefined;
  }
  const deployment =
    all.length === 1
      ? all[0]
      : (
          await vscode.window.showQuickPick(
            all.map((d) => ({
              label: `deployment #${d.id}`,
              description: `${d.name}${d.version === null ? '' : ` v${d.version}`} · ${d.status}`,
              detail: d.url,
              d,
            })),
            { title: 'Cairn: explain a prediction of which deployment?' },
          )
        )?.d;
  if (!deployment) return undefined;
  const { rows } = await ctx.runtime.request(ServedPredictionsRequest, { deploymentId: deployment.id, limit: 100 });
  if (rows.length === 0) {
    void vscode.window.showInformationMessage(
      `Cairn: deployment #${deployment.id} has logged no prediction yet (or logs none: --no-log, --log-sample 0).`,
    );
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    rows.map((r) => ({
      label: `${new Date(r.at).toLocaleString()} · row ${r.nth + 1}`,
      description: `${r.arm}${r.version === null ? '' : ` v${r.version}`} → ${brief(r.prediction)}`,
      detail: Object.entries(r.inputs)
        .map(([k, v]) => `${k}=${brief(v)}`)
        .join(', '),
      r,
    })),
    { title: `Cairn: explain which prediction of deployment #${deployment.id}? (newest first)`, matchOnDetail: true },
  );
  if (!picked) return undefined;
  const served = { deploymentId: deployment.id, at: picked.r.at, nth: picked.r.nth };
  ctx.webviews.showExplanation({ served });
  return served;
};

export const showRun = (ctx: CommandContext) => async (target: Target) => {
  const runId = await pickRun(ctx.runtime, target, 'Cairn: which run?');
  if (runId === undefined) return undefined;
  const doc = await vscode.workspace.openTextDocument({
    language: 'markdown',
    content: runDetailMarkdown(await ctx.runtime.request(GetRunRequest, { runId })),
  });
  await vscode.window.showTextDocument(doc, { preview: true });
  return doc;
};

export const showRunLogs = (ctx: CommandContext) => async (target: Target) => {
  const runId = await pickRun(ctx.runtime, target, 'Cairn: logs of which run?');
  if (runId === undefined) return undefined;
  const run = await ctx.runtime.request(GetRunRequest, { runId });
  const logs = run.steps.filter((s) => s.log);
  if (logs.length === 0) {
    ctx.log.show(true);
    void vscode.window.showInformationMessage(
      `Cairn: run #${runId} has no step logs (cached steps write none); its output is in the runtime log.`,
    );
    return undefined;
  }
  // The failed step's log first: that is the one people open logs for.
  logs.sort((a, b) => Number(b.status === 'failed') - Number(a.status === 'failed'));
  const chosen =
    logs.length === 1
      ? logs[0]
      : (
          await vscode.window.showQuickPick(
            logs.map((s) => ({ label: s.step, description: s.status, s })),
            { title: `Cairn: which step's log of run #${runId}?` },
          )
        )?.s;
  if (!chosen?.log) return undefined;
  return openRuntimeFile(chosen.log);
};

/** A step's log from a lens or the Pipelines view (which know the run and the step). */
export const openStepLog = (ctx: CommandContext) => async (runId: number, step: string) => {
  const run = await ctx.runtime.request(GetRunRequest, { runId });
  const record = run.steps.find((s) => s.step === step);
  if (!record?.log) {
    ctx.log.show(true);
    return undefined;
  }
  return openRuntimeFile(record.log);
};

export const deleteRun = (ctx: CommandContext) => async (target: Target) => {
  const runId = await pickRun(ctx.runtime, target, 'Cairn: delete which run?');
  if (runId === undefined) return undefined;
  const ok = await vscode.window.showWarningMessage(
    `Delete run #${runId} with its params, metrics and step records? Its artifacts stay until cairn gc.`,
    { modal: true },
    'Delete',
  );
  if (ok !== 'Delete') return undefined;
  let deleted: boolean;
  try {
    ({ deleted } = await ctx.runtime.request(DeleteRunRequest, { runId }));
  } catch (error) {
    if (isMethodMissing(error))
      throw new Error(
        `this runtime does not delete runs yet (it lacks ${DeleteRunRequest.method}); update Cairn, or leave the run in place.`,
      );
    throw error;
  }
  if (!deleted)
    void vscode.window.showWarningMessage(`Cairn: run #${runId} was not deleted (it is running, or gone already).`);
  if (deleted) ctx.experiments.removeRun(runId);
  return deleted;
};
