import * as vscode from 'vscode';
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc';
import {
  CancelRunRequest,
  DeleteRunRequest,
  GetRunRequest,
  ListRunsRequest,
  runStatuses,
  type RunStatus,
  type RunSummary,
} from '@cairn/protocol';
import type { RuntimeClient } from '../runtime/runtimeClient.js';
import type { ExperimentNode, ExperimentsView } from '../views/experimentsView.js';
import { formatAge, formatMetric, keyMetric } from '../views/format.js';
import type { PipelineEntry, PipelineIndex } from '../views/pipelineIndex.js';
import type { PipelineNode, PipelinesView } from '../views/pipelinesView.js';
import { conditionsText, parseConditions } from '../views/runsModel.js';
import type { CairnWebviews } from '../webviews/index.js';
import type { ModelActions } from '../models/modelActions.js';
import { runDetailMarkdown } from './reports.js';
import { overridesFromRun, parseParamOverrides } from './paramsInput.js';
import { checkTrust, type RunLauncher } from './runLauncher.js';
import { runDriftCommand, type DriftReports } from './drift.js';
import { validateWorkspace } from './validate.js';
import { Commands } from './ids.js';

export { Commands } from './ids.js';

export interface CommandDeps {
  runtime: RuntimeClient;
  index: PipelineIndex;
  experiments: ExperimentsView;
  pipelines: PipelinesView;
  launcher: RunLauncher;
  log: vscode.LogOutputChannel;
  webviews: CairnWebviews;
  driftReports: DriftReports;
  models: ModelActions;
}

/** What a run/step command may be called with: nothing (palette), a file URI (editor, lens) or a tree node. */
type Target = vscode.Uri | PipelineNode | ExperimentNode | number | undefined;

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { runtime, index, experiments, launcher, log } = deps;
  const reg = (id: string, fn: (...args: never[]) => unknown): vscode.Disposable =>
    vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log.error(`${id}: ${message}`);
        void vscode.window.showErrorMessage(`Cairn: ${message}`, 'Show Runtime Log').then((c) => {
          if (c) log.show(true);
        });
        return undefined;
      }
    });

  const pickPipeline = async (target: Target): Promise<PipelineEntry | undefined> => {
    if (target instanceof vscode.Uri) return index.byUri(target);
    if (typeof target === 'object' && (target.kind === 'pipeline' || target.kind === 'step')) return target.entry;
    const active = vscode.window.activeTextEditor?.document;
    const all = await index.all();
    if (all.length === 0) {
      void vscode.window.showWarningMessage('Cairn: no pipeline in this workspace (cairn.yaml or *.cairn.yaml).');
      return undefined;
    }
    if (all.length === 1) return all[0];
    const items = all.map((e) => ({ label: e.outline.name, description: vscode.workspace.asRelativePath(e.uri), entry: e, picked: active?.uri.toString() === e.uri.toString() }));
    items.sort((a, b) => Number(b.picked) - Number(a.picked));
    return (await vscode.window.showQuickPick(items, { title: 'Cairn: which pipeline?' }))?.entry;
  };

  const pickStep = async (entry: PipelineEntry, target: Target, given?: string): Promise<string | undefined> => {
    if (given) return given;
    if (typeof target === 'object' && !(target instanceof vscode.Uri) && target.kind === 'step') return target.step;
    const item = await vscode.window.showQuickPick(
      entry.outline.steps.map((s) => ({ label: s.name, description: s.uses ?? 'command', detail: s.needs.length > 0 ? `needs ${s.needs.join(', ')}` : undefined })),
      { title: `Cairn: which step of ${entry.outline.name}?` },
    );
    return item?.label;
  };

  /** A run from a tree node, a number, or picked from the latest runs. */
  const pickRun = async (target: Target, title: string, statuses?: RunStatus[]): Promise<number | undefined> => {
    if (typeof target === 'number') return target;
    if (typeof target === 'object' && !(target instanceof vscode.Uri) && target.kind === 'run') return target.runId;
    const page = await runtime.request(ListRunsRequest, { ...(statuses ? { filter: { status: statuses } } : {}), sort: { by: 'startedAt', order: 'desc' }, offset: 0, limit: 200 });
    if (page.runs.length === 0) {
      void vscode.window.showInformationMessage(statuses ? `Cairn: no ${statuses.join(' or ')} run.` : 'Cairn: no runs yet.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(page.runs.map(runItem), { title });
    return picked?.runId;
  };

  const runFrom = async (target: Target, step?: string, downstream?: boolean) => {
    if (!checkTrust()) return undefined;
    const entry = await pickPipeline(target);
    if (!entry) return undefined;
    const chosen = step === undefined && downstream === undefined ? undefined : await pickStep(entry, target, step);
    if ((step !== undefined || downstream !== undefined) && !chosen) return undefined;
    return launcher.run({ pipeline: entry.uri, ...(chosen ? { step: chosen } : {}), ...(downstream ? { downstream } : {}) });
  };

  return [
    reg(Commands.runPipeline, (target: Target) => runFrom(target)),
    // From a lens the step name comes as the second argument; from the palette it is picked.
    reg(Commands.runStep, (target: Target, step?: string) => runFrom(target, step ?? '', false)),
    reg(Commands.runStepDownstream, (target: Target, step?: string) => runFrom(target, step ?? '', true)),
    reg(Commands.runWithParams, async (target: Target) => {
      if (!checkTrust()) return undefined;
      const entry = await pickPipeline(target);
      if (!entry) return undefined;
      const text = await vscode.window.showInputBox({
        title: `Cairn: run ${entry.outline.name} with params`,
        prompt: 'Param overrides, e.g. lr=0.01 epochs=3 (converted by each param’s declared type)',
        validateInput: (v) => {
          const parsed = parseParamOverrides(v);
          return parsed.ok ? undefined : parsed.error;
        },
      });
      if (text === undefined) return undefined;
      const parsed = parseParamOverrides(text);
      if (!parsed.ok) return undefined;
      return launcher.run({ pipeline: entry.uri, params: parsed.params });
    }),
    reg(Commands.cancelRun, async (target: Target) => {
      const runId = await pickRun(target, 'Cairn: cancel which run?', ['running']);
      if (runId === undefined) return undefined;
      const { cancelled } = await runtime.request(CancelRunRequest, { runId });
      void vscode.window.showInformationMessage(cancelled ? `Cairn: cancelling run #${runId}.` : `Cairn: run #${runId} is not running.`);
      return cancelled;
    }),
    reg(Commands.compareRuns, async (target: Target, selected?: ExperimentNode[]) => {
      let ids = (selected ?? []).flatMap((n) => (n.kind === 'run' ? [n.runId] : []));
      if (ids.length < 2) {
        const page = await runtime.request(ListRunsRequest, { sort: { by: 'startedAt', order: 'desc' }, offset: 0, limit: 200 });
        const first = typeof target === 'object' && !(target instanceof vscode.Uri) && target.kind === 'run' ? target.runId : undefined;
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
      deps.webviews.showCompare({ runIds: ids });
      return ids;
    }),
    reg(Commands.showLineage, async (target: Target) => {
      const runId = await pickRun(target, 'Cairn: lineage of which run?');
      if (runId === undefined) return undefined;
      deps.webviews.showLineage({ target: `run:${runId}` });
      return runId;
    }),
    reg(Commands.showDrift, () => runDriftCommand(deps.runtime, deps.webviews, deps.driftReports, log)),
    reg(Commands.showRun, async (target: Target) => {
      const runId = await pickRun(target, 'Cairn: which run?');
      if (runId === undefined) return undefined;
      return showMarkdown(runDetailMarkdown(await runtime.request(GetRunRequest, { runId })));
    }),
    reg(Commands.validateWorkspace, () => validateWorkspace(index, log)),
    reg(Commands.showRuntimeLog, () => log.show(true)),
    reg(Commands.restartRuntime, async () => {
      if (!checkTrust()) return;
      await runtime.restart();
    }),
    reg(Commands.showRunLogs, async (target: Target) => {
      const runId = await pickRun(target, 'Cairn: logs of which run?');
      if (runId === undefined) return undefined;
      const run = await runtime.request(GetRunRequest, { runId });
      const logs = run.steps.filter((s) => s.log);
      if (logs.length === 0) {
        log.show(true);
        void vscode.window.showInformationMessage(`Cairn: run #${runId} has no step logs (cached steps write none); its output is in the runtime log.`);
        return undefined;
      }
      // The failed step's log first: that is the one people open logs for.
      logs.sort((a, b) => Number(b.status === 'failed') - Number(a.status === 'failed'));
      const chosen =
        logs.length === 1
          ? logs[0]
          : (await vscode.window.showQuickPick(logs.map((s) => ({ label: s.step, description: s.status, s })), { title: `Cairn: which step's log of run #${runId}?` }))?.s;
      if (!chosen?.log) return undefined;
      return openWorkspaceFile(chosen.log);
    }),
    reg(Commands.openStepLog, async (runId: number, step: string) => {
      const run = await runtime.request(GetRunRequest, { runId });
      const record = run.steps.find((s) => s.step === step);
      if (!record?.log) {
        log.show(true);
        return undefined;
      }
      return openWorkspaceFile(record.log);
    }),
    reg(Commands.rerun, async (target: Target) => {
      if (!checkTrust()) return undefined;
      const runId = await pickRun(target, 'Cairn: re-run which run?');
      if (runId === undefined) return undefined;
      const run = experiments.run(runId) ?? (await runtime.request(GetRunRequest, { runId }));
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      if (!folder) return undefined;
      const file = run.pipelineFile.startsWith('/') ? vscode.Uri.file(run.pipelineFile) : vscode.Uri.joinPath(folder, run.pipelineFile);
      return launcher.run({ pipeline: file, params: overridesFromRun(run.params) });
    }),
    reg(Commands.deleteRun, async (target: Target) => {
      const runId = await pickRun(target, 'Cairn: delete which run?');
      if (runId === undefined) return undefined;
      const ok = await vscode.window.showWarningMessage(`Delete run #${runId} with its params, metrics and step records? Its artifacts stay until cairn gc.`, { modal: true }, 'Delete');
      if (ok !== 'Delete') return undefined;
      let deleted: boolean;
      try {
        ({ deleted } = await runtime.request(DeleteRunRequest, { runId }));
      } catch (error) {
        if (error instanceof ResponseError && error.code === ErrorCodes.MethodNotFound) {
          throw new Error(`this runtime does not delete runs yet (it lacks ${DeleteRunRequest.method}); update Cairn, or leave the run in place.`);
        }
        throw error;
      }
      if (!deleted) void vscode.window.showWarningMessage(`Cairn: run #${runId} was not deleted (it is running, or gone already).`);
      if (deleted) experiments.removeRun(runId);
      return deleted;
    }),
    reg(Commands.filterRuns, async () => {
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
      experiments.model.view = { ...experiments.model.view, statuses: statusPick.length > 0 ? statusPick.map((p) => p.label) : undefined, params: parsed.params, metrics: parsed.metrics };
      experiments.refresh();
    }),
    reg(Commands.sortRuns, async () => {
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
        const key = await vscode.window.showInputBox({ title: `Cairn: sort by which ${by.slice(0, -1)}?`, prompt: 'Its key, e.g. rmse or lr' });
        if (!key) return;
        by = `${by}${key.trim()}`;
        const dir = await vscode.window.showQuickPick(['descending', 'ascending'], { title: 'Order' });
        if (!dir) return;
        order = dir === 'ascending' ? 'asc' : 'desc';
      }
      experiments.model.view = { ...experiments.model.view, sort: { by, order } };
      experiments.refresh();
    }),
    reg(Commands.clearFilter, () => {
      experiments.model.view = { statuses: undefined, params: [], metrics: [], sort: { by: 'startedAt', order: 'desc' } };
      experiments.refresh();
    }),
    reg(Commands.refreshRuns, () => experiments.refresh()),
    reg(Commands.loadMore, (node: ExperimentNode) => (node.kind === 'more' ? experiments.loadMore(node.pipeline) : undefined)),
    reg(Commands.refreshPipelines, () => deps.pipelines.refresh()),
    reg(Commands.revealStep, async (uri: vscode.Uri, offset: number) => {
      const doc = await vscode.workspace.openTextDocument(uri);
      const at = doc.positionAt(offset);
      await vscode.window.showTextDocument(doc, { selection: new vscode.Range(at, at) });
    }),
    reg(Commands.explainRestricted, () => checkTrust()),
    ...deps.models.commands(reg),
  ];
}

function runItem(r: RunSummary): vscode.QuickPickItem & { runId: number } {
  const metric = keyMetric(r.metrics);
  return {
    label: `#${r.id} ${r.pipeline}`,
    description: `${r.status} · ${formatAge(r.startedAt, Date.now())}${metric ? ` · ${metric.key} ${formatMetric(metric.value)}` : ''}`,
    runId: r.id,
  };
}

export async function showMarkdown(markdown: string): Promise<vscode.TextDocument> {
  const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: markdown });
  await vscode.window.showTextDocument(doc, { preview: true });
  return doc;
}

async function openWorkspaceFile(relative: string): Promise<vscode.TextEditor | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (!folder) return undefined;
  const uri = relative.startsWith('/') ? vscode.Uri.file(relative) : vscode.Uri.joinPath(folder, relative);
  return vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
}
