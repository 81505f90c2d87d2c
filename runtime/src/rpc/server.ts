import { rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { format } from 'node:util';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import {
  CancelRunRequest,
  CompareRunsRequest,
  DeleteRunRequest,
  GetModelRequest,
  GetRunRequest,
  LineageRequest,
  ListModelsRequest,
  ListRunsRequest,
  ListSweepsRequest,
  RunPageRequest,
  MetricHistoryRequest,
  RunLogNotification,
  RunMetricNotification,
  RunPipelineRequest,
  RollbackAliasRequest,
  RunProgressNotification,
  RuntimeReadyNotification,
  SetAliasRequest,
} from '@cairn/protocol';
import { ensureBuiltinsFor } from '../executor/builtins.js';
import { workspaceSettings } from '../config/workspace.js';
import { Engine } from '../executor/engine.js';
import { loadPipeline } from '../executor/loadPipeline.js';
import { lineage } from '../lineage/lineage.js';
import { ModelRegistry } from '../registry/registry.js';
import { CairnError } from '../util/errors.js';
import { cairnVersion } from '../util/version.js';
import { runUser } from '../util/git.js';
import { serveDeployHandlers, type DeployHandlerOptions } from './deployHandlers.js';
import { serveDriftHandlers } from './driftHandlers.js';
import { serveExplainHandlers } from './explainHandlers.js';
import { check, guarded } from './errors.js';
import { RawJson, splicingJsonEncoder } from './rawJson.js';
import { watchOtherRuns } from './runWatcher.js';

/**
 * Serves one workspace over a JSON-RPC connection: requests of protocol/src/runtime/{messages,registry,deploy}.ts in, run events out as
 * notifications. Sends `runtime/ready` once the store is open; the client waits for it before its first request.
 */
export function serveRuntime(
  connection: MessageConnection,
  engine: Engine,
  options: DeployHandlerOptions & { runWatch?: Parameters<typeof watchOtherRuns>[2] } = {},
): { closed: Promise<void> } {
  engine.onEvent((event) => {
    const { type, ...params } = event;
    // A closed connection must not break the run that is still writing its results.
    try {
      if (type === 'progress')
        void connection.sendNotification(RunProgressNotification.type, params as RunProgressNotification.Params);
      else if (type === 'log')
        void connection.sendNotification(RunLogNotification.type, params as RunLogNotification.Params);
      else void connection.sendNotification(RunMetricNotification.type, params as RunMetricNotification.Params);
    } catch {
      // Disposed connection: the client is gone; the run still finishes and is recorded.
    }
  });

  connection.onRequest(
    RunPipelineRequest.type,
    guarded(async (raw) => {
      const p = check(RunPipelineRequest.paramsSchema, raw, RunPipelineRequest.method);
      const loaded = loadPipeline(p.pipeline, {
        cwd: engine.workspace,
        workspace: engine.workspace,
        overrides: p.params ?? {},
      });
      if (!loaded.ok) {
        if (loaded.message) throw new CairnError('refused', loaded.message);
        return { runId: null, diagnostics: loaded.diagnostics };
      }
      await ensureBuiltinsFor(loaded.pipeline);
      const handle = await engine.start(loaded.pipeline, {
        ...(p.step === undefined ? {} : { step: p.step }),
        downstream: p.downstream ?? false,
        force: p.force ?? false,
      });
      return { runId: handle.runId, diagnostics: loaded.warnings };
    }),
  );
  connection.onRequest(
    CancelRunRequest.type,
    guarded((raw) => ({
      cancelled: engine.cancel(check(CancelRunRequest.paramsSchema, raw, CancelRunRequest.method).runId),
    })),
  );
  connection.onRequest(
    ListRunsRequest.type,
    guarded((raw) => engine.store.runs.list(check(ListRunsRequest.paramsSchema, raw, ListRunsRequest.method))),
  );
  // By method name: the handler answers RawJson (the store's spliced text), which the protocol's Result type is not.
  connection.onRequest(
    ListSweepsRequest.type,
    guarded(async (raw) => {
      const { limit } = check(ListSweepsRequest.paramsSchema, raw, ListSweepsRequest.method);
      return { sweeps: await engine.store.sweeps.list(limit) };
    }),
  );
  connection.onRequest(
    RunPageRequest.method,
    guarded(async (raw: unknown) => {
      const query = check(RunPageRequest.paramsSchema, raw, RunPageRequest.method);
      return new RawJson(await engine.store.runs.pageJson(query));
    }),
  );
  connection.onRequest(
    GetRunRequest.type,
    guarded(async (raw) => {
      const { runId } = check(GetRunRequest.paramsSchema, raw, GetRunRequest.method);
      const run = await engine.store.runs.detail(runId);
      if (!run) throw new CairnError('not-found', `run ${runId} does not exist`);
      return run;
    }),
  );
  connection.onRequest(
    CompareRunsRequest.type,
    guarded((raw) =>
      engine.store.runs.compare(check(CompareRunsRequest.paramsSchema, raw, CompareRunsRequest.method).runIds),
    ),
  );
  connection.onRequest(
    LineageRequest.type,
    guarded((raw) =>
      lineage(engine.store, engine.workspace, check(LineageRequest.paramsSchema, raw, LineageRequest.method).target),
    ),
  );
  connection.onRequest(
    MetricHistoryRequest.type,
    guarded((raw) => {
      const p = check(MetricHistoryRequest.paramsSchema, raw, MetricHistoryRequest.method);
      return engine.store.metrics.history(p.runId, p.key, p.maxPoints);
    }),
  );

  connection.onRequest(
    DeleteRunRequest.type,
    guarded(async (raw) => {
      const { runId } = check(DeleteRunRequest.paramsSchema, raw, DeleteRunRequest.method);
      try {
        const deleted = await engine.store.runs.deleteRun(runId);
        if (deleted)
          rmSync(path.join(engine.workspace, '.cairn', 'logs', String(runId)), { recursive: true, force: true });
        return { deleted };
      } catch (error) {
        throw new CairnError('refused', error instanceof Error ? error.message : String(error));
      }
    }),
  );

  // The model registry (protocol/src/runtime/registry.ts); its failures are RegistryErrors: not-found, invalid or refused.
  const registry = new ModelRegistry(engine.store, engine.objects, engine.workspace);
  const editor = () => {
    try {
      return os.userInfo().username;
    } catch {
      return 'editor';
    }
  };
  connection.onRequest(
    ListModelsRequest.type,
    guarded(async (raw) => {
      check(ListModelsRequest.paramsSchema, raw ?? {}, ListModelsRequest.method);
      return { models: await registry.list() };
    }),
  );
  connection.onRequest(
    GetModelRequest.type,
    guarded((raw) => registry.get(check(GetModelRequest.paramsSchema, raw, GetModelRequest.method).name)),
  );
  connection.onRequest(
    SetAliasRequest.type,
    guarded((raw) => {
      const p = check(SetAliasRequest.paramsSchema, raw, SetAliasRequest.method);
      return registry.setAlias(p.name, p.alias, p.version, p.actor ?? editor(), p.reason ?? null);
    }),
  );
  connection.onRequest(
    RollbackAliasRequest.type,
    guarded((raw) => {
      const p = check(RollbackAliasRequest.paramsSchema, raw, RollbackAliasRequest.method);
      return registry.rollback(p.name, p.alias, p.actor ?? editor(), p.reason ?? null);
    }),
  );

  // Deployment and monitoring (protocol/src/runtime/deploy.ts): gates, promotion, deployments, reports, A/B, alerts.
  serveDeployHandlers(connection, engine, options);
  // Drift between two tables (protocol/src/runtime/drift.ts): the editor's "Show Drift".
  serveDriftHandlers(connection, engine);
  // A run's explanations (protocol/src/runtime/explain.ts): the explanation view.
  serveExplainHandlers(connection, engine);

  // Runs that other processes start in this store (a teammate, the CLI, CI) arrive as the same notifications, live.
  const others = watchOtherRuns(
    engine.store,
    (p) => {
      try {
        void connection.sendNotification(RunProgressNotification.type, p);
      } catch {
        // Disposed connection: nobody to tell.
      }
    },
    options.runWatch ?? {},
  );
  const closed = new Promise<void>((resolve) => connection.onClose(() => void others.dispose().finally(resolve)));
  connection.listen();
  // Ready once the store is open (a PostgreSQL store connects and migrates first) and the watch of others' runs is on
  // (its failure is said, and the rest works); a store that cannot open is said.
  const watching = others.ready.catch((error: unknown) =>
    process.stderr.write(
      `cairn runtime: runs of other processes will show on a refresh only: ${error instanceof Error ? error.message : String(error)}\n`,
    ),
  );
  void engine.store.ready.then(
    async () => {
      await watching;
      await connection.sendNotification(RuntimeReadyNotification.type, {
        version: cairnVersion(),
        pid: process.pid,
        workspace: engine.workspace,
        parallelism: engine.parallelism,
        user: runUser(engine.workspace).user,
      });
    },
    (error: unknown) =>
      process.stderr.write(
        `cairn runtime: the store cannot be opened: ${error instanceof Error ? error.message : String(error)}\n`,
      ),
  );
  return { closed };
}

/** `cairn runtime --stdio`: serves until stdin closes, then cancels what runs and closes the store. */
export async function runStdioServer(workspace: string): Promise<void> {
  // stdout carries the protocol only: a library printing to the console (tfjs greets there) must not corrupt it.
  for (const level of ['log', 'info', 'warn', 'debug'] as const) {
    console[level] = (...args: unknown[]) => void process.stderr.write(`${format(...args)}\n`);
  }
  // A stray error in a step's library must not take the editor's runtime (and every other run) down: log it.
  process.on('uncaughtException', (error) =>
    process.stderr.write(`cairn runtime: uncaught error: ${error.stack ?? error.message}\n`),
  );
  process.on('unhandledRejection', (reason) =>
    process.stderr.write(
      `cairn runtime: unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`,
    ),
  );
  // The store the workspace names: CAIRN_STORE_URL (the editor passes its setting so), .cairn/config.yaml, default.
  const engine = await Engine.open(workspaceSettings(path.resolve(workspace)));
  const connection = createMessageConnection(
    new StreamMessageReader(process.stdin),
    new StreamMessageWriter(process.stdout, { contentTypeEncoder: splicingJsonEncoder }),
  );
  const { closed } = serveRuntime(connection, engine);
  const stop = () => connection.dispose();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await closed;
  await engine.close();
}
