import type { MessageConnection } from 'vscode-jsonrpc/node';
import { DriftRequest } from '@cairn/protocol';
import type { Engine } from '../executor/engine.js';
import { driftOfFiles } from '../ml/drift/files.js';
import { check, guarded } from './errors.js';

/** `runtime/drift` (protocol/src/runtime/drift.ts): the drift of one workspace data file against another. */
export function serveDriftHandlers(connection: MessageConnection, engine: Engine): void {
  connection.onRequest(
    DriftRequest.type,
    guarded((raw) => {
      const { reference, current, ...options } = check(DriftRequest.paramsSchema, raw, DriftRequest.method);
      return driftOfFiles(engine.workspace, { reference, current }, options);
    }),
  );
}
