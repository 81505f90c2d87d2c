import type { MessageConnection } from 'vscode-jsonrpc/node';
import { RunExplanationsRequest } from '@cairn/protocol';
import type { Engine } from '../executor/engine.js';
import { explanationsOfRun } from '../ml/explain/ofRun.js';
import { check, guarded } from './errors.js';

/** `runtime/explanations` (protocol/src/runtime/explain.ts): a run's recorded explanations, for the explanation view. */
export function serveExplainHandlers(connection: MessageConnection, engine: Engine): void {
  connection.onRequest(
    RunExplanationsRequest.type,
    guarded((raw) => {
      const p = check(RunExplanationsRequest.paramsSchema, raw, RunExplanationsRequest.method);
      return explanationsOfRun(engine, p.runId, p.step);
    }),
  );
}
