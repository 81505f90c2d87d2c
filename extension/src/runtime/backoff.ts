/**
 * When to restart a crashed runtime, and when to stop trying. Pure (no vscode import) so the policy is unit-tested.
 * Exponential backoff keeps a runtime that dies at start from spinning the CPU; the window resets the count once the
 * runtime has stayed up a while, so one crash a day never exhausts the budget.
 */
export interface BackoffOptions {
  /** First delay. */
  baseMs: number;
  /** Longest delay. */
  maxMs: number;
  /** Crashes counted within this window… */
  windowMs: number;
  /** …at most this many before giving up. */
  maxCrashes: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 500, maxMs: 30_000, windowMs: 3 * 60_000, maxCrashes: 5 };

/** Delay before restart number `attempt` (0-based): base · 2^attempt, capped at max. */
export function backoffDelay(
  attempt: number,
  options: Pick<BackoffOptions, 'baseMs' | 'maxMs'> = defaultBackoff,
): number {
  if (!Number.isFinite(attempt) || attempt < 0) return options.baseMs;
  return Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
}

export type RestartDecision = { restart: true; delayMs: number; attempt: number } | { restart: false; crashes: number };

/** Remembers recent crashes and decides on each one whether (and after how long) to restart. */
export class RestartPolicy {
  private crashes: number[] = [];

  constructor(private readonly options: BackoffOptions = defaultBackoff) {}

  /** Records a crash at `now` (epoch ms) and decides. */
  onCrash(now: number): RestartDecision {
    this.crashes = this.crashes.filter((t) => now - t < this.options.windowMs);
    this.crashes.push(now);
    if (this.crashes.length > this.options.maxCrashes) return { restart: false, crashes: this.crashes.length };
    const attempt = this.crashes.length - 1;
    return { restart: true, delayMs: backoffDelay(attempt, this.options), attempt };
  }

  /** A manual restart starts with a clean slate. */
  reset(): void {
    this.crashes = [];
  }
}
