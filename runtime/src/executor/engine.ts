import * as os from 'node:os';
import * as path from 'node:path';
import type { ResolvedPipeline, RunEvent } from '@cairn/protocol';
import { ObjectStore } from '../cas/objectStore.js';
import { remoteFor, type RemoteSetting } from '../cas/remote/sync.js';
import { workspaceSettings, type WorkspaceSettings } from '../config/workspace.js';
import { openStore } from '../store/open.js';
import { Store } from '../store/store.js';
import { CairnError } from '../util/errors.js';
import { KeyedLock } from '../util/keyedLock.js';
import { startRun, type ExecuteOptions, type RunHandle, type RunOutcome } from './executor.js';
import { slurmSettingsOf, startSlurmRun, startSlurmSweep, type SlurmSettings } from './slurm.js';

export type StartOptions = Pick<
  ExecuteOptions,
  'step' | 'downstream' | 'force' | 'parallelism' | 'sweepId' | 'filesRoot'
>;

/**
 * One workspace's runtime: its store (`.cairn/cairn.db`), artifact store (`.cairn/objects/`) and the runs in progress.
 * The CLI and the JSON-RPC server both drive runs through it, so CI runs exactly what the editor runs.
 */
export class Engine {
  readonly store: Store;
  readonly objects: ObjectStore;
  readonly cairnDir: string;
  readonly parallelism: number;
  private readonly active = new Map<number, RunHandle>();
  private readonly listeners = new Set<(event: RunEvent) => void>();
  /** `--remote` as given; resolved with CAIRN_REMOTE and `.cairn/config.yaml` on the first run. */
  private readonly remoteFlag: string | undefined;
  private remote: { setting: RemoteSetting | undefined } | undefined;
  /** `--executor` of the CLI; otherwise CAIRN_EXECUTOR or the workspace config, read at each start (edits apply). */
  private readonly executorFlag: string | undefined;
  private readonly slurm: SlurmSettings;
  /** Cache keys being looked up or filled by a step of one of this engine's runs. */
  private readonly cacheLocks = new KeyedLock();

  /** `store`: an opened store (Engine.open); default: the workspace's embedded SQLite store. */
  constructor(
    readonly workspace: string,
    options: { parallelism?: number; remote?: string; executor?: string; slurm?: SlurmSettings; store?: Store } = {},
  ) {
    this.workspace = path.resolve(workspace);
    this.cairnDir = path.join(this.workspace, '.cairn');
    this.store = options.store ?? new Store(path.join(this.cairnDir, 'cairn.db'));
    this.objects = new ObjectStore(this.cairnDir);
    this.parallelism = Math.max(1, options.parallelism ?? os.availableParallelism());
    this.remoteFlag = options.remote;
    this.executorFlag = options.executor;
    this.slurm = options.slurm ?? {};
  }

  /** An engine on the store the workspace's settings name (flag > CAIRN_STORE_URL > .cairn/config.yaml > default). */
  static async open(
    settings: Pick<WorkspaceSettings, 'workspace' | 'store'>,
    options: { parallelism?: number; remote?: string; executor?: string; slurm?: SlurmSettings } = {},
  ): Promise<Engine> {
    return new Engine(settings.workspace, { ...options, store: await openStore(settings) });
  }

  /** Every event of every run (the RPC server forwards them as notifications). */
  onEvent(listener: (event: RunEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(
    pipeline: ResolvedPipeline,
    options: StartOptions = {},
    onEvent?: (event: RunEvent) => void,
  ): Promise<RunHandle> {
    const slurm = await this.slurmSettings();
    const execute: typeof startRun = slurm ? (p, o) => startSlurmRun(p, o, slurm) : startRun;
    return this.track(await execute(pipeline, this.executeOptions(options, onEvent)));
  }

  /** Whether runs started now go to Slurm (the executor is read at each start). */
  async runsOnSlurm(): Promise<boolean> {
    return (await this.slurmSettings()) !== undefined;
  }

  /** A sweep's runs on the Slurm executor, all started at once as job arrays (one per step, see startSlurmSweep). */
  async startSlurmSweep(
    runs: Array<{ pipeline: ResolvedPipeline; options: StartOptions }>,
    sweepId: number,
    onEvent?: (event: RunEvent) => void,
  ): Promise<RunHandle[]> {
    const slurm = await this.slurmSettings();
    if (!slurm) throw new CairnError('refused', 'this workspace does not run on the Slurm executor');
    const requests = runs.map((r) => ({ pipeline: r.pipeline, options: this.executeOptions(r.options, onEvent) }));
    return (await startSlurmSweep(requests, sweepId, slurm)).map((h) => this.track(h));
  }

  /** The executor read at each start (edits of the config apply): its Slurm settings when it is slurm. */
  private async slurmSettings(): Promise<SlurmSettings | undefined> {
    await this.store.ready;
    this.remote ??= { setting: remoteFor(this.workspace, this.remoteFlag) };
    const settings = workspaceSettings(
      this.workspace,
      this.executorFlag === undefined ? {} : { executor: this.executorFlag },
    );
    return settings.executor.value === 'slurm' ? { ...slurmSettingsOf(settings.config), ...this.slurm } : undefined;
  }

  private executeOptions(options: StartOptions, onEvent: ((event: RunEvent) => void) | undefined): ExecuteOptions {
    return {
      ...options,
      ...(this.remote?.setting ? { remote: this.remote.setting } : {}),
      parallelism: options.parallelism ?? this.parallelism,
      store: this.store,
      objects: this.objects,
      workspace: this.workspace,
      cacheLocks: this.cacheLocks,
      onEvent: (event) => {
        onEvent?.(event);
        for (const l of this.listeners) l(event);
      },
    };
  }

  private track(handle: RunHandle): RunHandle {
    this.active.set(handle.runId, handle);
    const forget = () => this.active.delete(handle.runId);
    handle.done.then(forget, forget);
    return handle;
  }

  async run(
    pipeline: ResolvedPipeline,
    options: StartOptions = {},
    onEvent?: (event: RunEvent) => void,
  ): Promise<RunOutcome> {
    return (await this.start(pipeline, options, onEvent)).done;
  }

  cancel(runId: number): boolean {
    const handle = this.active.get(runId);
    if (!handle) return false;
    handle.cancel();
    return true;
  }

  activeRuns(): number[] {
    return [...this.active.keys()];
  }

  /** Cancels what still runs, waits for it to settle, then closes the store. */
  async close(): Promise<void> {
    const pending = [...this.active.values()];
    for (const h of pending) h.cancel();
    await Promise.allSettled(pending.map((h) => h.done));
    await this.store.close();
  }
}
