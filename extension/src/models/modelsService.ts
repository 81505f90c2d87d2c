import * as vscode from 'vscode';
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc';
import {
  CheckGatesRequest,
  GetModelRequest,
  ListModelsRequest,
  ModelStatusRequest,
  type Alert,
  type GateReport,
  type ModelDetail,
  type ModelStatus,
  type ModelSummary,
} from '@cairn/protocol';
import type { RuntimeClient } from '../runtime/runtimeClient.js';
import { samePath } from './modelsModel.js';

/** One registered model as the Models view and the lenses see it. */
export interface ModelEntry {
  summary: ModelSummary;
  detail: ModelDetail | undefined;
  /** Deployments, open alerts, latest A/B; undefined when the runtime does not answer runtime/modelStatus. */
  status: ModelStatus | undefined;
  /** Why detail or status is missing, for the view. */
  problem: string | undefined;
}

/** The runtime does not know the method (an older runtime, or the deploy handlers are not there). */
export function isMethodMissing(error: unknown): boolean {
  return error instanceof ResponseError && error.code === ErrorCodes.MethodNotFound;
}

/**
 * The registry as the extension knows it: registered models with their versions, deployments, open alerts and latest
 * A/B result, loaded from the runtime on demand and reloaded (debounced) when the runtime says something changed
 * (ModelsChangedNotification, AlertNotification), when it restarts, and when a run finishes. Deployment tokens
 * returned by DeployRequest are kept here for the session (the runtime never lists them).
 */
export class ModelsService implements vscode.Disposable {
  private loading: Promise<ModelEntry[]> | undefined;
  private current: ModelEntry[] | undefined;
  private readonly gates = new Map<string, Promise<GateReport>>();
  private readonly tokens = new Map<number, string | null>();
  private timer: NodeJS.Timeout | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires after a reload was asked for: read `models()` again. */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly runtime: RuntimeClient,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      runtime.onModelsChanged(() => this.refresh()),
      runtime.onAlert(() => this.refresh()),
      runtime.onReady(() => this.refresh()),
      // Views say "waiting" or "not running" from the state; a stopped runtime answers nothing.
      runtime.onDidChangeState((state) => {
        if (state !== 'ready') this.changed.fire();
      }),
    );
  }

  /** Whether the runtime can answer now (views show an explanation otherwise). */
  get available(): boolean {
    return this.runtime.currentState === 'ready';
  }

  /** Why it cannot, when it cannot: starting, or failed/stopped (then the log says why). */
  get unavailableReason(): string | undefined {
    switch (this.runtime.currentState) {
      case 'ready':
        return undefined;
      case 'starting':
      case 'restarting':
        return 'Waiting for the Cairn runtime…';
      case 'noFolder':
        return 'Open a folder: the runtime serves the first workspace folder.';
      default:
        return 'The Cairn runtime is not running: see "Cairn: Show Runtime Log", then "Cairn: Restart Runtime".';
    }
  }

  /** The models, loaded once per change. Rejects when the runtime cannot list them. */
  models(): Promise<ModelEntry[]> {
    this.loading ??= this.load().then(
      (entries) => {
        this.current = entries;
        return entries;
      },
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }

  /** The last loaded models without waiting (the status bar and lenses use it between loads). */
  get snapshot(): readonly ModelEntry[] {
    return this.current ?? [];
  }

  /** Every open alert of every model, newest first. */
  openAlerts(): Alert[] {
    return this.snapshot
      .flatMap((m) => m.status?.alerts ?? [])
      .filter((a) => a.closedAt === null)
      .sort((a, b) => b.openedAt - a.openedAt);
  }

  /** Drops what is cached and reloads soon (bursts of notifications are one reload). */
  refresh(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.loading = undefined;
      this.gates.clear();
      this.changed.fire();
    }, 150);
  }

  /** Reloads now and resolves with the fresh models (commands that changed something wait for it). */
  async reload(): Promise<ModelEntry[]> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.loading = undefined;
    this.gates.clear();
    const entries = await this.models();
    this.changed.fire();
    return entries;
  }

  /** The model whose newest version with this card (workspace-relative path) is returned, with that version. */
  modelForCard(relativePath: string): { entry: ModelEntry; version: number } | undefined {
    for (const entry of this.snapshot) {
      const v = entry.detail?.versions.find((x) => x.cardPath !== null && samePath(x.cardPath, relativePath));
      if (v) return { entry, version: entry.summary.latestVersion };
    }
    return undefined;
  }

  byName(name: string): ModelEntry | undefined {
    return this.snapshot.find((m) => m.summary.name === name);
  }

  /** The promotion gates of a version, cached until the next change. */
  checkGates(name: string, version: number): Promise<GateReport> {
    const key = `${name}@${version}`;
    let pending = this.gates.get(key);
    if (!pending) {
      pending = this.runtime.request(CheckGatesRequest, { name, version });
      pending.catch(() => this.gates.delete(key));
      this.gates.set(key, pending);
    }
    return pending;
  }

  rememberToken(deploymentId: number, token: string | null): void {
    this.tokens.set(deploymentId, token);
  }

  /** The token of a deployment started in this session; undefined when it was started elsewhere. */
  tokenOf(deploymentId: number): string | null | undefined {
    return this.tokens.get(deploymentId);
  }

  private async load(): Promise<ModelEntry[]> {
    const { models } = await this.runtime.request(ListModelsRequest, {});
    return Promise.all(
      models.map(async (summary): Promise<ModelEntry> => {
        const [detail, status] = await Promise.allSettled([
          this.runtime.request(GetModelRequest, { name: summary.name }),
          this.runtime.request(ModelStatusRequest, { name: summary.name }),
        ]);
        const problems: string[] = [];
        if (detail.status === 'rejected') problems.push(`versions: ${String(detail.reason)}`);
        if (status.status === 'rejected') {
          problems.push(
            isMethodMissing(status.reason)
              ? `deployments: this runtime does not answer ${ModelStatusRequest.method} yet`
              : `deployments: ${String(status.reason)}`,
          );
        }
        if (problems.length > 0) this.log.warn(`Models view, ${summary.name}: ${problems.join('; ')}`);
        return {
          summary,
          detail: detail.status === 'fulfilled' ? detail.value : undefined,
          status: status.status === 'fulfilled' ? status.value : undefined,
          problem: problems.length > 0 ? problems.join('; ') : undefined,
        };
      }),
    );
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }
}
