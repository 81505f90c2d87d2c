import * as vscode from 'vscode';
import { MonitorReportsRequest, type Alert } from '@cairn/protocol';
import type { RuntimeClient } from '../runtime/runtimeClient.js';
import type { CairnWebviews } from '../webviews/index.js';
import { alertOf, type ModelActions, type ModelTarget } from './modelActions.js';
import type { ModelsService } from './modelsService.js';

/**
 * What the Models view and the alerts open in a panel: an A/B result, a monitoring report in the drift view. Made
 * after the webviews (whose A/B view promotes through ModelActions), so no piece needs another made later.
 */
export class ModelPanels {
  constructor(
    private readonly runtime: RuntimeClient,
    private readonly models: ModelsService,
    private readonly actions: ModelActions,
    private readonly webviews: CairnWebviews,
  ) {}

  /** The latest A/B result of a model (or the one of the node) and its deployment's business metrics: the A/B view. */
  showAb(target: ModelTarget): void {
    if (typeof target === 'object' && 'kind' in target && target.kind === 'ab') {
      this.webviews.showAb({ resultId: target.result.id });
      return;
    }
    const name = this.actions.nameOf(target);
    if (name) this.webviews.showAb({ name });
  }

  /** The monitoring report of an alert, or the latest of a model/deployment, in the drift view. */
  async showMonitorReport(target: ModelTarget | Alert): Promise<void> {
    const alert = alertOf(target);
    if (alert) {
      if (alert.reportId === null) throw new Error(`alert #${alert.id} has no monitoring report`);
      this.webviews.showDrift({ reportId: `monitor:${alert.reportId}` });
      return;
    }
    const name = this.actions.nameOf(target as ModelTarget);
    if (!name) return;
    const { reports } = await this.runtime.request(MonitorReportsRequest, { name, limit: 1 });
    const latest = reports[0];
    if (!latest) {
      void vscode.window.showInformationMessage(
        `Cairn: no monitoring report for ${name} yet: \`cairn monitor\` writes one from a deployment's logged traffic.`,
      );
      return;
    }
    this.webviews.showDrift({ reportId: `monitor:${latest.id}` });
  }

  /** The open alerts: one opens its report; several are picked from. */
  async showAlerts(): Promise<void> {
    const open = this.models.openAlerts();
    if (open.length === 0) {
      void vscode.window.showInformationMessage('Cairn: no open alert.');
      return;
    }
    const alert =
      open.length === 1
        ? open[0]
        : (
            await vscode.window.showQuickPick(
              open.map((a) => ({ label: `$(warning) ${a.name}`, description: a.kind, detail: a.message, a })),
              { title: 'Cairn: open alerts' },
            )
          )?.a;
    if (alert) await this.showMonitorReport(alert);
  }

  /** One notification per new alert, with what to do about it. */
  notifyAlert(alert: Alert): void {
    void vscode.window
      .showWarningMessage(
        `Cairn: ${alert.name}${alert.version === null ? '' : ` v${alert.version}`}: ${alert.message}`,
        'Show Drift',
        'Retrain',
      )
      .then(async (choice) => {
        try {
          if (choice === 'Show Drift') await this.showMonitorReport(alert);
          else if (choice === 'Retrain') await this.actions.retrain(alert);
        } catch (error) {
          void vscode.window.showErrorMessage(`Cairn: ${error instanceof Error ? error.message : String(error)}`);
        }
      });
  }
}
