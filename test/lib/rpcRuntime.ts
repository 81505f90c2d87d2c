import * as assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { Engine } from '../../runtime/src/executor/engine.js';
import { serveRuntime } from '../../runtime/src/rpc/server.js';

/** The runtime's JSON-RPC server on in-memory streams, with a listening client: what the editor talks to. */
export interface InProcessRuntime {
  client: MessageConnection;
  /** Ends the streams, waits for the server to finish, disposes both ends (the engine stays the caller's). */
  close(): Promise<void>;
}

/** `onClient` registers notification handlers before the client listens (so none is missed). */
export function connectRuntime(
  engine: Engine,
  options: Parameters<typeof serveRuntime>[2] = {},
  onClient?: (client: MessageConnection) => void,
): InProcessRuntime {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const server = createMessageConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
  const client = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
  onClient?.(client);
  client.listen();
  const { closed } = serveRuntime(server, engine, options);
  return {
    client,
    async close() {
      toServer.end();
      await closed;
      client.dispose();
      server.dispose();
    },
  };
}

/** The JSON-RPC error a request failed with (its code and message); fails the test when the request succeeded. */
export async function rpcFailure(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown };
    return { code: Number(e.code), message: String(e.message) };
  }
  assert.fail('the request succeeded');
}
