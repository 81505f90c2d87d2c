import * as vscode from 'vscode';
import type { z } from 'zod';
import { makeNonce, parseWebviewMessage, renderWebviewHtml } from '@cairn/protocol';

/**
 * One webview panel of a Cairn view: strict CSP with a nonce, resources only from dist/webviews, nothing posted
 * before the view says `ready` (messages wait in a queue), and every message from the view checked with the view's
 * zod union — an invalid one is dropped and logged, never acted on.
 */

export interface ViewSpec<FromView extends { type: string }, Query> {
  /** Also the serializer id (`cairn.compare`). */
  viewType: string;
  /** Bundle name: dist/webviews/<bundle>.js and .css. */
  bundle: string;
  fromView: z.ZodType<FromView>;
  /** The saved state's schema; only its `query` is used to revive a panel. */
  state: z.ZodType<{ query: Query }>;
  title(query: Query): string;
}

/** What a view's controller does with a live panel. */
export interface ViewController<FromView, Query> {
  /** The view is (again) ready: load its data. Called after every (re)load of the webview. */
  onReady(query: Query): Promise<void>;
  /** A validated message other than `ready` and `error`. */
  onMessage(message: FromView): Promise<void>;
}

export class ViewPanel<ToView extends { type: string }, FromView extends { type: string }, Query>
  implements vscode.Disposable
{
  private ready = false;
  private queue: ToView[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly spec: ViewSpec<FromView, Query>,
    public query: Query,
    extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    controller: (panel: ViewPanel<ToView, FromView, Query>) => ViewController<FromView, Query>,
  ) {
    const root = vscode.Uri.joinPath(extensionUri, 'dist', 'webviews');
    panel.webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: [root] };
    panel.title = spec.title(query);
    panel.webview.html = renderWebviewHtml({
      title: spec.title(query),
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, `${spec.bundle}.js`)).toString(),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, `${spec.bundle}.css`)).toString(),
      cspSource: panel.webview.cspSource,
      nonce: makeNonce(),
    });
    const handler = controller(this);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw, handler)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /** Posts to the view, or queues until it is ready. */
  post(message: ToView): void {
    if (this.disposed) return;
    if (!this.ready) {
      this.queue.push(message);
      return;
    }
    void this.panel.webview.postMessage(message).then(
      (delivered) => {
        if (!delivered)
          this.log.warn(`${this.spec.viewType}: '${message.type}' not delivered (the view is hidden or closed)`);
      },
      (err: unknown) => this.log.error(`${this.spec.viewType}: posting '${message.type}' failed: ${String(err)}`),
    );
  }

  /** Shows a failure in the view (a banner with what to do) and in the log. */
  fail(what: string, err: unknown, hint?: string): void {
    const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    this.log.error(`${this.spec.viewType}: ${message}`);
    this.post({ type: 'error', payload: hint === undefined ? { message } : { message, hint } } as unknown as ToView);
  }

  private async receive(raw: unknown, handler: ViewController<FromView, Query>): Promise<void> {
    const parsed = parseWebviewMessage(this.spec.fromView, raw);
    if (!parsed.ok) {
      this.log.warn(`${this.spec.viewType}: dropped ${parsed.error}`);
      return;
    }
    const message = parsed.message;
    try {
      if (message.type === 'ready') {
        // A reloaded webview starts empty: it gets the queue, then fresh data.
        this.ready = true;
        const queued = this.queue;
        this.queue = [];
        for (const m of queued) this.post(m);
        await handler.onReady(this.query);
      } else if (message.type === 'error') {
        this.log.error(
          `${this.spec.viewType} view: ${JSON.stringify((message as unknown as { payload: unknown }).payload)}`,
        );
      } else {
        await handler.onMessage(message);
      }
    } catch (err) {
      this.fail(`handling '${message.type}' failed`, err);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
  }
}

/** Reads a revived panel's state; an invalid one is logged and replaced by `fallback`. */
export function revivedQuery<Query>(
  spec: ViewSpec<{ type: string }, Query>,
  state: unknown,
  fallback: Query,
  log: vscode.LogOutputChannel,
): Query {
  const parsed = spec.state.safeParse(state);
  if (parsed.success) return parsed.data.query;
  if (state !== undefined && state !== null)
    log.warn(`${spec.viewType}: saved view state ignored (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return fallback;
}
