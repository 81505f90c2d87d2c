import type { Alert } from '@cairn/protocol';
import type { Store } from '../store/store.js';
import { CairnError } from '../util/errors.js';

/** Monitoring reports and alerts (rows and SQL: runtime/src/store/repos/monitor.ts); the rules around them here. */

/** An alert the user asked about that does not exist or cannot be changed. */
export class AlertError extends CairnError {
  constructor(message: string, kind: 'not-found' | 'refused') {
    super(kind, message);
    this.name = 'AlertError';
  }
}

export async function insertAlert(
  store: Store,
  a: {
    name: string;
    version: number | null;
    deploymentId: number | null;
    kind: Alert['kind'];
    message: string;
    reportId: number | null;
  },
): Promise<Alert> {
  const id = await store.monitor.insertAlert(a);
  const alert = await store.monitor.alert(id);
  if (!alert) throw new Error(`alert ${id} vanished after insert`);
  return alert;
}

export async function closeAlert(store: Store, id: number, reason: string): Promise<Alert> {
  const alert = await store.monitor.alert(id);
  if (!alert) {
    const open = (await store.monitor.alerts()).map((a) => a.id);
    throw new AlertError(
      `alert ${id} does not exist${open.length > 0 ? ` (open alerts: ${open.join(', ')})` : ' (no alert is open)'}`,
      'not-found',
    );
  }
  if (alert.closedAt !== null)
    throw new AlertError(
      `alert ${id} was closed already (${new Date(alert.closedAt).toISOString()}: ${alert.closedReason ?? ''})`,
      'refused',
    );
  await store.monitor.closeAlert(id, reason);
  return (await store.monitor.alert(id)) ?? alert;
}
