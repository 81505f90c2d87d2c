import * as vscode from 'vscode';

export type ServerState = 'starting' | 'ready' | 'stopped' | 'error';

/** The language server's state in the status bar; a click opens the server log. */
export class ServerStatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private current: ServerState = 'stopped';

  constructor(showLogCommand: string) {
    this.item = vscode.window.createStatusBarItem('cairn.serverStatus', vscode.StatusBarAlignment.Left, 0);
    this.item.name = 'Cairn Language Server';
    this.item.command = showLogCommand;
    this.set('starting');
    this.item.show();
  }

  get state(): ServerState {
    return this.current;
  }

  set(state: ServerState, detail?: string): void {
    this.current = state;
    const looks: Record<ServerState, { text: string; tooltip: string; background?: vscode.ThemeColor }> = {
      starting: { text: '$(sync~spin) Cairn', tooltip: 'Cairn language server: starting' },
      ready: { text: '$(check) Cairn', tooltip: 'Cairn language server: ready' },
      stopped: {
        text: '$(debug-stop) Cairn',
        tooltip: 'Cairn language server: stopped (Cairn: Restart Language Server starts it)',
      },
      error: {
        text: '$(error) Cairn',
        tooltip: 'Cairn language server: failed',
        background: new vscode.ThemeColor('statusBarItem.errorBackground'),
      },
    };
    const look = looks[state];
    this.item.text = look.text;
    this.item.tooltip = `${look.tooltip}${detail ? ` — ${detail}` : ''}. Click to show the log.`;
    this.item.backgroundColor = look.background;
  }

  dispose(): void {
    this.item.dispose();
  }
}
