import {
  abResultSchema,
  titledDriftReportSchema,
  type AbResult,
  type Alert,
  type MonitorReport,
} from '@cairn/protocol';
import { CairnError } from '../../util/errors.js';
import type { SqlDb, SqlValue } from '../sql.js';

/** Monitoring reports, alerts and A/B results (migration 5): rows ↔ the contract's Alert, MonitorReport, AbResult. */

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

function whereOf(conditions: Array<[string, SqlValue | undefined]>): { sql: string; args: SqlValue[] } {
  const set = conditions.filter((c): c is [string, SqlValue] => c[1] !== undefined);
  return { sql: set.length > 0 ? ` WHERE ${set.map((c) => c[0]).join(' AND ')}` : '', args: set.map((c) => c[1]) };
}

export class MonitorRepository {
  constructor(private readonly db: SqlDb) {}

  async alert(id: number): Promise<Alert | undefined> {
    const row = await this.db.get<AlertRow>('SELECT * FROM alerts WHERE id = ?', [id]);
    return row ? toAlert(row) : undefined;
  }

  /** Alerts newest first: of one model or all, open only unless `all`. */
  async alerts(options: { name?: string; all?: boolean } = {}): Promise<Alert[]> {
    const w = whereOf([['name = ?', options.name]]);
    const open = options.all ? '' : `${w.sql === '' ? ' WHERE' : ' AND'} closed_at IS NULL`;
    return (await this.db.all<AlertRow>(`SELECT * FROM alerts${w.sql}${open} ORDER BY id DESC`, w.args)).map(toAlert);
  }

  /** The open alert of this model version and kind, if any (there is at most one). */
  async openAlert(name: string, version: number | null, kind: Alert['kind']): Promise<Alert | undefined> {
    const row = await this.db.get<AlertRow>(
      'SELECT * FROM alerts WHERE name = ? AND version IS NOT DISTINCT FROM ? AND kind = ? AND closed_at IS NULL ORDER BY id LIMIT 1',
      [name, version, kind],
    );
    return row ? toAlert(row) : undefined;
  }

  /** Open alerts of one version and kind, oldest first. */
  async openAlerts(name: string, version: number, kind: Alert['kind']): Promise<Alert[]> {
    const rows = await this.db.all<AlertRow>(
      'SELECT * FROM alerts WHERE name = ? AND version = ? AND kind = ? AND closed_at IS NULL ORDER BY id',
      [name, version, kind],
    );
    return rows.map(toAlert);
  }

  async insertAlert(a: {
    name: string;
    version: number | null;
    deploymentId: number | null;
    kind: Alert['kind'];
    message: string;
    reportId: number | null;
  }): Promise<number> {
    const row = await this.db.get<{ id: number }>(
      'INSERT INTO alerts (name, version, deployment_id, kind, message, report_id, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id',
      [a.name, a.version, a.deploymentId, a.kind, a.message, a.reportId, Date.now()],
    );
    return row?.id ?? -1;
  }

  async setRetrainRun(alertId: number, runId: number): Promise<void> {
    await this.db.run('UPDATE alerts SET retrain_run_id = ? WHERE id = ?', [runId, alertId]);
  }

  async closeAlert(id: number, reason: string): Promise<void> {
    await this.db.run('UPDATE alerts SET closed_at = ?, closed_reason = ? WHERE id = ?', [Date.now(), reason, id]);
  }

  /** The newest alert id and close time (where the editor's alert notifications start). */
  async alertMarks(): Promise<{ id: number; closedAt: number }> {
    const row = await this.db.get<{ id: number | null; closed: number | null }>(
      'SELECT max(id) AS id, max(closed_at) AS closed FROM alerts',
    );
    return { id: row?.id ?? 0, closedAt: row?.closed ?? 0 };
  }

  async alertsOpenedAfter(id: number): Promise<number[]> {
    return (await this.db.all<{ id: number }>('SELECT id FROM alerts WHERE id > ? ORDER BY id', [id])).map((r) => r.id);
  }

  async alertsClosedAfter(at: number): Promise<number[]> {
    return (await this.db.all<{ id: number }>('SELECT id FROM alerts WHERE closed_at > ? ORDER BY id', [at])).map(
      (r) => r.id,
    );
  }

  async insertReport(r: {
    name: string;
    version: number | null;
    deploymentId: number | null;
    reference: string;
    drifted: boolean;
    reportJson: string;
    createdAt: number;
  }): Promise<number> {
    const row = await this.db.get<{ id: number }>(
      'INSERT INTO monitor_reports (name, version, deployment_id, reference, drifted, report_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id',
      [r.name, r.version, r.deploymentId, r.reference, r.drifted ? 1 : 0, r.reportJson, r.createdAt],
    );
    return row?.id ?? -1;
  }

  /** Stored reports newest first (of one model, or one by id); `alertId` is the alert a report opened. */
  async reports(options: { name?: string; id?: number; limit?: number } = {}): Promise<MonitorReport[]> {
    const w = whereOf([
      ['name = ?', options.name],
      ['id = ?', options.id],
    ]);
    const rows = await this.db.all<ReportRow>(`SELECT * FROM monitor_reports${w.sql} ORDER BY id DESC LIMIT ?`, [
      ...w.args,
      options.limit ?? 100,
    ]);
    const out: MonitorReport[] = [];
    for (const r of rows) {
      const opened = await this.db.get<{ id: number }>(
        'SELECT id FROM alerts WHERE report_id = ? ORDER BY id LIMIT 1',
        [r.id],
      );
      out.push(toReport(r, opened?.id ?? null));
    }
    return out;
  }

  async insertAbResult(r: Omit<AbResult, 'id'>): Promise<number> {
    const row = await this.db.get<{ id: number }>(
      'INSERT INTO ab_results (name, champion_version, challenger_version, source, deployment_id, holdout, result_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id',
      [
        r.name,
        r.championVersion,
        r.challengerVersion,
        r.source,
        r.deploymentId,
        r.holdout,
        JSON.stringify(r),
        r.createdAt,
      ],
    );
    return row?.id ?? -1;
  }

  /** Stored A/B results newest first: of one model, or one by id. */
  async abResults(options: { name?: string; id?: number; limit?: number } = {}): Promise<AbResult[]> {
    const w = whereOf([
      ['name = ?', options.name],
      ['id = ?', options.id],
    ]);
    const rows = await this.db.all<{ id: number; result_json: string }>(
      `SELECT id, result_json FROM ab_results${w.sql} ORDER BY id DESC LIMIT ?`,
      [...w.args, options.limit ?? 100],
    );
    return rows.map((r) => abResultSchema.parse({ ...(JSON.parse(r.result_json) as object), id: r.id }));
  }
}
