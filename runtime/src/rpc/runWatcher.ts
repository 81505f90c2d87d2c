import * as os from 'node:os';
import { isTerminalRunStatus, runStatuses, type RunProgressNotification, type RunStatus } from '@cairn/protocol';
import type { RunChangeRow, Store } from '../store/store.js';
import { serialPoll } from '../util/serialPoll.js';

/** The process whose runs are its own (the engine announces those itself): runs.host and runs.pid of its rows. */
export interface RunOwner {
  host: string;
  pid: number;
}

/**
 * Watches a (shared) store for the runs another process starts (a teammate's window, `cairn run` in a terminal, a CI or
 * Slurm job) and for their status changes, and announces each with the run notification the engine sends for its own
 * runs (`runtime/progress` without a step), so the Experiments view shows them without a refresh. The store says when
 * to look (Store.watchRuns: NOTIFY on PostgreSQL, `PRAGMA data_version` on SQLite); a look reads only the runs after
 * the highest id seen and the unfinished ones of others, by primary key. `ready` resolves once watching.
 */
export function watchOtherRuns(
  store: Store,
  notify: (p: RunProgressNotification.Params) => void,
  options: { self?: RunOwner; minMs?: number; maxMs?: number } = {},
): { ready: Promise<void>; dispose: () => Promise<void> } {
  const self = options.self ?? { host: os.hostname(), pid: process.pid };
  const mine = (r: RunChangeRow): boolean => r.host === self.host && r.pid === self.pid;
  let lastId = 0;
  /** Unfinished runs of others, by id: their last status announced (or found when the watch began). */
  const open = new Map<number, string>();
  let disposed = false;

  const announce = (r: RunChangeRow): void => {
    if (!(runStatuses as readonly string[]).includes(r.status)) return;
    const p: RunProgressNotification.Params = {
      runId: r.id,
      pipeline: r.pipeline,
      status: r.status as RunStatus,
      elsewhere: true,
    };
    if (r.endedAt !== null) p.durationMs = r.endedAt - r.startedAt;
    if (r.error !== null && isTerminalRunStatus(r.status)) p.message = r.error;
    notify(p);
  };

  async function look(): Promise<void> {
    for (const r of await store.runs.changes(lastId, [...open.keys()])) {
      lastId = Math.max(lastId, r.id);
      if (mine(r) || open.get(r.id) === r.status) continue;
      if (isTerminalRunStatus(r.status)) open.delete(r.id);
      else open.set(r.id, r.status);
      announce(r);
    }
  }

  const { poll, stop, idle } = serialPoll(look, "watching other processes' runs");

  let watch: { close(): Promise<void> } | undefined;
  const ready = (async () => {
    await store.ready;
    // What is in the store when the watch begins is not news, but others' running runs are followed to their end.
    lastId = await store.runs.maxId();
    for (const r of await store.runs.running()) if (!mine(r)) open.set(r.id, r.status);
    const w = await store.watchRuns(poll, {
      ...(options.minMs === undefined ? {} : { minMs: options.minMs }),
      ...(options.maxMs === undefined ? {} : { maxMs: options.maxMs }),
    });
    if (disposed) await w.close();
    else watch = w;
    // A run committed between the first read and the LISTEN was announced to nobody: one look covers it.
    poll();
  })();

  return {
    ready,
    dispose: async () => {
      disposed = true;
      stop();
      await ready.catch(() => undefined);
      await watch?.close();
      await idle();
    },
  };
}
