import { rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { format } from 'node:util';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import type { z } from 'zod';
import {
  CancelRunRequest,
  CompareRunsRequest,
  DeleteRunRequest,
  GetModelRequest,
  GetRunRequest,
  LineageRequest,
  ListModelsRequest,
  ListRunsRequest,
  MetricHistoryRequest,
  RunLogNotification,
  RunMetricNotification,
  RunPipelineRequest,
  RollbackAliasRequest,
  RunProgressNotification,
  RuntimeReadyNotification,
  SetAliasRequest,
} from '@cairn/protocol';
import { AbError } from '../ab/analysis.js';
import { DeploymentError } from '../deploy/status.js';
import { ensureBuiltinsFor } from '../executor/builtins.js';
import { Engine } from '../executor/engine.js';
import { RunRequestError } from '../executor/executor.js';
import { loadPipeline } from '../executor/loadPipeline.js';
import { lineage, LineageTargetError } from '../lineage/lineage.js';
import { AlertError } from '../monitor/alerts.js';
import { MonitorError } from '../monitor/monitor.js';
import { ModelRegistry, RegistryError } from '../registry/registry.js';
import { serveDeployHandlers, type DeployHandlerOptions } from './deployHandlers.js';
import { compareRuns, getRun, listRuns, metricHistory } from '../store/queries.js';
import { PathEscapeError } from '../util/confine.js';
import { cairnVersion } from '../util/version.js';

/** JSON-RPC error codes of the runtime (application range). */
export const RuntimeErrorCode = { InvalidParams: -32602, NotFound: -32001, Refused: -32002, Internal: -32603 } as const;

export function check<T>(schema: z.ZodType<T>, params: unknown, method: string): T {
  const parsed = schema.safeParse(params);
  if (!parsed.success) {
    throw new ResponseError(RuntimeErrorCode.InvalidParams, `${method}: invalid params: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** Known, user-fixable failures become clear JSON-RPC errors; anything else is an internal error with its message. */
function toResponseError(error: unknown): ResponseError<void> {
  if (error instanceof ResponseError) return error as ResponseError<void>;
  if (error instanceof LineageTargetError) return new ResponseError(RuntimeErrorCode.NotFound, error.message);
  if (error instanceof RunRequestError || error instanceof PathEscapeError) return new ResponseError(RuntimeErrorCode.Refused, error.message);
  if (error instanceof RegistryError || error instanceof DeploymentError || error instanceof AlertError) {
    return new ResponseError(error.kind === 'not-found' ? RuntimeErrorCode.NotFound : error.kind === 'invalid' ? RuntimeErrorCode.InvalidParams : RuntimeErrorCode.Refused, error.message);
  }
  if (error instanceof MonitorError || error instanceof AbError) return new ResponseError(RuntimeErrorCode.Refused, error.message);
  return new ResponseError(RuntimeErrorCode.Internal, error instanceof Error ? error.message : String(error));
}

export function guarded<P, R>(fn: (params: P) => R | Promise<R>): (params: P) => Promise<R | ResponseError<void>> {
  return async (params: P) => {
    try {
      return await fn(params);
    } catch (error) {
      return toResponseError(error);
    }
  };
}

/**
 * Serves one workspace over a JSON-RPC connection: requests of protocol/src/runtime/{messages,registry,deploy}.ts in, run events out as
 * notifications. Sends `runtime/ready` once the store is open; the client waits for it before its first request.
 */
export function serveRuntime(connection: MessageConnection, engine: Engine, options: DeployHandlerOptions = {}): { closed: Promise<void> } {
  engine.onEvent((event) => {
    const { type, ...params } = event;
    // A closed connection must not break the run that is still writing its results.
    try {
      if (type === 'progress') void connection.sendNotification(RunProgressNotification.type, params as RunProgressNotification.Params);
      else if (type === 'log') void connection.sendNotification(RunLogNotification.type, params as RunLogNotification.Params);
      else void connection.sendNotification(RunMetricNotification.type, params as RunMetricNotification.Params);
    } catch {
      // Disposed connection: the client is gone; the run still finishes and is recorded.
    }
  });

  connection.onRequest(
    RunPipelineRequest.type,
    guarded(async (raw) => {
      const p = check(RunPipelineRequest.paramsSchema, raw, RunPipelineRequest.method);
      const loaded = loadPipeline(p.pipeline, { cwd: engine.workspace, workspace: engine.workspace, overrides: p.params ?? {} });
      if (!loaded.ok) {
        if (loaded.message) throw new ResponseError(RuntimeErrorCode.Refused, loaded.message);
        return { runId: null, diagnostics: loaded.diagnostics };
      }
      await ensureBuiltinsFor(loaded.pipeline);
      const handle = engine.start(loaded.pipeline, {
        ...(p.step === undefined ? {} : { step: p.step }),
        downstream: p.downstream ?? false,
        force: p.force ?? false,
      });
      return { runId: handle.runId, diagnostics: loaded.warnings };
    }),
  );
  connection.onRequest(
    CancelRunRequest.type,
    guarded((raw) => ({ cancelled: engine.cancel(check(CancelRunRequest.paramsSchema, raw, CancelRunRequest.method).runId) })),
  );
  connection.onRequest(
    ListRunsRequest.type,
    guarded((raw) => listRuns(engine.store, check(ListRunsRequest.paramsSchema, raw, ListRunsRequest.method))),
  );
  connection.onRequest(
    GetRunRequest.type,
    guarded((raw) => {
      const { runId } = check(GetRunRequest.paramsSchema, raw, GetRunRequest.method);
      const run = getRun(engine.store, runId);
      if (!run) throw new ResponseError(RuntimeErrorCode.NotFound, `run ${runId} does not exist`);
      return run;
    }),
  );
  connection.onRequest(
    CompareRunsRequest.type,
    guarded((raw) => compareRuns(engine.store, check(CompareRunsRequest.paramsSchema, raw, CompareRunsRequest.method).runIds)),
  );
  connection.onRequest(
    LineageRequest.type,
    guarded((raw) => lineage(engine.store, engine.workspace, check(LineageRequest.paramsSchema, raw, LineageRequest.method).target)),
  );
  connection.onRequest(
    MetricHistoryRequest.type,
    guarded((raw) => {
      const p = check(MetricHistoryRequest.paramsSchema, raw, MetricHistoryRequest.method);
      return metricHistory(engine.store, p.runId, p.key, p.maxPoints);
    }),
  );

  connection.onRequest(
    DeleteRunRequest.type,
    guarded((raw) => {
      const { runId } = check(DeleteRunRequest.paramsSchema, raw, DeleteRunRequest.method);
      try {
        const deleted = engine.store.deleteRun(runId);
        if (deleted) rmSync(path.join(engine.workspace, '.cairn', 'logs', String(runId)), { recursive: true, force: true });
        return { deleted };
      } catch (error) {
        throw new ResponseError(RuntimeErrorCode.Refused, error instanceof Error ? error.message : String(error));
      }
    }),
  );

  // The model registry (protocol/src/runtime/registry.ts); its failures are not-found or refused, never internal.
  const registry = new ModelRegistry(engine.store, engine.objects, engine.workspace);
  const registryCall = <R>(fn: () => R): R => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof RegistryError) throw new ResponseError(error.kind === 'not-found' ? RuntimeErrorCode.NotFound : error.kind === 'invalid' ? RuntimeErrorCode.InvalidParams : RuntimeErrorCode.Refused, error.message);
      throw error;
    }
  };
  const editor = () => {
    try {
      return os.userInfo().username;
    } catch {
      return 'editor';
    }
  };
  connection.onRequest(
    ListModelsRequest.type,
    guarded((raw) => {
      check(ListModelsRequest.paramsSchema, raw ?? {}, ListModelsRequest.method);
      return { models: registryCall(() => registry.list()) };
    }),
  );
  connection.onRequest(
    GetModelRequest.type,
    guarded((raw) => registryCall(() => registry.get(check(GetModelRequest.paramsSchema, raw, GetModelRequest.method).name))),
  );
  connection.onRequest(
    SetAliasRequest.type,
    guarded((raw) => {
      const p = check(SetAliasRequest.paramsSchema, raw, SetAliasRequest.method);
      return registryCall(() => registry.setAlias(p.name, p.alias, p.version, p.actor ?? editor(), p.reason ?? null));
    }),
  );
  connection.onRequest(
    RollbackAliasRequest.type,
    guarded((raw) => {
      const p = check(RollbackAliasRequest.paramsSchema, raw, RollbackAliasRequest.method);
      return registryCall(() => registry.rollback(p.name, p.alias, p.actor ?? editor(), p.reason ?? null));
    }),
  );

  // Deployment and monitoring (protocol/src/runtime/deploy.ts): gates, promotion, deployments, reports, A/B, alerts.
  serveDeployHandlers(connection, engine, options);

  const closed = new Promise<void>((resolve) => connection.onClose(() => resolve()));
  connection.listen();
  void connection.sendNotification(RuntimeReadyNotification.type, {
    version: cairnVersion(),
    pid: process.pid,
    workspace: engine.workspace,
    parallelism: engine.parallelism,
  });
  return { closed };
}

/** `cairn runtime --stdio`: serves until stdin closes, then cancels what runs and closes the store. */
export async function runStdioServer(workspace: string): Promise<void> {
  // stdout carries the protocol only: a library printing to the console (tfjs greets there) must not corrupt it.
  for (const level of ['log', 'info', 'warn', 'debug'] as const) {
    console[level] = (...args: unknown[]) => void process.stderr.write(`${format(...args)}\n`);
  }
  // A stray error in a step's library must not take the editor's runtime (and every other run) down: log it.
  process.on('uncaughtException', (error) => process.stderr.write(`cairn runtime: uncaught error: ${error.stack ?? error.message}\n`));
  process.on('unhandledRejection', (reason) => process.stderr.write(`cairn runtime: unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`));
  const engine = new Engine(path.resolve(workspace));
  const connection = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
  const { closed } = serveRuntime(connection, engine);
  const stop = () => connection.dispose();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await closed;
  await engine.close();
}
