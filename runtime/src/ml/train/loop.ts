import { seededRandom } from '../../util/prng.js';

/** What every trainer shares: options, live hooks, the seeded shuffles, early stopping. */
export interface TrainOptions {
  epochs: number;
  lr: number;
  l2: number;
  batchSize: number;
  seed: number;
  /** Share of rows held out to watch the loss (0: none). */
  validFraction: number;
  earlyStopping?: { patience: number; minDelta: number };
}

export interface TrainHooks {
  /** Called after every epoch with that epoch's metrics (streamed live by the train built-ins). */
  onEpoch?(epoch: number, metrics: Record<string, number>): void;
  log?(line: string): void;
  signal?: AbortSignal;
}

export interface TrainSummary {
  history: Array<Record<string, number>>;
  epochsRun: number;
  /** 1-based epoch whose weights were kept (the best monitored loss when early stopping is on, else the last). */
  bestEpoch: number;
  stoppedEarly: boolean;
  /** Metrics of the kept epoch. */
  metrics: Record<string, number>;
}

export class TrainingCancelled extends Error {
  constructor() {
    super('training cancelled');
    this.name = 'TrainingCancelled';
  }
}

/** Thrown for problems the user fixes by changing options (divergence, too little data). */
export class TrainingError extends Error {}

/**
 * Lets the event loop run: training is synchronous tfjs work, so without this the live metrics would not leave the
 * process and a cancel request would not arrive until the end.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Batches between two yields: often enough for a prompt cancel, rare enough to cost nothing. */
export const YIELD_EVERY = 32;

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new TrainingCancelled();
}

export type Rng = () => number;

export function rng(seed: number): Rng {
  return seededRandom(seed);
}

/** Fisher–Yates on a copy. */
export function shuffled(n: number, random: Rng): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i] ?? 0;
    a[i] = a[j] ?? 0;
    a[j] = t;
  }
  return a;
}

/** Seeded train / validation split of `n` rows. */
export function splitRows(n: number, validFraction: number, random: Rng): { train: Uint32Array; valid: Uint32Array } {
  const order = shuffled(n, random);
  const nValid = validFraction > 0 ? Math.max(1, Math.round(n * validFraction)) : 0;
  if (n - nValid < 1)
    throw new TrainingError(`only ${n} rows: too few to hold out a validation share of ${validFraction}`);
  return { train: order.slice(nValid), valid: order.slice(0, nValid) };
}

/** Standard normal by Box–Muller, seeded. */
export function normal(random: Rng): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Tracks the monitored loss: says when to stop and whether this epoch is the best so far (so the trainer snapshots
 * its weights and restores them at the end, as Keras' restore_best_weights does).
 */
class EarlyStopper {
  private best = Infinity;
  private bad = 0;
  bestEpoch = 0;
  constructor(private readonly opts: { patience: number; minDelta: number } | undefined) {}

  /** Returns true when this epoch improved on the best. */
  update(epoch: number, monitored: number): boolean {
    if (!Number.isFinite(monitored)) return false;
    if (monitored < this.best - (this.opts?.minDelta ?? 0) || this.bestEpoch === 0) {
      this.best = monitored;
      this.bestEpoch = epoch;
      this.bad = 0;
      return true;
    }
    this.bad++;
    return false;
  }

  get shouldStop(): boolean {
    return this.opts !== undefined && this.bad >= this.opts.patience;
  }

  /** Without early stopping the last epoch's weights are kept. */
  get enabled(): boolean {
    return this.opts !== undefined;
  }
}

/**
 * The end-of-epoch bookkeeping every trainer shares: the metrics history, the live hook, early stopping with the best
 * epoch's weights kept (`take` snapshots them), and the summary fields of TrainSummary.
 */
export class EpochTracker<S> {
  private readonly stopper: EarlyStopper;
  private readonly history: Array<Record<string, number>> = [];
  private snapshot: S | undefined;
  private stoppedEarly = false;

  constructor(
    private readonly opts: Pick<TrainOptions, 'epochs' | 'earlyStopping'>,
    private readonly hooks: TrainHooks,
    private readonly take: () => S,
  ) {
    this.stopper = new EarlyStopper(opts.earlyStopping);
  }

  /** Records an epoch's metrics; `monitored` is the loss early stopping watches. True when training should stop. */
  endEpoch(epoch: number, metrics: Record<string, number>, monitored: number): boolean {
    this.history.push(metrics);
    this.hooks.onEpoch?.(epoch, metrics);
    const improved = this.stopper.update(epoch, monitored);
    if (this.stopper.enabled && improved) this.snapshot = this.take();
    if (this.stopper.shouldStop && epoch < this.opts.epochs) {
      this.stoppedEarly = true;
      this.hooks.log?.(`early stopping after epoch ${epoch}: no improvement since epoch ${this.stopper.bestEpoch}`);
      return true;
    }
    return false;
  }

  /** The weights to keep (the best epoch's with early stopping, else the last) and the run's summary. */
  finish(): { kept: S; summary: TrainSummary } {
    const kept = this.stopper.enabled && this.snapshot ? this.snapshot : this.take();
    const bestEpoch = this.stopper.enabled ? this.stopper.bestEpoch : this.history.length;
    return {
      kept,
      summary: {
        history: this.history,
        epochsRun: this.history.length,
        bestEpoch,
        stoppedEarly: this.stoppedEarly,
        metrics: this.history[bestEpoch - 1] ?? {},
      },
    };
  }
}

export function checkFinite(value: number, what: string, epoch: number): void {
  if (!Number.isFinite(value)) {
    throw new TrainingError(
      `training diverged: ${what} is ${value} at epoch ${epoch}; lower lr, raise l2, or check the data for extreme values`,
    );
  }
}
