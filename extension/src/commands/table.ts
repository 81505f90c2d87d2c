import * as vscode from 'vscode';
import type { ModelTarget } from '../models/modelActions.js';
import type { ModelNode } from '../views/modelsView.js';
import { openRecommenderSample } from '../walkthrough/openSample.js';
import type { CommandContext } from './context.js';
import { runDriftCommand } from './drift.js';
import { Commands, type CommandId } from './ids.js';
import {
  compareRuns,
  compareSweep,
  deleteRun,
  openExplanation,
  explainServed,
  openStepLog,
  showLineage,
  showRun,
  showRunLogs,
} from './inspectCommands.js';
import {
  cancelRun,
  explainRestricted,
  rerun,
  restartRuntime,
  runPipeline,
  runStep,
  runStepDownstream,
  runWithParams,
  setStorePassword,
} from './runCommands.js';
import { validateWorkspace } from './validate.js';
import {
  clearFilter,
  filterRuns,
  loadMore,
  refreshPipelines,
  refreshRuns,
  revealStep,
  sortRuns,
  toggleMine,
} from './viewCommands.js';

/**
 * Every command, once: its id (ids.ts) → a factory that takes the context and returns the handler (rust-analyzer's
 * `ctx => cmd`). `satisfies` makes a missing or unknown id a type error.
 */
export type CommandFactory = (ctx: CommandContext) => (...args: never[]) => unknown;

const commandTable = {
  [Commands.showServerLog]: (ctx) => () => ctx.serverLog.show(true),
  [Commands.restartServer]: (ctx) => () => restartServer(ctx),
  [Commands.runPipeline]: runPipeline,
  [Commands.runStep]: runStep,
  [Commands.runStepDownstream]: runStepDownstream,
  [Commands.runWithParams]: runWithParams,
  [Commands.cancelRun]: cancelRun,
  [Commands.compareRuns]: compareRuns,
  [Commands.compareSweep]: compareSweep,
  [Commands.showLineage]: showLineage,
  [Commands.openExplanation]: openExplanation,
  [Commands.explainServed]: explainServed,
  [Commands.showDrift]: (ctx) => () => runDriftCommand(ctx.runtime, ctx.webviews, ctx.driftReports, ctx.log),
  [Commands.validateWorkspace]: (ctx) => () => validateWorkspace(ctx.index, ctx.log),
  [Commands.showRuntimeLog]: (ctx) => () => ctx.log.show(true),
  [Commands.restartRuntime]: restartRuntime,
  [Commands.setStorePassword]: setStorePassword,
  [Commands.showRunLogs]: showRunLogs,
  [Commands.showRun]: showRun,
  [Commands.rerun]: rerun,
  [Commands.deleteRun]: deleteRun,
  [Commands.filterRuns]: filterRuns,
  [Commands.sortRuns]: sortRuns,
  [Commands.clearFilter]: clearFilter,
  [Commands.toggleMine]: toggleMine,
  [Commands.refreshRuns]: refreshRuns,
  [Commands.loadMore]: loadMore,
  [Commands.refreshPipelines]: refreshPipelines,
  [Commands.revealStep]: revealStep,
  [Commands.openStepLog]: openStepLog,
  [Commands.explainRestricted]: explainRestricted,
  [Commands.openSample]: (ctx) => () => openRecommenderSample(ctx.extensionUri),
  [Commands.refreshModels]: (ctx) => () => ctx.models.reload(),
  [Commands.deployModel]: (ctx) => (t: ModelTarget) => ctx.modelActions.deploy(t),
  [Commands.promoteModel]: (ctx) => (t: ModelTarget, alias?: string) => ctx.modelActions.promote(t, alias),
  [Commands.stopDeployment]: (ctx) => (t: ModelNode | undefined) => ctx.modelActions.stop(t),
  [Commands.copyDeploymentUrl]: (ctx) => (t: ModelNode | undefined) => ctx.modelActions.copyUrl(t),
  [Commands.copyCurl]: (ctx) => (t: ModelNode | undefined) => ctx.modelActions.copyCurl(t),
  [Commands.showAbResult]: (ctx) => (t: ModelTarget) => ctx.modelPanels.showAb(t),
  [Commands.showMonitorReport]: (ctx) => (t: ModelTarget) => ctx.modelPanels.showMonitorReport(t),
  [Commands.showAlerts]: (ctx) => () => ctx.modelPanels.showAlerts(),
  [Commands.retrainModel]: (ctx) => (t: ModelTarget) => ctx.modelActions.retrain(t),
} satisfies Record<CommandId, CommandFactory>;

/** Registers every command of the table; a handler's failure is logged and shown once, with the log a click away. */
export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  return (Object.entries(commandTable) as Array<[CommandId, CommandFactory]>).map(([id, factory]) => {
    const handler = factory(ctx);
    return vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        return await handler(...args);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        ctx.log.error(`${id}: ${message}`);
        void vscode.window.showErrorMessage(`Cairn: ${message}`, 'Show Runtime Log').then((c) => {
          if (c) ctx.log.show(true);
        });
        return undefined;
      }
    });
  });
}

/** Restarting the language server reports its own failure (in the server's log, not the runtime's). */
async function restartServer(ctx: CommandContext): Promise<void> {
  try {
    await ctx.languageServer.restart();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    ctx.serverLog.error(`Restarting the Cairn language server failed: ${message}`);
    void vscode.window
      .showErrorMessage(`Cairn: the language server did not restart: ${message}`, 'Show Log')
      .then((choice) => {
        if (choice) ctx.serverLog.show(true);
      });
  }
}
