import * as vscode from 'vscode';
import type { TitledDriftReport } from '@cairn/protocol';
import { LensRegistry } from './codeLens/lensRegistry.js';
import { ModelLensProvider } from './codeLens/modelLensProvider.js';
import { PipelineLensProvider } from './codeLens/pipelineLensProvider.js';
import { DriftReports, showDriftBetween } from './commands/drift.js';
import { Commands } from './commands/ids.js';
import { RunLauncher } from './commands/runLauncher.js';
import { registerCommands } from './commands/table.js';
import { webviewActions } from './commands/webviewActions.js';
import { CairnLanguageServer } from './languageClient.js';
import { AlertsStatus } from './models/alertsStatus.js';
import { ModelActions } from './models/modelActions.js';
import { ModelPanels } from './models/modelPanels.js';
import { ModelsService } from './models/modelsService.js';
import { RuntimeClient } from './runtime/runtimeClient.js';
import { RuntimeStatusItem } from './runtime/runtimeStatus.js';
import { ServerStatusItem } from './statusItem.js';
import { ExperimentsView } from './views/experimentsView.js';
import { ModelsView } from './views/modelsView.js';
import { PipelineIndex } from './views/pipelineIndex.js';
import { PipelinesView } from './views/pipelinesView.js';
import { StepStateService } from './views/stepStateService.js';
import { WalkthroughProgress } from './walkthrough/walkthroughProgress.js';
import { registerWebviews, type CairnWebviews } from './webviews/index.js';

/** The runtime-side features, returned in the extension's API (the end-to-end suite drives them through it). */
export interface RuntimeFeatures {
  readonly runtime: RuntimeClient;
  readonly index: PipelineIndex;
  readonly experiments: ExperimentsView;
  readonly pipelines: PipelinesView;
  readonly states: StepStateService;
  readonly launcher: RunLauncher;
  readonly lenses: LensRegistry;
  readonly pipelineLenses: PipelineLensProvider;
  readonly log: vscode.LogOutputChannel;
  readonly webviews: CairnWebviews;
  readonly driftReports: DriftReports;
  /** The registry, deployments, alerts and A/B results and what the Models view and the deploy lenses do. */
  readonly models: ModelsService;
  readonly modelsView: ModelsView;
  readonly modelActions: ModelActions;
  readonly modelPanels: ModelPanels;
  readonly modelLenses: ModelLensProvider;
  readonly alerts: AlertsStatus;
  readonly walkthrough: WalkthroughProgress;
  /** Drift of one data file against another, in the drift view (what "Show Drift" does after its two pickers). */
  showDriftBetween(reference: vscode.Uri, current: vscode.Uri): Promise<TitledDriftReport | undefined>;
  /** How long creating the runtime-side features took (the runtime process starts afterwards, in the background). */
  readonly activationMs: number;
}

/** What `activate` returns: other extensions and the end-to-end suite reach the running pieces through it. */
export interface CairnApi {
  readonly languageServer: CairnLanguageServer;
  readonly log: vscode.LogOutputChannel;
  readonly runtimeFeatures: RuntimeFeatures;
}

const viewIds = { pipelines: 'cairn.pipelines', experiments: 'cairn.experiments', models: 'cairn.models' } as const;

/**
 * The composition root: every piece is created here, in dependency order, and handed what it needs; commands are
 * registered from one table (commands/table.ts). Cheap and synchronous apart from the language server's start; the
 * runtime process starts in the background (and only in a trusted workspace). A failure is shown once, then rethrown
 * so VS Code records it.
 */
export async function activate(context: vscode.ExtensionContext): Promise<CairnApi> {
  const serverLog = vscode.window.createOutputChannel('Cairn', { log: true });
  context.subscriptions.push(serverLog);
  try {
    const serverStatus = new ServerStatusItem(Commands.showServerLog);
    const languageServer = new CairnLanguageServer(context, serverLog, serverStatus);
    context.subscriptions.push(serverStatus, languageServer);
    const runtimeFeatures = createRuntimeFeatures(context, languageServer, serverLog);
    await languageServer.start();
    return { languageServer, log: serverLog, runtimeFeatures };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    serverLog.error(`Cairn failed to activate: ${message}`);
    void vscode.window.showErrorMessage(`Cairn failed to start: ${message}`, 'Show Log').then((choice) => {
      if (choice) serverLog.show(true);
    });
    throw error;
  }
}

function createRuntimeFeatures(
  context: vscode.ExtensionContext,
  languageServer: CairnLanguageServer,
  serverLog: vscode.LogOutputChannel,
): RuntimeFeatures {
  const t0 = performance.now();
  const log = vscode.window.createOutputChannel('Cairn Runtime', { log: true });
  const status = new RuntimeStatusItem(Commands.showRuntimeLog, Commands.restartRuntime);
  const runtime = new RuntimeClient(context, log, status);
  const index = new PipelineIndex();
  const states = new StepStateService(runtime);
  const experiments = new ExperimentsView(runtime, async () => (await index.all()).map((e) => e.outline.name));
  const pipelines = new PipelinesView(index, states, runtime);
  const launcher = new RunLauncher(runtime, log);
  const lenses = new LensRegistry();
  const pipelineLenses = new PipelineLensProvider(index, states);
  lenses.register(pipelineLenses);
  const driftReports = new DriftReports();
  const models = new ModelsService(runtime, log);
  const modelLenses = new ModelLensProvider(models);
  lenses.register(modelLenses);
  const walkthrough = new WalkthroughProgress(runtime, index);
  const modelActions = new ModelActions(runtime, models, launcher, walkthrough, log);
  const webviews = registerWebviews(
    context,
    runtime,
    webviewActions(runtime, launcher, index, driftReports, modelActions),
    log,
  );
  const modelPanels = new ModelPanels(runtime, models, modelActions, webviews);
  const alerts = new AlertsStatus(runtime, models, (alert) => modelPanels.notifyAlert(alert));
  const modelsView = new ModelsView(models);
  const ctx = {
    extensionUri: context.extensionUri,
    secrets: context.secrets,
    languageServer,
    serverLog,
    runtime,
    log,
    index,
    experiments,
    pipelines,
    launcher,
    webviews,
    driftReports,
    models,
    modelActions,
    modelPanels,
  };

  // Open compare panels follow runs live: changed run ids are batched so a burst of metrics is one refresh.
  const changedRuns = new Set<number>();
  let patchTimer: NodeJS.Timeout | undefined;
  const runChanged = (runId: number): void => {
    changedRuns.add(runId);
    patchTimer ??= setTimeout(() => {
      patchTimer = undefined;
      const ids = [...changedRuns];
      changedRuns.clear();
      webviews.runsChanged(ids);
    }, 500);
  };

  const experimentsTree = vscode.window.createTreeView(viewIds.experiments, {
    treeDataProvider: experiments,
    canSelectMany: true,
    showCollapseAll: true,
  });
  context.subscriptions.push(
    log,
    status,
    runtime,
    index,
    states,
    experiments,
    pipelines,
    launcher,
    lenses,
    pipelineLenses,
    experimentsTree,
    vscode.window.createTreeView(viewIds.pipelines, { treeDataProvider: pipelines, showCollapseAll: true }),
    models,
    modelLenses,
    modelsView,
    alerts,
    vscode.window.createTreeView(viewIds.models, { treeDataProvider: modelsView, showCollapseAll: true }),
    walkthrough,
    // A finished run may have registered a version (the runtime also says so with runtime/modelsChanged).
    launcher.onDidFinish(() => models.refresh()),
    ...registerCommands(ctx),
    runtime.onProgress((p) => {
      if (p.step === undefined) runChanged(p.runId);
    }),
    runtime.onMetric((m) => runChanged(m.runId)),
    { dispose: () => clearTimeout(patchTimer) },
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      log.info('Workspace trusted: starting the runtime.');
      void runtime.start();
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => void runtime.restart()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('cairn.runtime.nodePath')) void runtime.restart();
    }),
  );
  // Spawning a process takes tens of milliseconds on a busy machine: do it after activation has returned.
  setImmediate(() => void runtime.start());
  const activationMs = performance.now() - t0;
  log.info(`Runtime features activated in ${activationMs.toFixed(1)} ms.`);
  return {
    activationMs,
    runtime,
    index,
    experiments,
    pipelines,
    states,
    launcher,
    lenses,
    pipelineLenses,
    log,
    webviews,
    driftReports,
    models,
    modelsView,
    modelActions,
    modelPanels,
    modelLenses,
    alerts,
    walkthrough,
    showDriftBetween: (reference, current) =>
      showDriftBetween(runtime, webviews, driftReports, log, reference, current),
  };
}

export function deactivate(): void {
  // Everything is in context.subscriptions; VS Code disposes it.
}
