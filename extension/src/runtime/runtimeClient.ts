import { spawn, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
  type RequestType,
} from 'vscode-jsonrpc/node';
import type { z } from 'zod';
import {
  AlertNotification,
  ModelsChangedNotification,
  RunLogNotification,
  RunMetricNotification,
  RunProgressNotification,
  RuntimeReadyNotification,
} from '@cairn/protocol';
import { progressLogLine } from '../views/format.js';
import { RestartPolicy } from './backoff.js';
import { resolveNodePath } from './nodePath.js';
import type { RuntimeStatusItem } from './runtimeStatus.js';

import { runtimeEnv, storePasswordKey } from './storeEnv.js';
/** One runtime message namespace as protocol/src/runtime/messages.ts declares it. */
export interface RuntimeRequestType<P, R> {
  readonly method: string;
  readonly type: RequestType<P, R, void>;
  readonly resultSchema: z.ZodType<R>;
}

export type RuntimeState = 'stopped' | 'starting' | 'ready' | 'restarting' | 'failed' | 'untrusted' | 'noFolder';

/** How long the runtime may take between spawn and `runtime/ready` (opening and migrating the store). */
const readyTimeoutMs = 30_000;

export class RuntimeUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeUnavailableError';
  }
}

/** The `cairn.store.url` setting ('' when unset). */
export function storeUrlSetting(): string {
  return vscode.workspace.getConfiguration('cairn.store').get<string>('url') ?? '';
}

/**
 * Owns the `cairn runtime --stdio` child process: spawn, ready handshake, typed and zod-checked messages, restart with
 * backoff on crash. Two lifetimes: this object lives with the extension; each process (and its connection) lives until
 * it exits. Nothing is sent before `runtime/ready` arrives; every message that arrives is checked with the protocol's
 * schema and dropped (and logged) when it does not match.
 */
export class RuntimeClient implements vscode.Disposable {
  private child: ChildProcess | undefined;
  private connection: MessageConnection | undefined;
  private ready: Promise<RuntimeReadyNotification.Params> | undefined;
  private readyInfo: RuntimeReadyNotification.Params | undefined;
  private state: RuntimeState = 'stopped';
  private disposed = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private lastStderr: string[] = [];
  private readonly policy = new RestartPolicy();
  private readonly shownErrors = new Set<string>();
  /** The configured store's password (SecretStorage), read before each start; only ever put in the child's env. */
  private storePassword: string | undefined;

  private readonly stateEmitter = new vscode.EventEmitter<RuntimeState>();
  private readonly progressEmitter = new vscode.EventEmitter<RunProgressNotification.Params>();
  private readonly logEmitter = new vscode.EventEmitter<RunLogNotification.Params>();
  private readonly metricEmitter = new vscode.EventEmitter<RunMetricNotification.Params>();
  private readonly readyEmitter = new vscode.EventEmitter<RuntimeReadyNotification.Params>();
  private readonly alertEmitter = new vscode.EventEmitter<AlertNotification.Params>();
  private readonly modelsEmitter = new vscode.EventEmitter<ModelsChangedNotification.Params>();
  readonly onDidChangeState = this.stateEmitter.event;
  readonly onProgress = this.progressEmitter.event;
  readonly onLog = this.logEmitter.event;
  readonly onMetric = this.metricEmitter.event;
  /** Fires after every (re)start once the runtime is ready: views reload what they show. */
  readonly onReady = this.readyEmitter.event;
  /** An alert opened or closed (monitoring). */
  readonly onAlert = this.alertEmitter.event;
  /** The registry, a deployment, a monitoring report or an A/B result changed. */
  readonly onModelsChanged = this.modelsEmitter.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly status: RuntimeStatusItem,
  ) {}

  get currentState(): RuntimeState {
    return this.state;
  }

  get info(): RuntimeReadyNotification.Params | undefined {
    return this.readyInfo;
  }

  /** The workspace the runtime serves: the first folder (a multi-root workspace runs pipelines of its first folder). */
  static workspaceFolder(): vscode.WorkspaceFolder | undefined {
    return vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
  }

  /** Starts the runtime unless the workspace is untrusted or has no folder; resolves once it is ready (or failed). */
  async start(): Promise<void> {
    if (this.disposed) return;
    if (!vscode.workspace.isTrusted) return this.setState('untrusted');
    const folder = RuntimeClient.workspaceFolder();
    if (!folder) return this.setState('noFolder');
    if (this.child)
      return this.ready?.then(
        () => undefined,
        () => undefined,
      );
    const url = storeUrlSetting();
    this.storePassword = url === '' ? undefined : await this.context.secrets.get(storePasswordKey(url));
    if (this.child)
      return this.ready?.then(
        () => undefined,
        () => undefined,
      );
    this.spawnRuntime(folder.uri.fsPath);
    try {
      await this.ready;
    } catch {
      // Reported by the exit handler (restart or a message shown once).
    }
  }

  /** A user-asked restart: forget past crashes and start a fresh process. */
  async restart(): Promise<void> {
    this.policy.reset();
    this.shownErrors.clear();
    clearTimeout(this.restartTimer);
    this.stopProcess();
    await this.start();
  }

  /** Resolves when the runtime is ready; rejects with what to do when it cannot be. */
  async whenReady(): Promise<RuntimeReadyNotification.Params> {
    if (!vscode.workspace.isTrusted) {
      throw new RuntimeUnavailableError(
        'The Cairn runtime does not start in an untrusted workspace: trust the workspace to run pipelines and see runs.',
      );
    }
    if (!RuntimeClient.workspaceFolder())
      throw new RuntimeUnavailableError(
        'Open a folder with a Cairn pipeline: the runtime serves the first workspace folder.',
      );
    if (!this.child && this.state !== 'restarting') await this.start();
    if (this.state === 'failed')
      throw new RuntimeUnavailableError(
        'The Cairn runtime failed to start: see "Cairn: Show Runtime Log", fix the cause, then "Cairn: Restart Runtime".',
      );
    if (this.state === 'restarting' || this.state === 'starting') {
      await new Promise<void>((resolve) => {
        const sub = this.onDidChangeState((s) => {
          if (s !== 'ready' && s !== 'failed' && s !== 'stopped') return;
          sub.dispose();
          resolve();
        });
      });
      if (this.currentState !== 'ready')
        throw new RuntimeUnavailableError(
          'The Cairn runtime failed to start: see "Cairn: Show Runtime Log", fix the cause, then "Cairn: Restart Runtime".',
        );
    }
    if (!this.ready) throw new RuntimeUnavailableError('The Cairn runtime is not running.');
    return this.ready;
  }

  /** Sends one request and checks the result with the protocol's schema. */
  async request<P, R>(message: RuntimeRequestType<P, R>, params: P, token?: vscode.CancellationToken): Promise<R> {
    await this.whenReady();
    const connection = this.connection;
    if (!connection) throw new RuntimeUnavailableError('The Cairn runtime stopped before the request could be sent.');
    // By method name: the result is checked with the schema below rather than trusted by its static type.
    const raw: unknown = token
      ? await connection.sendRequest(message.method, params, token)
      : await connection.sendRequest(message.method, params);
    const parsed = message.resultSchema.safeParse(raw);
    if (!parsed.success) {
      const detail = parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || 'result'}: ${i.message}`)
        .join('; ');
      this.log.error(`runtime: ${message.method} answered with an invalid result (${detail}); dropped.`);
      throw new Error(
        `The Cairn runtime answered ${message.method} with an invalid result (${detail}). Is the runtime the same version as the extension?`,
      );
    }
    return parsed.data;
  }

  /** Shows an error once per distinct message, with a button to the log. */
  showErrorOnce(message: string): void {
    if (this.shownErrors.has(message)) return;
    this.shownErrors.add(message);
    void vscode.window.showErrorMessage(message, 'Show Runtime Log').then((choice) => {
      if (choice) this.log.show(true);
    });
  }

  private setState(state: RuntimeState, detail?: string): void {
    this.state = state;
    this.status.set(state, detail);
    // Menus show run-record actions only while the runtime can answer them.
    void vscode.commands.executeCommand('setContext', 'cairn.runtimeReady', state === 'ready');
    this.stateEmitter.fire(state);
  }

  private spawnRuntime(workspace: string): void {
    const configured = vscode.workspace.getConfiguration('cairn.runtime').get<string>('nodePath');
    const node = resolveNodePath(configured, process);
    // bin/cairn.js loads the bundled CLI (dist/cli.js) and runs it; the bundle alone only exports its entry.
    const cli = this.context.asAbsolutePath('bin/cairn.js');
    const args = [cli, 'runtime', '--stdio', '--workspace', workspace];
    this.log.info(`Starting the runtime: ${node} ${args.join(' ')}`);
    this.setState(this.state === 'restarting' ? 'restarting' : 'starting');
    this.lastStderr = [];
    const child = spawn(node, args, {
      cwd: workspace,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: runtimeEnv(process.env, workspace, storeUrlSetting(), this.storePassword),
      windowsHide: true,
    });
    this.child = child;
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    this.connection = connection;

    let resolveReady!: (p: RuntimeReadyNotification.Params) => void;
    let rejectReady!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    // Nobody may be awaiting `ready` when it fails; the exit handler reports the failure.
    this.ready.catch(() => undefined);
    const readyTimer = setTimeout(() => {
      rejectReady(new Error(`no runtime/ready within ${readyTimeoutMs / 1000} s`));
      this.log.error(`The runtime did not report ready within ${readyTimeoutMs / 1000} s; stopping it.`);
      child.kill();
    }, readyTimeoutMs);

    connection.onNotification(RuntimeReadyNotification.method, (raw: unknown) => {
      const p = RuntimeReadyNotification.paramsSchema.safeParse(raw);
      if (!p.success) return this.dropInvalid(RuntimeReadyNotification.method, p.error);
      clearTimeout(readyTimer);
      this.readyInfo = p.data;
      this.log.info(
        `Runtime ${p.data.version} ready (pid ${p.data.pid}, workspace ${p.data.workspace}, ${p.data.parallelism} parallel steps).`,
      );
      this.setState('ready', `pid ${p.data.pid}`);
      resolveReady(p.data);
      this.readyEmitter.fire(p.data);
    });
    connection.onNotification(RunProgressNotification.method, (raw: unknown) => {
      const p = RunProgressNotification.paramsSchema.safeParse(raw);
      if (!p.success) return this.dropInvalid(RunProgressNotification.method, p.error);
      this.log.info(progressLogLine(p.data));
      this.progressEmitter.fire(p.data);
    });
    connection.onNotification(RunLogNotification.method, (raw: unknown) => {
      const p = RunLogNotification.paramsSchema.safeParse(raw);
      if (!p.success) return this.dropInvalid(RunLogNotification.method, p.error);
      this.log.info(
        `[run ${p.data.runId} ${p.data.step}${p.data.stream === 'stderr' ? ' stderr' : ''}] ${p.data.line}`,
      );
      this.logEmitter.fire(p.data);
    });
    connection.onNotification(RunMetricNotification.method, (raw: unknown) => {
      const p = RunMetricNotification.paramsSchema.safeParse(raw);
      if (!p.success) return this.dropInvalid(RunMetricNotification.method, p.error);
      this.metricEmitter.fire(p.data);
    });
    connection.onNotification(AlertNotification.method, (raw: unknown) => {
      const p = AlertNotification.paramsSchema.safeParse(raw);
      if (!p.success) return this.dropInvalid(AlertNotification.method, p.error);
      this.log.info(
        `Alert #${p.data.id} ${p.data.closedAt === null ? 'opened' : 'closed'} for ${p.data.name}: ${p.data.message}`,
      );
      this.alertEmitter.fire(p.data);
    });
    connection.onNotification(ModelsChangedNotification.method, (raw: unknown) => {
      const p = ModelsChangedNotification.paramsSchema.safeParse(raw);
      if (!p.success) return this.dropInvalid(ModelsChangedNotification.method, p.error);
      this.modelsEmitter.fire(p.data);
    });
    connection.onError(([error]) => this.log.error(`runtime connection: ${error.message}`));
    connection.listen();

    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      for (const line of chunk.split(/\r?\n/)) {
        if (!line) continue;
        this.log.info(`runtime: ${line}`);
        this.lastStderr.push(line);
        if (this.lastStderr.length > 20) this.lastStderr.shift();
      }
    });
    child.on('error', (error) => {
      // Spawn failures (ENOENT for a wrong node path) arrive here; `exit` may not follow.
      clearTimeout(readyTimer);
      rejectReady(error);
      this.onExit(child, null, error.message);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(readyTimer);
      rejectReady(new Error(`the runtime exited (${signal ?? `code ${code}`})`));
      this.onExit(child, code, signal ? `signal ${signal}` : `exit code ${code}`);
    });
  }

  private dropInvalid(method: string, error: z.ZodError): void {
    const detail = error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || 'params'}: ${i.message}`)
      .join('; ');
    this.log.warn(`runtime: dropped an invalid ${method} notification (${detail}).`);
  }

  private onExit(child: ChildProcess, code: number | null, why: string): void {
    if (this.child !== child) return; // An old process, already replaced.
    this.child = undefined;
    this.connection?.dispose();
    this.connection = undefined;
    this.readyInfo = undefined;
    if (this.disposed || this.state === 'stopped') return;
    const lastWords = this.lastStderr.slice(-3).join(' | ');
    this.log.error(`The runtime stopped (${why})${lastWords ? `: ${lastWords}` : ''}.`);
    // A Node that does not exist will not appear by retrying: fail at once and say how to fix it.
    const decision = /ENOENT/.test(why) ? { restart: false as const, crashes: 1 } : this.policy.onCrash(Date.now());
    if (decision.restart) {
      this.log.info(`Restarting the runtime in ${decision.delayMs} ms (attempt ${decision.attempt + 1}).`);
      this.setState('restarting', why);
      this.restartTimer = setTimeout(() => {
        const folder = RuntimeClient.workspaceFolder();
        if (!this.disposed && folder && vscode.workspace.isTrusted) this.spawnRuntime(folder.uri.fsPath);
      }, decision.delayMs);
      return;
    }
    this.setState('failed', why);
    const hint =
      code === null && /ENOENT/.test(why)
        ? `Node was not found: set "cairn.runtime.nodePath" to a Node 20+ executable.`
        : `Check the runtime log; a wrong Node version (native modules) is fixed with "cairn.runtime.nodePath". Then run "Cairn: Restart Runtime".`;
    const what = decision.crashes > 1 ? `stopped ${decision.crashes} times in a few minutes` : 'could not start';
    this.showErrorOnce(`Cairn: the runtime ${what} (${why}${lastWords ? `: ${lastWords}` : ''}). ${hint}`);
  }

  private stopProcess(): void {
    const child = this.child;
    this.child = undefined;
    this.connection?.dispose();
    this.connection = undefined;
    this.ready = undefined;
    this.readyInfo = undefined;
    // Closing stdin asks the runtime to cancel its runs and close the store; kill only if it lingers.
    if (child) {
      child.stdin?.end();
      const timer = setTimeout(() => child.kill(), 3000);
      child.once('exit', () => clearTimeout(timer));
    }
    this.setState('stopped');
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.restartTimer);
    this.stopProcess();
    this.stateEmitter.dispose();
    this.progressEmitter.dispose();
    this.logEmitter.dispose();
    this.metricEmitter.dispose();
    this.readyEmitter.dispose();
    this.alertEmitter.dispose();
    this.modelsEmitter.dispose();
  }
}
