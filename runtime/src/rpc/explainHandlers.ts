import type { MessageConnection } from 'vscode-jsonrpc/node';
import { ExplainServedRequest, RunExplanationsRequest, ServedPredictionsRequest } from '@cairn/protocol';
import type { Engine } from '../executor/engine.js';
import { explanationsOfRun } from '../ml/explain/ofRun.js';
import { explainServed, servedPredictions } from '../ml/explain/ofServed.js';
import { check, guarded } from './errors.js';

/**
 * `runtime/explanations`, `runtime/servedPredictions` and `runtime/explainServed` (protocol/src/runtime/explain.ts): a
 * run's recorded explanations, and one logged prediction's, for the explanation view.
 */
export function serveExplainHandlers(connection: MessageConnection, engine: Engine): void {
  connection.onRequest(
    RunExplanationsRequest.type,
    guarded((raw) => {
      const p = check(RunExplanationsRequest.paramsSchema, raw, RunExplanationsRequest.method);
      return explanationsOfRun(engine, p.runId, p.step);
    }),
  );
  connection.onRequest(
    ServedPredictionsRequest.type,
    guarded((raw) =>
      servedPredictions(engine, check(ServedPredictionsRequest.paramsSchema, raw, ServedPredictionsRequest.method)),
    ),
  );
  connection.onRequest(
    ExplainServedRequest.type,
    guarded((raw) => explainServed(engine, check(ExplainServedRequest.paramsSchema, raw, ExplainServedRequest.method))),
  );
}
