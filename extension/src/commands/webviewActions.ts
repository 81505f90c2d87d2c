import * as path from 'node:path';
import * as vscode from 'vscode';
import { GetRunRequest, type LineageNode } from '@cairn/protocol';
import { RuntimeClient } from '../runtime/runtimeClient.js';
import type { PipelineIndex } from '../views/pipelineIndex.js';
import type { WebviewActions } from '../webviews/index.js';
import type { ModelActions } from '../models/modelActions.js';
import type { DriftReports } from './drift.js';
import { runtimeFile } from './context.js';
import { runDetailMarkdown, stepNameOfLabel } from './reports.js';
import type { RunLauncher } from './runLauncher.js';

/** What clicks in the compare, lineage, drift and A/B views do: the owner of these commands decides (webviews/). */
export function webviewActions(
  runtime: RuntimeClient,
  launcher: RunLauncher,
  index: PipelineIndex,
  driftReports: DriftReports,
  models: ModelActions,
): WebviewActions {
  const workspace = (): vscode.Uri | undefined => RuntimeClient.workspaceFolder()?.uri;
  const openRun = async (runId: number): Promise<void> => {
    const doc = await vscode.workspace.openTextDocument({
      language: 'markdown',
      content: runDetailMarkdown(await runtime.request(GetRunRequest, { runId })),
    });
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  };
  return {
    openRun,
    async openLineageNode(node: LineageNode) {
      const folder = workspace();
      if (node.path && folder) {
        // Workspace-relative by contract; anything that would leave the folder is not opened.
        const target = path.resolve(folder.fsPath, node.path);
        if (target !== folder.fsPath && !target.startsWith(folder.fsPath + path.sep)) {
          void vscode.window.showWarningMessage(`Cairn: ${node.path} is outside the workspace; not opened.`);
          return;
        }
        await vscode.window.showTextDocument(vscode.Uri.file(target), {
          preview: true,
          viewColumn: vscode.ViewColumn.Beside,
        });
        return;
      }
      if (node.runId !== undefined) return openRun(node.runId);
      void vscode.window.showInformationMessage(`Cairn: ${node.label} has no file to open.`);
    },
    async runFromNode(node: LineageNode) {
      const step = stepNameOfLabel(node.label);
      if (node.runId === undefined || !step) {
        void vscode.window.showWarningMessage(
          `Cairn: cannot tell which step "${node.label}" is; run it from the pipeline file.`,
        );
        return;
      }
      const run = await runtime.request(GetRunRequest, { runId: node.runId });
      const file = runtimeFile(run.pipelineFile);
      if (!file) return;
      await launcher.run({ pipeline: file, step, downstream: true });
    },
    async openDriftThresholds(feature: string) {
      // Thresholds live in a pipeline's drift step (`with: tests: { <feature>: ... }`): open the first mention.
      for (const entry of await index.all()) {
        const doc = await vscode.workspace.openTextDocument(entry.uri);
        const at = new RegExp(`(^|[\\s{,])${feature.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:`, 'm').exec(
          doc.getText(),
        );
        if (!at) continue;
        const pos = doc.positionAt(at.index + (at[1] ?? '').length);
        await vscode.window.showTextDocument(doc, {
          selection: new vscode.Range(pos, pos),
          viewColumn: vscode.ViewColumn.Beside,
        });
        return;
      }
      void vscode.window.showInformationMessage(
        `Cairn: no pipeline sets a drift threshold for "${feature}": the default for its test applies (see docs/pipeline-spec.md, drift.check).`,
      );
    },
    async driftReport(query) {
      // Stored monitoring reports (`monitor:<id>`, or the latest of a model) come from the runtime.
      const monitored = await models.monitorReport(query);
      if (monitored) return monitored;
      const report = driftReports.get(query.reportId);
      if (!report)
        throw new Error(
          query.reportId
            ? `drift report ${query.reportId} is gone (reports from files last for the session); run Cairn: Show Drift again`
            : 'no drift report chosen: run Cairn: Show Drift',
        );
      return report;
    },
    canPromote: () => vscode.workspace.isTrusted,
    async promoteChallenger(result, alias) {
      try {
        const promotion = await models.promote({ name: result.name, version: result.challengerVersion }, alias);
        if (!promotion) return { ok: false, message: 'Promotion cancelled.' };
        if (!promotion.move)
          return {
            ok: false,
            message: `Not promoted: ${promotion.gates.gates
              .filter((g) => g.state === 'fail')
              .map((g) => `${g.gate}: ${g.detail}`)
              .join('; ')}`,
          };
        return {
          ok: true,
          message: `${promotion.move.name}@${promotion.move.alias} → v${promotion.move.version}${promotion.move.previous === null ? '' : ` (was v${promotion.move.previous})`}`,
        };
      } catch (error) {
        return { ok: false, message: `Promotion failed: ${error instanceof Error ? error.message : String(error)}` };
      }
    },
  };
}
