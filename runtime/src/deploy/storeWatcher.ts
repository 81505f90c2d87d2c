import type { Alert } from '@cairn/protocol';
import type { Store } from '../store/store.js';
import { serialPoll } from '../util/serialPoll.js';

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
export function watchStore(
  store: Store,
  changes: StoreChanges,
  pollMs: number,
): { poll: () => void; dispose: () => void } {
  let alertId = 0;
  let closedAt = 0;
  let seen = '';
  // Where the notifications start: what is in the store when the watch begins is not news.
  const started = (async () => {
    await store.ready;
    ({ id: alertId, closedAt } = await store.monitor.alertMarks());
    seen = await store.deployments.changeSignature();
  })();
  async function look(): Promise<void> {
    await started;
    await store.deployments.markDead();
    for (const id of await store.monitor.alertsOpenedAfter(alertId)) {
      const a = await store.monitor.alert(id);
      alertId = Math.max(alertId, id);
      if (a) changes.onAlert(a);
    }
    for (const id of await store.monitor.alertsClosedAfter(closedAt)) {
      const a = await store.monitor.alert(id);
      if (a?.closedAt != null) {
        closedAt = Math.max(closedAt, a.closedAt);
        changes.onAlert(a);
      }
    }
    const now = await store.deployments.changeSignature();
    if (now !== seen) {
      seen = now;
      changes.onModelsChanged();
    }
  }
  const { poll, stop } = serialPoll(look, 'watching alerts and models');
  const timer = setInterval(poll, pollMs);
  timer.unref();
  return {
    poll,
    dispose: () => {
      stop();
      clearInterval(timer);
    },
  };
}
