import * as vscode from 'vscode';
import type { Alert } from '@cairn/protocol';
import { Commands } from '../commands/ids.js';
import type { RuntimeClient } from '../runtime/runtimeClient.js';
import { alertStatusText } from './modelsModel.js';
import type { ModelsService } from './modelsService.js';

/**
 * Open monitoring alerts in the status bar ("$(warning) 1 drift alert"; click: the report in the drift view) and one
 * notification per alert that opens while the editor runs (actions: Show Drift, Retrain).
 */
export class AlertsStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('cairn.alerts', vscode.StatusBarAlignment.Left, 9);
  private readonly notified = new Set<number>();
  /** Alerts from notifications not yet in a reload of the models (and closed ones, to hide them at once). */
  private readonly live = new Map<number, Alert>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    runtime: RuntimeClient,
    private readonly models: ModelsService,
    notify: (alert: Alert) => void,
  ) {
    this.item.name = 'Cairn Alerts';
    this.item.command = Commands.showAlerts;
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    this.disposables.push(
      this.item,
      runtime.onAlert((alert) => {
        this.live.set(alert.id, alert);
        if (alert.closedAt === null && !this.notified.has(alert.id)) {
          this.notified.add(alert.id);
          notify(alert);
        }
        this.update();
      }),
      models.onDidChange(() => {
        // Only a ready runtime is asked: a request would start a stopped one.
        if (!models.available) return this.update();
        void models.models().then(
          () => {
            // A reload knows every alert the runtime has: keep only the live ones it does not show yet.
            const known = new Set(models.openAlerts().map((a) => a.id));
            for (const [id, a] of this.live) if (known.has(id) || a.closedAt !== null) this.live.delete(id);
            for (const id of known) this.notified.add(id);
            this.update();
          },
          () => this.update(),
        );
      }),
    );
  }

  /** The open alerts the status bar counts. */
  open(): Alert[] {
    const byId = new Map(this.models.openAlerts().map((a) => [a.id, a]));
    for (const [id, a] of this.live) {
      if (a.closedAt === null) byId.set(id, a);
      else byId.delete(id);
    }
    return [...byId.values()].sort((a, b) => b.openedAt - a.openedAt);
  }

  /** What the item shows now (undefined: hidden). */
  get text(): string | undefined {
    return this.item.text === '' ? undefined : this.item.text;
  }

  private update(): void {
    const open = this.open();
    const text = alertStatusText(open);
    if (!text) {
      this.item.text = '';
      this.item.hide();
      return;
    }
    this.item.text = text;
    this.item.tooltip = `${open.map((a) => `${a.name}: ${a.message}`).join('\n')}\nClick to open the drift report.`;
    this.item.show();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
