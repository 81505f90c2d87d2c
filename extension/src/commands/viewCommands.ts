import * as vscode from 'vscode';
import { runStatuses } from '@cairn/protocol';
import type { ExperimentNode } from '../views/experimentsView.js';
import { conditionsText, parseConditions } from '../views/runsModel.js';
import type { CommandContext } from './context.js';

/** The Experiments and Pipelines views' own commands: filter, sort, refresh, page, reveal. */

export const filterRuns = (ctx: CommandContext) => async () => {
  const { experiments } = ctx;
  const statusPick = await vscode.window.showQuickPick(
    runStatuses.map((s) => ({ label: s, picked: experiments.model.view.statuses?.includes(s) ?? false })),
    { title: 'Cairn: show runs with status (none picked: all)', canPickMany: true },
  );
  if (!statusPick) return;
  const text = await vscode.window.showInputBox({
    title: 'Cairn: filter runs by params and metrics',
    prompt: 'Comma-separated conditions, e.g. metric:rmse<0.9, param:lr=0.01 (empty: none)',
    value: conditionsText(experiments.model.view),
    validateInput: (v) => {
      const p = parseConditions(v);
      return p.ok ? undefined : p.error;
    },
  });
  if (text === undefined) return;
  const parsed = parseConditions(text);
  if (!parsed.ok) return;
  experiments.model.view = {
    ...experiments.model.view,
    statuses: statusPick.length > 0 ? statusPick.map((p) => p.label) : undefined,
    params: parsed.params,
    metrics: parsed.metrics,
  };
  experiments.refresh();
};

export const sortRuns = (ctx: CommandContext) => async () => {
  const text = await vscode.window.showQuickPick(
    [
      { label: 'Newest first', by: 'startedAt', order: 'desc' as const },
      { label: 'Oldest first', by: 'startedAt', order: 'asc' as const },
      { label: 'Longest first', by: 'durationMs', order: 'desc' as const },
      { label: 'By status', by: 'status', order: 'asc' as const },
      { label: 'By a metric…', by: 'metric:', order: 'desc' as const },
      { label: 'By a param…', by: 'param:', order: 'asc' as const },
    ],
    { title: 'Cairn: sort runs' },
  );
  if (!text) return;
  let by = text.by;
  let order = text.order;
  if (by.endsWith(':')) {
    const key = await vscode.window.showInputBox({
      title: `Cairn: sort by which ${by.slice(0, -1)}?`,
      prompt: 'Its key, e.g. rmse or lr',
    });
    if (!key) return;
    by = `${by}${key.trim()}`;
    const dir = await vscode.window.showQuickPick(['descending', 'ascending'], { title: 'Order' });
    if (!dir) return;
    order = dir === 'ascending' ? 'asc' : 'desc';
  }
  ctx.experiments.model.view = { ...ctx.experiments.model.view, sort: { by, order } };
  ctx.experiments.refresh();
};

/** Mine / all: only the runs this workspace's user started (a shared store holds everyone's), or all of them. */
export const toggleMine = (ctx: CommandContext) => () => {
  const { experiments } = ctx;
  const me = ctx.runtime.info?.user;
  if (experiments.model.view.user === undefined && me === undefined) {
    void vscode.window.showInformationMessage(
      'Cairn: the runtime has not said which user runs record yet; try again once it is ready.',
    );
    return;
  }
  experiments.model.view = {
    ...experiments.model.view,
    user: experiments.model.view.user === undefined ? me : undefined,
  };
  experiments.refresh();
};

export const clearFilter = (ctx: CommandContext) => () => {
  ctx.experiments.model.view = {
    statuses: undefined,
    params: [],
    metrics: [],
    sort: { by: 'startedAt', order: 'desc' },
  };
  ctx.experiments.refresh();
};

export const refreshRuns = (ctx: CommandContext) => () => ctx.experiments.refresh();

export const loadMore = (ctx: CommandContext) => (node: ExperimentNode) =>
  node.kind === 'more' ? ctx.experiments.loadMore(node.pipeline) : undefined;

export const refreshPipelines = (ctx: CommandContext) => () => ctx.pipelines.refresh();

/** A step's key in its pipeline file (the Pipelines view's step nodes carry the offset). */
export const revealStep = () => async (uri: vscode.Uri, offset: number) => {
  const doc = await vscode.workspace.openTextDocument(uri);
  const at = doc.positionAt(offset);
  await vscode.window.showTextDocument(doc, { selection: new vscode.Range(at, at) });
};
