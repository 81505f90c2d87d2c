import type { Alert } from '@cairn/protocol';
import { getAlert } from '../monitor/alerts.js';
import type { Store } from '../store/store.js';
import { markDeadDeployments } from './status.js';

export interface StoreChanges {
  /** An alert opened or closed. */
  onAlert(alert: Alert): void;
  /** The registry, a deployment, a monitoring report or an A/B result changed. */
  onModelsChanged(): void;
}

/**
 * Watches the workspace store for what other processes change (a CLI `cairn monitor`, a `cairn serve` that stopped or
 * died) by polling a few max(id)s every `pollMs`; `poll()` looks at once (after a change made here). Deployments whose
 * process is gone are marked on each look.
 */
export function watchStore(store: Store, changes: StoreChanges, pollMs: number): { poll: () => void; dispose: () => void } {
  const db = store.db;
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
  function poll(): void {
    if (disposed) return;
    try {
      markDeadDeployments(store);
      for (const { id } of newAlerts.all(alertId)) {
        const a = getAlert(store, id);
        alertId = Math.max(alertId, id);
        if (a) changes.onAlert(a);
      }
      for (const { id } of newlyClosed.all(closedAt)) {
        const a = getAlert(store, id);
        if (a?.closedAt != null) {
          closedAt = Math.max(closedAt, a.closedAt);
          changes.onAlert(a);
        }
      }
      const now = signature.get()?.s ?? '';
      if (now !== seen) {
        seen = now;
        changes.onModelsChanged();
      }
    } catch (error) {
      // The store closing under a last poll is not worth a crash; anything else is reported once per poll.
      if (!disposed) process.stderr.write(`cairn runtime: watching alerts and models: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  const timer = setInterval(poll, pollMs);
  timer.unref();
  return {
    poll,
    dispose: () => {
      disposed = true;
      clearInterval(timer);
    },
  };
}
