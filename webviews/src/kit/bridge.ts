import './noEval.js';
import type { z } from 'zod';
import { parseWebviewMessage } from '@cairn/protocol/webviews/common.js';

/** What VS Code gives a webview script (once: a second call throws). */
interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type ViewError = { type: 'error'; payload: { message: string; stack?: string } };

export interface ViewBridge<Out, State> {
  post(message: Out): void;
  /** The state saved before a reload, if it has the expected shape. */
  restoredState(): State | undefined;
  saveState(state: State): void;
}

/**
 * Connects a view to the extension: installs the message listener, validates every incoming message with the view's
 * schema (an invalid one is dropped and reported to the extension's log, never acted on), then says `ready`.
 */
export function connectView<In, Out extends { type: string }, State>(options: {
  incoming: z.ZodType<In>;
  state: z.ZodType<State>;
  onMessage: (message: In) => void;
}): ViewBridge<Out | ViewError, State> {
  const api = acquireVsCodeApi();
  const reportError = (message: string, stack?: string): void => {
    console.error(`[cairn] ${message}`);
    api.postMessage({
      type: 'error',
      payload:
        stack === undefined
          ? { message: message.slice(0, 4000) }
          : { message: message.slice(0, 4000), stack: stack.slice(0, 20000) },
    });
  };
  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    // Marks for bench/ui: arrival, then the view's own marks after validation and rendering.
    performance.mark('cairn:message-arrived');
    const parsed = parseWebviewMessage(options.incoming, event.data);
    if (!parsed.ok) {
      reportError(`dropped ${parsed.error}`);
      return;
    }
    performance.mark('cairn:message-validated');
    try {
      options.onMessage(parsed.message);
    } catch (err) {
      reportError(`failed to handle a message: ${String(err)}`, err instanceof Error ? err.stack : undefined);
    }
  });
  window.addEventListener('error', (e) =>
    reportError(`uncaught: ${e.message}`, e.error instanceof Error ? e.error.stack : undefined),
  );
  window.addEventListener('unhandledrejection', (e) => reportError(`unhandled rejection: ${String(e.reason)}`));
  api.postMessage({ type: 'ready', payload: {} });
  return {
    post: (message) => api.postMessage(message),
    restoredState: () => {
      const saved = options.state.safeParse(api.getState());
      return saved.success ? saved.data : undefined;
    },
    saveState: (state) => api.setState(state),
  };
}
