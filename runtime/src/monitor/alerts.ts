import type { Alert, MonitorReport } from '@cairn/protocol';
import { titledDriftReportSchema } from '@cairn/protocol';
import type { Store } from '../store/store.js';
import { CairnError } from '../util/errors.js';

/** Monitoring reports and alerts in the store (migration 5): rows ↔ the contract's Alert and MonitorReport. */

interface AlertRow {
  id: number;
  name: string;
  version: number | null;
  deployment_id: number | null;
  kind: string;
  message: string;
  report_id: number | null;
  opened_at: number;
  closed_at: number | null;
  closed_reason: string | null;
  retrain_run_id: number | null;
}

interface ReportRow {
  id: number;
  name: string;
  version: number | null;
  deployment_id: number | null;
  reference: string;
  drifted: number;
  report_json: string;
  created_at: number;
}

/** An alert the user asked about that does not exist or cannot be changed. */
export class AlertError extends CairnError {
  constructor(message: string, kind: 'not-found' | 'refused') {
    super(kind, message);
    this.name = 'AlertError';
  }
}

function toAlert(r: AlertRow): Alert {
  return {
    id: r.id,
    name: r.name,
    version: r.version,
    deploymentId: r.deployment_id,
    kind: r.kind === 'online-metric' ? 'online-metric' : 'drift',
    message: r.message,
    reportId: r.report_id,
    openedAt: r.opened_at,
    closedAt: r.closed_at,
    closedReason: r.closed_reason,
    retrainRunId: r.retrain_run_id,
  };
}

/**
 * A stored report's drift report. Reports stored before the drift report had one shape (protocol/src/drift.ts) were
 * in the drift view's own shape, which lacks counts the report has: they are refused with what to do, never guessed.
 */
function storedDriftReport(r: ReportRow): MonitorReport['report'] {
  const parsed = titledDriftReportSchema.safeParse(JSON.parse(r.report_json));
  if (parsed.success) return parsed.data;
  throw new CairnError(
    'refused',
    `monitor report ${r.id} of ${r.name} was stored by an older Cairn in a shape this one does not read ` +
      `(${parsed.error.issues[0]?.path.join('.') ?? 'report'}: ${parsed.error.issues[0]?.message ?? 'invalid'}); ` +
      `run \`cairn monitor ${r.name}\` again to store a current report`,
  );
}

function toReport(r: ReportRow, alertId: number | null): MonitorReport {
  return {
    id: r.id,
    name: r.name,
    version: r.version,
    deploymentId: r.deployment_id,
    reference: r.reference,
    createdAt: r.created_at,
    drifted: r.drifted === 1,
    report: storedDriftReport(r),
    alertId,
  };
}

export function getAlert(store: Store, id: number): Alert | undefined {
  const row = store.db.prepare<[number], AlertRow>('SELECT * FROM alerts WHERE id = ?').get(id);
  return row ? toAlert(row) : undefined;
}

/** Alerts newest first: of one model or all, open only unless `all`. */
export function listAlerts(store: Store, options: { name?: string; all?: boolean } = {}): Alert[] {
  const where = [options.name === undefined ? '' : 'name = @name', options.all ? '' : 'closed_at IS NULL'].filter(Boolean);
  const sql = `SELECT * FROM alerts${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC`;
  return store.db.prepare<{ name?: string }, AlertRow>(sql).all(options.name === undefined ? {} : { name: options.name }).map(toAlert);
}

/** The open alert of this model version and kind, if any (there is at most one). */
export function openAlert(store: Store, name: string, version: number | null, kind: Alert['kind']): Alert | undefined {
  const row = store.db.prepare<[string, number | null, string], AlertRow>('SELECT * FROM alerts WHERE name = ? AND version IS ? AND kind = ? AND closed_at IS NULL ORDER BY id LIMIT 1').get(name, version, kind);
  return row ? toAlert(row) : undefined;
}

export function insertAlert(store: Store, a: { name: string; version: number | null; deploymentId: number | null; kind: Alert['kind']; message: string; reportId: number | null }): Alert {
  const now = Date.now();
  const id = Number(
    store.db
      .prepare('INSERT INTO alerts (name, version, deployment_id, kind, message, report_id, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(a.name, a.version, a.deploymentId, a.kind, a.message, a.reportId, now).lastInsertRowid,
  );
  const alert = getAlert(store, id);
  if (!alert) throw new Error(`alert ${id} vanished after insert`);
  return alert;
}

export function setRetrainRun(store: Store, alertId: number, runId: number): void {
  store.db.prepare('UPDATE alerts SET retrain_run_id = ? WHERE id = ?').run(runId, alertId);
}

export function closeAlert(store: Store, id: number, reason: string): Alert {
  const alert = getAlert(store, id);
  if (!alert) {
    const open = listAlerts(store).map((a) => a.id);
    throw new AlertError(`alert ${id} does not exist${open.length > 0 ? ` (open alerts: ${open.join(', ')})` : ' (no alert is open)'}`, 'not-found');
  }
  if (alert.closedAt !== null) throw new AlertError(`alert ${id} was closed already (${new Date(alert.closedAt).toISOString()}: ${alert.closedReason ?? ''})`, 'refused');
  store.db.prepare('UPDATE alerts SET closed_at = ?, closed_reason = ? WHERE id = ?').run(Date.now(), reason, id);
  return getAlert(store, id) ?? alert;
}

export function insertReport(store: Store, r: { name: string; version: number | null; deploymentId: number | null; reference: string; drifted: boolean; reportJson: string; createdAt: number }): number {
  return Number(
    store.db
      .prepare('INSERT INTO monitor_reports (name, version, deployment_id, reference, drifted, report_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(r.name, r.version, r.deploymentId, r.reference, r.drifted ? 1 : 0, r.reportJson, r.createdAt).lastInsertRowid,
  );
}

/** Stored reports newest first (of one model, or one by id); `alertId` is the alert a report opened. */
export function listReports(store: Store, options: { name?: string; id?: number; limit?: number } = {}): MonitorReport[] {
  const where = [options.name === undefined ? '' : 'name = @name', options.id === undefined ? '' : 'id = @id'].filter(Boolean);
  const sql = `SELECT * FROM monitor_reports${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`;
  const rows = store.db.prepare<{ name?: string; id?: number; limit: number }, ReportRow>(sql).all({
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.id === undefined ? {} : { id: options.id }),
    limit: options.limit ?? 100,
  });
  const opened = store.db.prepare<[number], { id: number }>('SELECT id FROM alerts WHERE report_id = ? ORDER BY id LIMIT 1');
  return rows.map((r) => toReport(r, opened.get(r.id)?.id ?? null));
}
