import * as vscode from 'vscode';
import type { RuntimeState } from './runtimeClient.js';

/** The runtime's state in the status bar; a click shows the runtime log (or, when it failed, restarts it). */
export class RuntimeStatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor(
    private readonly showLogCommand: string,
    private readonly restartCommand: string,
  ) {
    this.item = vscode.window.createStatusBarItem('cairn.runtimeStatus', vscode.StatusBarAlignment.Left, -1);
    this.item.name = 'Cairn Runtime';
    this.set('stopped');
    this.item.show();
  }

  set(state: RuntimeState, detail?: string): void {
    const looks: Record<RuntimeState, { text: string; tooltip: string; error?: boolean }> = {
      stopped: { text: '$(debug-stop) Runtime', tooltip: 'Cairn runtime: stopped' },
      starting: { text: '$(sync~spin) Runtime', tooltip: 'Cairn runtime: starting' },
      ready: { text: '$(server-process) Runtime', tooltip: 'Cairn runtime: ready' },
      restarting: { text: '$(sync~spin) Runtime', tooltip: 'Cairn runtime: restarting after a crash' },
      failed: { text: '$(error) Runtime', tooltip: 'Cairn runtime: failed (click to restart)', error: true },
      untrusted: {
        text: '$(shield) Runtime',
        tooltip:
          'Cairn runtime: off in an untrusted workspace (validation still works; trust the workspace to run pipelines)',
      },
      noFolder: { text: '$(debug-stop) Runtime', tooltip: 'Cairn runtime: open a folder to run pipelines' },
    };
    const look = looks[state];
    this.item.text = look.text;
    this.item.tooltip = `${look.tooltip}${detail ? ` — ${detail}` : ''}`;
    this.item.command = state === 'failed' ? this.restartCommand : this.showLogCommand;
    this.item.backgroundColor = look.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
