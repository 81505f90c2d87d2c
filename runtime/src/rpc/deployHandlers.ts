import * as os from 'node:os';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import {
  AbResultsRequest,
  AlertNotification,
  BusinessAbRequest,
  CheckGatesRequest,
  DeployRequest,
  ModelStatusRequest,
  ModelsChangedNotification,
  MonitorReportsRequest,
  PromoteModelRequest,
  StopDeploymentRequest,
} from '@cairn/protocol';
import { businessAb } from '../ab/business.js';
import { listDeployments, stopDeployment } from '../deploy/status.js';
import { watchStore } from '../deploy/storeWatcher.js';
import { DeploymentSupervisor, type SupervisorOptions } from '../deploy/supervisor.js';
import type { Engine } from '../executor/engine.js';
import { checkGates, promote } from '../registry/gates.js';
import { ModelRegistry } from '../registry/registry.js';
import { check, guarded } from './errors.js';

export interface DeployHandlerOptions extends SupervisorOptions {
  /** How often the store is polled for alert / registry / deployment changes (default 2 s). */
  pollMs?: number;
}

function editor(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'editor';
  }
}

/**
 * The deployment and monitoring requests of protocol/src/runtime/deploy.ts, and the notifications that follow the
 * store: an alert opened or closed (AlertNotification), the registry / deployments / reports / A/B results changed
 * (ModelsChangedNotification). Changes made by other processes (a CLI `cairn monitor`, a `cairn serve`) are seen by
 * polling the store every `pollMs` (deploy/storeWatcher.ts). Deployments started here are children of the runtime and
 * stop with it (deploy/supervisor.ts).
 */
export function serveDeployHandlers(
  connection: MessageConnection,
  engine: Engine,
  options: DeployHandlerOptions = {},
): { dispose: () => void } {
  const ctx = { store: engine.store, objects: engine.objects, workspace: engine.workspace };
  const send = (fn: () => Promise<void>): void => {
    try {
      void fn().catch(() => undefined);
    } catch {
      // A closed connection: nobody to tell.
    }
  };
  const watcher = watchStore(
    engine.store,
    {
      onAlert: (a) => send(() => connection.sendNotification(AlertNotification.type, a)),
      onModelsChanged: () => send(() => connection.sendNotification(ModelsChangedNotification.type, {})),
    },
    options.pollMs ?? 2000,
  );
  const poll = watcher.poll;
  const supervisor = new DeploymentSupervisor(ctx, options, poll);
  let disposed = false;
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    watcher.dispose();
    supervisor.dispose();
  };

  connection.onRequest(
    CheckGatesRequest.type,
    guarded(async (raw) => {
      const p = check(CheckGatesRequest.paramsSchema, raw, CheckGatesRequest.method);
      return checkGates(ctx, p.name, p.version);
    }),
  );
  connection.onRequest(
    PromoteModelRequest.type,
    guarded(async (raw) => {
      const p = check(PromoteModelRequest.paramsSchema, raw, PromoteModelRequest.method);
      const result = await promote(ctx, p.name, p.version, p.alias, {
        ...(p.override === undefined ? {} : { override: p.override }),
        ...(p.reason === undefined ? {} : { reason: p.reason }),
        actor: p.actor ?? editor(),
      });
      poll();
      return result;
    }),
  );
  connection.onRequest(
    ModelStatusRequest.type,
    guarded(async (raw) => {
      const p = check(ModelStatusRequest.paramsSchema, raw, ModelStatusRequest.method);
      await new ModelRegistry(engine.store, engine.objects, engine.workspace).get(p.name);
      return {
        name: p.name,
        deployments: await listDeployments(engine.store, { name: p.name }),
        alerts: await engine.store.monitor.alerts({ name: p.name }),
        latestAb: (await engine.store.monitor.abResults({ name: p.name, limit: 1 }))[0] ?? null,
      };
    }),
  );
  connection.onRequest(
    DeployRequest.type,
    guarded((raw) => supervisor.deploy(check(DeployRequest.paramsSchema, raw, DeployRequest.method))),
  );
  connection.onRequest(
    StopDeploymentRequest.type,
    guarded(async (raw) => {
      const p = check(StopDeploymentRequest.paramsSchema, raw, StopDeploymentRequest.method);
      const d = await stopDeployment(engine.store, p.id);
      poll();
      return d;
    }),
  );
  connection.onRequest(
    MonitorReportsRequest.type,
    guarded(async (raw) => {
      const p = check(MonitorReportsRequest.paramsSchema, raw, MonitorReportsRequest.method);
      return {
        reports: await engine.store.monitor.reports({
          ...(p.name === undefined ? {} : { name: p.name }),
          ...(p.id === undefined ? {} : { id: p.id }),
          ...(p.limit === undefined ? {} : { limit: p.limit }),
        }),
      };
    }),
  );
  connection.onRequest(
    AbResultsRequest.type,
    guarded(async (raw) => {
      const p = check(AbResultsRequest.paramsSchema, raw, AbResultsRequest.method);
      return {
        results: await engine.store.monitor.abResults({
          ...(p.name === undefined ? {} : { name: p.name }),
          ...(p.id === undefined ? {} : { id: p.id }),
        }),
      };
    }),
  );

  connection.onRequest(
    BusinessAbRequest.type,
    guarded(async (raw) => {
      const { name, ...options } = check(BusinessAbRequest.paramsSchema, raw, BusinessAbRequest.method);
      return businessAb(engine.store, name, options);
    }),
  );

  connection.onClose(dispose);
  return { dispose };
}
