import * as path from 'node:path';
import * as vscode from 'vscode';
import { ListRunsRequest, isPipelineFile, type RunStatus, type RunSummary } from '@cairn/protocol';
import type { CairnLanguageServer } from '../languageClient.js';
import type { ModelActions } from '../models/modelActions.js';
import type { ModelPanels } from '../models/modelPanels.js';
import type { ModelsService } from '../models/modelsService.js';
import { RuntimeClient } from '../runtime/runtimeClient.js';
import type { ExperimentNode, ExperimentsView } from '../views/experimentsView.js';
import { formatAge, formatMetric, keyMetric } from '../views/format.js';
import type { PipelineEntry, PipelineIndex } from '../views/pipelineIndex.js';
import type { PipelineNode, PipelinesView } from '../views/pipelinesView.js';
import type { CairnWebviews } from '../webviews/index.js';
import type { DriftReports } from './drift.js';
import type { RunLauncher } from './runLauncher.js';

/** What a command handler may use: the pieces the composition root (extension.ts) made. */
export interface CommandContext {
  readonly extensionUri: vscode.Uri;
  /** Where the tracking store's password is kept (never in settings). */
  readonly secrets: vscode.SecretStorage;
  readonly languageServer: CairnLanguageServer;
  /** The language server's log ("Cairn"). */
  readonly serverLog: vscode.LogOutputChannel;
  readonly runtime: RuntimeClient;
  /** The runtime's log ("Cairn Runtime"): where command failures are written. */
  readonly log: vscode.LogOutputChannel;
  readonly index: PipelineIndex;
  readonly experiments: ExperimentsView;
  readonly pipelines: PipelinesView;
  readonly launcher: RunLauncher;
  readonly webviews: CairnWebviews;
  readonly driftReports: DriftReports;
  readonly models: ModelsService;
  readonly modelActions: ModelActions;
  readonly modelPanels: ModelPanels;
}

/** What a run/step command may be called with: nothing (palette), a file URI (editor, lens) or a tree node. */
export type Target = vscode.Uri | PipelineNode | ExperimentNode | number | undefined;

/** The pipeline a command is about: the target's, else the only one, else picked (the active editor's first). */
export async function pickPipeline(index: PipelineIndex, target: Target): Promise<PipelineEntry | undefined> {
  if (target instanceof vscode.Uri) return index.byUri(target);
  if (typeof target === 'object' && (target.kind === 'pipeline' || target.kind === 'step')) return target.entry;
  const active = vscode.window.activeTextEditor?.document;
  const all = await index.all();
  // The open pipeline file is always a candidate, even before the workspace scan has found it.
  if (all.length === 0 && active?.uri.scheme === 'file' && isPipelineFile(active.uri.fsPath)) {
    const entry = await index.byUri(active.uri);
    if (entry) return entry;
  }
  if (all.length === 0) {
    void vscode.window.showWarningMessage('Cairn: no pipeline in this workspace (cairn.yaml or *.cairn.yaml).');
    return undefined;
  }
  if (all.length === 1) return all[0];
  const items = all.map((e) => ({
    label: e.outline.name,
    description: vscode.workspace.asRelativePath(e.uri),
    entry: e,
    picked: active?.uri.toString() === e.uri.toString(),
  }));
  items.sort((a, b) => Number(b.picked) - Number(a.picked));
  return (await vscode.window.showQuickPick(items, { title: 'Cairn: which pipeline?' }))?.entry;
}

/** The step a command is about: given (a lens passes it), the target's, else picked. */
export async function pickStep(entry: PipelineEntry, target: Target, given?: string): Promise<string | undefined> {
  if (given) return given;
  if (typeof target === 'object' && !(target instanceof vscode.Uri) && target.kind === 'step') return target.step;
  const item = await vscode.window.showQuickPick(
    entry.outline.steps.map((s) => ({
      label: s.name,
      description: s.uses ?? 'command',
      detail: s.needs.length > 0 ? `needs ${s.needs.join(', ')}` : undefined,
    })),
    { title: `Cairn: which step of ${entry.outline.name}?` },
  );
  return item?.label;
}

/** The run id of a tree node or a number; undefined for anything else. */
export function runIdOf(target: Target): number | undefined {
  if (typeof target === 'number') return target;
  if (typeof target === 'object' && !(target instanceof vscode.Uri) && target.kind === 'run') return target.runId;
  return undefined;
}

/** A run from a tree node, a number, or picked from the latest runs (with `statuses`, only those). */
export async function pickRun(
  runtime: RuntimeClient,
  target: Target,
  title: string,
  statuses?: RunStatus[],
  /** Only runs with these tags, and what to say when there is none. */
  tagged?: { tags: Record<string, string>; none: string },
): Promise<number | undefined> {
  const given = runIdOf(target);
  if (given !== undefined) return given;
  const page = await runtime.request(ListRunsRequest, {
    ...(statuses || tagged
      ? { filter: { ...(statuses ? { status: statuses } : {}), ...(tagged ? { tags: tagged.tags } : {}) } }
      : {}),
    sort: { by: 'startedAt', order: 'desc' },
    offset: 0,
    limit: 200,
  });
  if (page.runs.length === 0) {
    void vscode.window.showInformationMessage(
      tagged ? tagged.none : statuses ? `Cairn: no ${statuses.join(' or ')} run.` : 'Cairn: no runs yet.',
    );
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(page.runs.map(runItem), { title });
  return picked?.runId;
}

export function runItem(r: RunSummary): vscode.QuickPickItem & { runId: number } {
  const metric = keyMetric(r.metrics);
  return {
    label: `#${r.id} ${r.pipeline}`,
    description: `${r.status} · ${formatAge(r.startedAt, Date.now())}${metric ? ` · ${metric.key} ${formatMetric(metric.value)}` : ''}`,
    runId: r.id,
  };
}

/** A file the runtime recorded (a run's pipeline, a step's log): absolute, or relative to the runtime's folder. */
export function runtimeFile(recorded: string): vscode.Uri | undefined {
  if (path.isAbsolute(recorded)) return vscode.Uri.file(recorded);
  const folder = RuntimeClient.workspaceFolder()?.uri;
  return folder ? vscode.Uri.joinPath(folder, recorded) : undefined;
}

/** A file the runtime recorded, in a preview editor. */
export async function openRuntimeFile(recorded: string): Promise<vscode.TextEditor | undefined> {
  const uri = runtimeFile(recorded);
  if (!uri) return undefined;
  return vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
}
