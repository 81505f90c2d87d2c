import * as vscode from 'vscode';
import type { AbResult, Alert, Deployment, ModelVersion } from '@cairn/protocol';
import { Commands } from '../commands/ids.js';
import { deploymentDescription, versionDescription, versionTooltip } from '../models/modelsModel.js';
import type { ModelEntry, ModelsService } from '../models/modelsService.js';
import { formatAge } from './format.js';

/** A node of the Models view; context actions get it as their argument. */
export type ModelNode =
  | { kind: 'model'; name: string; entry: ModelEntry }
  | { kind: 'version'; name: string; version: ModelVersion }
  | { kind: 'deployment'; name: string; deployment: Deployment }
  | { kind: 'alert'; name: string; alert: Alert }
  | { kind: 'ab'; name: string; result: AbResult }
  | { kind: 'message'; text: string; tooltip?: string; icon: string };

/**
 * The Models view: registered models → their open alerts, deployments (URL, arms, logged/labelled), the latest A/B
 * result and their versions (aliases in the description, metrics in the tooltip). Everything comes from the runtime
 * (ListModels, GetModel, ModelStatus) through ModelsService, which reloads when the runtime reports a change.
 */
export class ModelsView implements vscode.TreeDataProvider<ModelNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ModelNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(private readonly models: ModelsService) {
    this.sub = models.onDidChange(() => this.changed.fire(undefined));
  }

  refresh(): void {
    this.models.refresh();
  }

  getTreeItem(node: ModelNode): vscode.TreeItem {
    switch (node.kind) {
      case 'model': {
        const { summary, status } = node.entry;
        const item = new vscode.TreeItem(summary.name, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `model:${summary.name}`;
        const aliases = Object.entries(summary.aliases).map(([a, v]) => `${a} → v${v}`);
        const serving = status?.deployments.filter((d) => d.status === 'serving').length ?? 0;
        item.description = [`v${summary.latestVersion}`, ...aliases, serving > 0 ? `${serving} serving` : '']
          .filter(Boolean)
          .join(' · ');
        item.tooltip = `${summary.name}: ${summary.versionCount} version${summary.versionCount === 1 ? '' : 's'}, latest v${summary.latestVersion}${node.entry.problem ? `\n${node.entry.problem}` : ''}`;
        const alerts = status?.alerts.filter((a) => a.closedAt === null).length ?? 0;
        item.iconPath = new vscode.ThemeIcon(
          alerts > 0 ? 'warning' : 'package',
          alerts > 0 ? new vscode.ThemeColor('list.warningForeground') : undefined,
        );
        item.contextValue = 'cairn.model';
        return item;
      }
      case 'version': {
        const v = node.version;
        const item = new vscode.TreeItem(`v${v.version}`, vscode.TreeItemCollapsibleState.None);
        item.id = `version:${node.name}@${v.version}`;
        item.description = versionDescription(v);
        item.tooltip = versionTooltip(v);
        item.iconPath = new vscode.ThemeIcon(v.aliases.length > 0 ? 'tag' : 'versions');
        item.contextValue = 'cairn.modelVersion';
        return item;
      }
      case 'deployment': {
        const d = node.deployment;
        const item = new vscode.TreeItem(`deployment #${d.id}`, vscode.TreeItemCollapsibleState.None);
        item.id = `deployment:${d.id}`;
        item.description = deploymentDescription(d);
        item.tooltip = `${d.ref} since ${new Date(d.startedAt).toLocaleString()} (pid ${d.pid}), logging ${Math.round(d.logSample * 100)}% of requests${d.challenger ? `\nchallenger ${d.challenger.ref}: ${Math.round(d.challenger.split * 100)}% of keys${d.challenger.key ? ` by column ${d.challenger.key}` : ' by the X-Cairn-Key header'}` : ''}`;
        item.iconPath = new vscode.ThemeIcon(d.status === 'serving' ? 'globe' : 'debug-stop');
        item.contextValue = d.status === 'serving' ? 'cairn.deployment.serving' : 'cairn.deployment';
        return item;
      }
      case 'alert': {
        const a = node.alert;
        const item = new vscode.TreeItem(a.message, vscode.TreeItemCollapsibleState.None);
        item.id = `alert:${a.id}`;
        item.description = `${a.kind} · ${formatAge(a.openedAt, Date.now())}`;
        item.tooltip = `Alert #${a.id} (${a.kind})${a.version === null ? '' : ` on v${a.version}`}: ${a.message}${a.retrainRunId === null ? '' : `\nretrain run #${a.retrainRunId}`}\nClick to open its monitoring report in the drift view.`;
        item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
        item.contextValue = 'cairn.alert';
        if (a.reportId !== null)
          item.command = { command: Commands.showMonitorReport, title: 'Show Drift Report', arguments: [node] };
        return item;
      }
      case 'ab': {
        const r = node.result;
        const item = new vscode.TreeItem(
          `A/B v${r.championVersion} vs v${r.challengerVersion}`,
          vscode.TreeItemCollapsibleState.None,
        );
        item.id = `ab:${r.id}`;
        item.description = `${r.source} · ${r.test.winner === 'inconclusive' ? 'inconclusive' : `${r.test.winner} wins`} · p ${r.test.pValue.toPrecision(2)}`;
        item.tooltip = r.test.statement;
        item.iconPath = new vscode.ThemeIcon('beaker');
        item.contextValue = 'cairn.abResult';
        item.command = { command: Commands.showAbResult, title: 'Open A/B Result', arguments: [node] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.icon);
        if (node.tooltip) item.tooltip = node.tooltip;
        return item;
      }
    }
  }

  async getChildren(node?: ModelNode): Promise<ModelNode[]> {
    if (!node) return this.roots();
    if (node.kind !== 'model') return [];
    const { entry, name } = node;
    const status = entry.status;
    return [
      ...(status?.alerts
        .filter((a) => a.closedAt === null)
        .map((alert): ModelNode => ({ kind: 'alert', name, alert })) ?? []),
      ...(status?.deployments
        .filter((d) => d.status === 'serving')
        .map((deployment): ModelNode => ({ kind: 'deployment', name, deployment })) ?? []),
      ...(status?.latestAb ? [{ kind: 'ab', name, result: status.latestAb } as const] : []),
      ...(entry.detail?.versions.map((version): ModelNode => ({ kind: 'version', name, version })) ?? []),
      ...(entry.problem ? [{ kind: 'message', text: entry.problem, icon: 'info' } as const] : []),
    ];
  }

  private async roots(): Promise<ModelNode[]> {
    if (!vscode.workspace.isTrusted)
      return [
        {
          kind: 'message',
          text: 'Models show once the workspace is trusted (the runtime does not start in Restricted Mode).',
          icon: 'shield',
        },
      ];
    const why = this.models.unavailableReason;
    if (why) return [{ kind: 'message', text: why, icon: why.startsWith('Waiting') ? 'loading~spin' : 'warning' }];
    try {
      const models = await this.models.models();
      if (models.length === 0) {
        return [
          {
            kind: 'message',
            text: 'No models yet: they appear once a run registers one (uses: model.register).',
            tooltip:
              'A pipeline step `uses: model.register` registers a model version from a run; versions, aliases (champion, challenger), deployments and drift alerts then show here.',
            icon: 'info',
          },
        ];
      }
      return models.map((entry) => ({ kind: 'model', name: entry.summary.name, entry }));
    } catch (error) {
      return [
        {
          kind: 'message',
          text: `Could not list models: ${error instanceof Error ? error.message : String(error)}`,
          icon: 'error',
        },
      ];
    }
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
