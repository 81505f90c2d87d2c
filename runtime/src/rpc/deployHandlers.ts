import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import { createInterface } from 'node:readline';
import { ResponseError, type MessageConnection } from 'vscode-jsonrpc/node';
import {
  AbResultsRequest,
  AlertNotification,
  CheckGatesRequest,
  DeployRequest,
  ModelStatusRequest,
  ModelsChangedNotification,
  MonitorReportsRequest,
  PromoteModelRequest,
  serveStartedSchema,
  StopDeploymentRequest,
} from '@cairn/protocol';
import { listAbResults } from '../ab/analysis.js';
import { pipelineServeSettings } from '../cli/commands/serve.js';
import { getDeployment, listDeployments, markDeadDeployments, stopDeployment } from '../deploy/status.js';
import type { Engine } from '../executor/engine.js';
import { getAlert, listAlerts, listReports } from '../monitor/alerts.js';
import { checkGates, promote } from '../registry/gates.js';
import { ModelRegistry } from '../registry/registry.js';
import { check, guarded, RuntimeErrorCode } from './server.js';

export interface DeployHandlerOptions {
  /** How to start `cairn`: the node arguments before the sub-command (default: this process's own entry script). */
  cliEntry?: string[];
  /** The environment of started deployments (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** How often the store is polled for alert / registry / deployment changes (default 2 s). */
  pollMs?: number;
  /** How long a deployment may take to print its listening line (default 60 s: a model may load slowly). */
  startTimeoutMs?: number;
}

function editor(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'editor';
  }
}

/** Waits for `cairn serve --format json`'s first stdout line (listening, or an error) and the exit of a failed start. */
function listening(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<{ token: string | null; deploymentId: number | null }> {
  return new Promise((resolve, reject) => {
    if (!child.stdout) {
      reject(new Error('cairn serve was started without a stdout pipe'));
      return;
    }
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => finish(new Error(`cairn serve did not start listening within ${timeoutMs / 1000} s${stderr() ? `: ${stderr().trim().split('\n').slice(-3).join(' ')}` : ''}`)), timeoutMs);
    const finish = (error: Error | null, token: string | null = null, deploymentId: number | null = null) => {
      clearTimeout(timer);
      lines.close();
      // Keep draining: a full pipe would block the server on its next write.
      child.stdout?.resume();
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve({ token, deploymentId });
    };
    const onExit = (code: number | null) => finish(new Error(`cairn serve exited (code ${code ?? 'none'}) before listening${stderr() ? `: ${stderr().trim().split('\n').slice(-3).join(' ')}` : ''}`));
    child.once('exit', onExit);
    lines.once('line', (line) => {
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        finish(new Error(`cairn serve printed an unexpected line: ${line.slice(0, 200)}`));
        return;
      }
      const started = serveStartedSchema.safeParse(json);
      if (started.success) finish(null, started.data.token, started.data.deploymentId ?? null);
      else finish(new Error(typeof json === 'object' && json !== null && 'error' in json ? String(json.error) : `cairn serve printed an unexpected line: ${line.slice(0, 200)}`));
    });
  });
}

/**
 * The deployment and monitoring requests of protocol/src/runtime/deploy.ts, and the notifications that follow the
 * store: an alert opened or closed (AlertNotification), the registry / deployments / reports / A/B results changed
 * (ModelsChangedNotification). Changes made by other processes (a CLI `cairn monitor`, a `cairn serve`) are seen by
 * polling a few max(id)s every `pollMs`. Deployments started here are children of the runtime and stop with it.
 */
export function serveDeployHandlers(connection: MessageConnection, engine: Engine, options: DeployHandlerOptions = {}): { dispose: () => void } {
  const ctx = { store: engine.store, objects: engine.objects, workspace: engine.workspace };
  const children = new Set<ChildProcess>();

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
      const result = await promote(ctx, p.name, p.version, p.alias, { ...(p.override === undefined ? {} : { override: p.override }), ...(p.reason === undefined ? {} : { reason: p.reason }), actor: p.actor ?? editor() });
      poll();
      return result;
    }),
  );
  connection.onRequest(
    ModelStatusRequest.type,
    guarded((raw) => {
      const p = check(ModelStatusRequest.paramsSchema, raw, ModelStatusRequest.method);
      new ModelRegistry(engine.store, engine.objects, engine.workspace).get(p.name);
      return {
        name: p.name,
        deployments: listDeployments(engine.store, { name: p.name }),
        alerts: listAlerts(engine.store, { name: p.name }),
        latestAb: listAbResults(engine.store, { name: p.name, limit: 1 })[0] ?? null,
      };
    }),
  );
  connection.onRequest(
    DeployRequest.type,
    guarded(async (raw) => {
      const p = check(DeployRequest.paramsSchema, raw, DeployRequest.method);
      const name = p.model.split('@')[0] ?? p.model;
      const registry = new ModelRegistry(engine.store, engine.objects, engine.workspace);
      registry.find(p.model);
      let model = p.model;
      let challenger = p.challenger;
      const extra: string[] = [];
      // The pipeline's deploy: block is checked here too, so a bad one is refused (with its file:line) before a spawn;
      // its port is used when the request gives none, else a free port rather than the CLI's 8080.
      let port = p.port;
      if (p.pipeline !== undefined) {
        const loaded = pipelineServeSettings(p.pipeline, { cwd: engine.workspace, workspace: engine.workspace });
        if (!loaded.ok) throw new ResponseError(RuntimeErrorCode.Refused, `deploying ${p.model} with the settings of ${p.pipeline}: ${loaded.text}`);
        extra.push('--pipeline', p.pipeline);
        if (port === undefined && loaded.settings.port === undefined) port = 0;
        // A deploy.ab block deploys its A/B test: NAME@<champion alias> against NAME@<challenger alias>, once both
        // aliases point at versions (before that, the model asked for is served alone, as without ab:).
        const ab = loaded.settings.ab;
        if (ab && challenger === undefined) {
          const arms = [`${name}@${ab.champion}`, `${name}@${ab.challenger}`] as const;
          const exists = (ref: string): boolean => {
            try {
              registry.find(ref);
              return true;
            } catch {
              return false;
            }
          };
          if (exists(arms[0]) && exists(arms[1])) [model, challenger] = arms;
        }
      }
      const args = [...(options.cliEntry ?? [process.argv[1] ?? 'cairn']), 'serve', '--model', model, '--workspace', engine.workspace, '--format', 'json', ...extra];
      if (p.pipeline === undefined || port !== undefined) args.push('--port', String(port ?? 0));
      if (challenger !== undefined) args.push('--challenger', challenger);
      if (p.split !== undefined) args.push('--split', String(p.split));
      if (p.key !== undefined) args.push('--key', p.key);
      const child = spawn(process.execPath, args, { cwd: engine.workspace, stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
      let err = '';
      child.stderr?.on('data', (d: Buffer) => {
        err = (err + d.toString()).slice(-4000);
      });
      children.add(child);
      child.once('exit', () => {
        children.delete(child);
        poll();
      });
      let token: string | null;
      let deploymentId: number | null;
      try {
        ({ token, deploymentId } = await listening(child, options.startTimeoutMs ?? 60_000, () => err));
      } catch (error) {
        child.kill('SIGTERM');
        throw new ResponseError(RuntimeErrorCode.Refused, `deploying ${model}: ${error instanceof Error ? error.message : String(error)}`);
      }
      // cairn serve records its deployment row before it prints the listening line (which names it).
      const row = deploymentId !== null ? { id: deploymentId } : engine.store.db.prepare<[number, string], { id: number }>('SELECT id FROM deployments WHERE pid = ? AND name = ? ORDER BY id DESC LIMIT 1').get(child.pid ?? -1, name);
      if (!row) {
        child.kill('SIGTERM');
        throw new ResponseError(RuntimeErrorCode.Internal, `cairn serve (pid ${child.pid ?? '?'}) listens but recorded no deployment row for ${name}`);
      }
      poll();
      return { deployment: getDeployment(engine.store, row.id), token };
    }),
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
    guarded((raw) => {
      const p = check(MonitorReportsRequest.paramsSchema, raw, MonitorReportsRequest.method);
      return { reports: listReports(engine.store, { ...(p.name === undefined ? {} : { name: p.name }), ...(p.id === undefined ? {} : { id: p.id }), ...(p.limit === undefined ? {} : { limit: p.limit }) }) };
    }),
  );
  connection.onRequest(
    AbResultsRequest.type,
    guarded((raw) => {
      const p = check(AbResultsRequest.paramsSchema, raw, AbResultsRequest.method);
      return { results: listAbResults(engine.store, { ...(p.name === undefined ? {} : { name: p.name }), ...(p.id === undefined ? {} : { id: p.id }) }) };
    }),
  );

  // ---- notifications: what changed since the last look
  const db = engine.store.db;
  const lastAlert = db.prepare<[], { id: number | null; closed: number | null }>('SELECT max(id) AS id, max(closed_at) AS closed FROM alerts');
  const newAlerts = db.prepare<[number], { id: number }>('SELECT id FROM alerts WHERE id > ? ORDER BY id');
  const newlyClosed = db.prepare<[number], { id: number }>('SELECT id FROM alerts WHERE closed_at > ? ORDER BY id');
  const signature = db.prepare<[], { s: string }>(
    `SELECT (SELECT coalesce(max(id), 0) FROM model_alias_history) || ':' || (SELECT count(*) FROM model_versions) || ':' ||
            (SELECT coalesce(max(id), 0) || '/' || coalesce(sum(status = 'serving'), 0) FROM deployments) || ':' || (SELECT coalesce(max(id), 0) FROM monitor_reports) || ':' ||
            (SELECT coalesce(max(id), 0) FROM ab_results) AS s`,
  );
  const start = lastAlert.get();
  let alertId = start?.id ?? 0;
  let closedAt = start?.closed ?? 0;
  let seen = signature.get()?.s ?? '';
  let disposed = false;
  const send = (fn: () => Promise<void>) => {
    try {
      void fn().catch(() => undefined);
    } catch {
      // A closed connection: nobody to tell.
    }
  };
  function poll(): void {
    if (disposed) return;
    try {
      markDeadDeployments(engine.store);
      for (const { id } of newAlerts.all(alertId)) {
        const a = getAlert(engine.store, id);
        alertId = Math.max(alertId, id);
        if (a) send(() => connection.sendNotification(AlertNotification.type, a));
      }
      for (const { id } of newlyClosed.all(closedAt)) {
        const a = getAlert(engine.store, id);
        if (a?.closedAt != null) {
          closedAt = Math.max(closedAt, a.closedAt);
          send(() => connection.sendNotification(AlertNotification.type, a));
        }
      }
      const now = signature.get()?.s ?? '';
      if (now !== seen) {
        seen = now;
        send(() => connection.sendNotification(ModelsChangedNotification.type, {}));
      }
    } catch (error) {
      // The store closing under a last poll is not worth a crash; anything else is reported once per poll.
      if (!disposed) process.stderr.write(`cairn runtime: watching alerts and models: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  const timer = setInterval(poll, options.pollMs ?? 2000);
  timer.unref();
  const killChildren = () => {
    for (const c of children) c.kill('SIGTERM');
  };
  process.once('exit', killChildren);
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    clearInterval(timer);
    killChildren();
    process.off('exit', killChildren);
  };
  connection.onClose(dispose);
  return { dispose };
}
