import type { DeploymentArm } from '@cairn/protocol';
import type { Store } from '../store/store.js';
import { restoreVersion, type RegisteredModel } from './registered.js';
import type { ModelServer } from './server.js';

export interface FollowOptions {
  arm: DeploymentArm;
  /** How often the alias is read (one indexed SELECT). */
  intervalMs: number;
  /** Called after a swap to `version` succeeded (the deployment row is updated there). */
  onSwap?: (version: number) => void;
  log?: (line: string) => void;
}

/**
 * Keeps a server's arm on what `NAME@alias` points to: reads the alias every `intervalMs`, and when it moved restores
 * the new version and swaps it in (ModelServer.swapModel: loaded fully first, so no request fails). Owns the restored
 * copy it serves and removes it when replaced or stopped. A version that fails to load is not retried until the alias
 * moves again.
 */
export class AliasFollower {
  private readonly timer: NodeJS.Timeout;
  private busy: Promise<void> | undefined;
  private refused: number | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly workspace: string,
    private readonly server: ModelServer,
    private readonly name: string,
    private readonly alias: string,
    private current: RegisteredModel,
    private readonly opts: FollowOptions,
  ) {
    this.timer = setInterval(() => this.tick(), opts.intervalMs);
    this.timer.unref();
  }

  get version(): number {
    return this.current.version;
  }

  /** Checks the alias now; resolves once any swap it started is done. */
  check(): Promise<void> {
    if (this.busy || this.stopped) return this.busy ?? Promise.resolve();
    this.busy = this.poll().finally(() => (this.busy = undefined));
    return this.busy;
  }

  private async poll(): Promise<void> {
    let version: number | undefined;
    try {
      version = await this.store.registry.aliasVersion(this.name, this.alias);
    } catch (e) {
      // A locked or unreachable store: the next tick reads again.
      this.opts.log?.(`following ${this.name}@${this.alias}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (version === undefined || version === this.current.version || version === this.refused) return;
    await this.swapTo(version);
  }

  /** Stops following and removes the restored copy being served (call after the server closed). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.busy;
    await this.current.remove();
  }

  private tick(): void {
    void this.check();
  }

  private async swapTo(version: number): Promise<void> {
    let next: RegisteredModel;
    try {
      next = await restoreVersion(this.store, this.workspace, `${this.name}@${version}`);
    } catch (e) {
      this.refused = version;
      this.opts.log?.(
        `${this.name}@${this.alias} moved to version ${version}, which could not be restored: ${e instanceof Error ? e.message : String(e)}`,
      );
      return;
    }
    try {
      await this.server.swapModel(next.file, { name: next.name, version: next.version }, this.opts.arm);
    } catch {
      // swapModel logged why; the previous version keeps serving.
      this.refused = version;
      await next.remove();
      return;
    }
    const old = this.current;
    this.current = next;
    this.refused = undefined;
    this.opts.onSwap?.(version);
    await old.remove();
  }
}
