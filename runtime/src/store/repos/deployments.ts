import type { Deployment, DeploymentArm } from '@cairn/protocol';
import { processAlive } from '../../util/process.js';
import type { SqlDb, SqlValue } from '../sql.js';

/** Deployments (a `cairn serve` process each) and the reads of their prediction log (migration 5). */

export interface NewDeployment {
  /** Registered model name, or the model file's base name. */
  name: string;
  /** As asked: `NAME@champion`, `NAME@3`, or a file path. */
  ref: string;
  version: number | null;
  challenger: { ref: string; version: number | null; split: number; key: string | null } | null;
  url: string;
  pid: number;
  logSample: number;
}

/** A logged prediction as monitoring and A/B analysis read it (JSON columns as stored). */
export interface LoggedPrediction {
  deploymentId: number;
  version: number | null;
  arm: string;
  inputsJson: string;
  predictionJson: string;
  labelJson: string | null;
  at: number;
}

/** The arms of a deployment as the A/B analysis needs them. */
export interface DeploymentArms {
  id: number;
  name: string;
  version: number | null;
  challengerVersion: number | null;
  /** The challenger's share of the traffic (0 without one). */
  split: number;
}

interface ArmsRow {
  id: number;
  name: string;
  version: number | null;
  challenger_version: number | null;
  split: number | null;
}

interface Row {
  id: number;
  name: string;
  ref: string;
  version: number | null;
  challenger_ref: string | null;
  challenger_version: number | null;
  split: number | null;
  ab_key: string | null;
  url: string;
  pid: number;
  log_sample: number;
  status: string;
  started_at: number;
  stopped_at: number | null;
  logged: number;
  labelled: number;
}

function toDeployment(r: Row): Deployment {
  return {
    id: r.id,
    name: r.name,
    ref: r.ref,
    version: r.version,
    challenger:
      r.challenger_ref === null
        ? null
        : { ref: r.challenger_ref, version: r.challenger_version, split: r.split ?? 0, key: r.ab_key },
    url: r.url,
    pid: r.pid,
    logSample: r.log_sample,
    status: r.status === 'stopped' ? 'stopped' : r.status === 'interrupted' ? 'interrupted' : 'serving',
    startedAt: r.started_at,
    stoppedAt: r.stopped_at,
    logged: r.logged,
    labelled: r.labelled,
  };
}

const SELECT = `SELECT d.*,
  (SELECT count(*) FROM predictions p WHERE p.deployment_id = d.id) AS logged,
  (SELECT count(*) FROM predictions p WHERE p.deployment_id = d.id AND p.label_json IS NOT NULL) AS labelled
  FROM deployments d`;

export class DeploymentRepository {
  constructor(private readonly db: SqlDb) {}

  async start(d: NewDeployment, now = Date.now()): Promise<number> {
    const row = await this.db.get<{ id: number }>(
      `INSERT INTO deployments (name, ref, version, challenger_ref, challenger_version, split, ab_key, url, pid, log_sample, status, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'serving', ?) RETURNING id`,
      [
        d.name,
        d.ref,
        d.version,
        d.challenger?.ref ?? null,
        d.challenger?.version ?? null,
        d.challenger?.split ?? null,
        d.challenger?.key ?? null,
        d.url,
        d.pid,
        d.logSample,
        now,
      ],
    );
    return row?.id ?? -1;
  }

  /** Records the version an arm serves now (after following an alias move). */
  async setVersion(id: number, arm: DeploymentArm, version: number): Promise<void> {
    await this.db.run(
      `UPDATE deployments SET ${arm === 'champion' ? 'version' : 'challenger_version'} = ? WHERE id = ?`,
      [version, id],
    );
  }

  async stop(id: number, now = Date.now()): Promise<void> {
    await this.db.run("UPDATE deployments SET status = 'stopped', stopped_at = ? WHERE id = ? AND status = 'serving'", [
      now,
      id,
    ]);
  }

  /** Marks serving rows whose process died as interrupted (rows of this host only: a pid means nothing elsewhere). */
  async markDead(): Promise<number> {
    const serving = await this.db.all<{ id: number; pid: number }>(
      "SELECT id, pid FROM deployments WHERE status = 'serving'",
    );
    const dead = serving.filter((d) => !processAlive(d.pid));
    for (const d of dead)
      await this.db.run(
        "UPDATE deployments SET status = 'interrupted', stopped_at = ? WHERE id = ? AND status = 'serving'",
        [Date.now(), d.id],
      );
    return dead.length;
  }

  async list(options: { name?: string; serving?: boolean } = {}): Promise<Deployment[]> {
    const where: string[] = [];
    const args: SqlValue[] = [];
    if (options.name !== undefined) {
      where.push('d.name = ?');
      args.push(options.name);
    }
    if (options.serving) where.push("d.status = 'serving'");
    const rows = await this.db.all<Row>(
      `${SELECT}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY d.id DESC`,
      args,
    );
    return rows.map(toDeployment);
  }

  async get(id: number): Promise<Deployment | undefined> {
    const row = await this.db.get<Row>(`${SELECT} WHERE d.id = ?`, [id]);
    return row ? toDeployment(row) : undefined;
  }

  async latestIds(limit: number): Promise<number[]> {
    return (await this.db.all<{ id: number }>('SELECT id FROM deployments ORDER BY id DESC LIMIT ?', [limit])).map(
      (d) => d.id,
    );
  }

  async status(id: number): Promise<string | undefined> {
    return (await this.db.get<{ status: string }>('SELECT status FROM deployments WHERE id = ?', [id]))?.status;
  }

  /** The newest deployment a process recorded for a model. */
  async byPid(pid: number, name: string): Promise<number | undefined> {
    return (
      await this.db.get<{ id: number }>(
        'SELECT id FROM deployments WHERE pid = ? AND name = ? ORDER BY id DESC LIMIT 1',
        [pid, name],
      )
    )?.id;
  }

  async idsOf(name: string): Promise<number[]> {
    return (await this.db.all<{ id: number }>('SELECT id FROM deployments WHERE name = ? ORDER BY id', [name])).map(
      (d) => d.id,
    );
  }

  /** A deployment's arms: by id, or the newest one of `name` with a challenger. */
  async arms(ref: { id: number } | { abOf: string }): Promise<DeploymentArms | undefined> {
    const row =
      'id' in ref
        ? await this.db.get<ArmsRow>(
            'SELECT id, name, version, challenger_version, split FROM deployments WHERE id = ?',
            [ref.id],
          )
        : await this.db.get<ArmsRow>(
            'SELECT id, name, version, challenger_version, split FROM deployments ' +
              'WHERE name = ? AND challenger_ref IS NOT NULL ORDER BY id DESC LIMIT 1',
            [ref.abOf],
          );
    if (!row) return undefined;
    const split = row.split ?? 0;
    return { id: row.id, name: row.name, version: row.version, challengerVersion: row.challenger_version, split };
  }

  /** Logged predictions of some deployments, oldest first. */
  async predictions(deploymentIds: number[]): Promise<LoggedPrediction[]> {
    if (deploymentIds.length === 0) return [];
    const rows = await this.db.all<{
      deployment_id: number;
      version: number | null;
      arm: string;
      inputs_json: string;
      prediction_json: string;
      label_json: string | null;
      at: number;
    }>(
      `SELECT deployment_id, version, arm, inputs_json, prediction_json, label_json, at FROM predictions
       WHERE deployment_id IN (${deploymentIds.map(() => '?').join(', ')}) ORDER BY at, id`,
      deploymentIds,
    );
    return rows.map((r) => ({
      deploymentId: r.deployment_id,
      version: r.version,
      arm: r.arm,
      inputsJson: r.inputs_json,
      predictionJson: r.prediction_json,
      labelJson: r.label_json,
      at: r.at,
    }));
  }

  /**
   * A text that changes whenever a model version, an alias move, a deployment, a monitoring report or an A/B result
   * is added (the editor's "models changed" notification polls it).
   */
  async changeSignature(): Promise<string> {
    const row = await this.db.get<{ s: string }>(
      `SELECT (SELECT coalesce(max(id), 0) FROM model_alias_history) || ':' || (SELECT count(*) FROM model_versions) || ':' ||
              (SELECT coalesce(max(id), 0) || '/' || coalesce(sum(CASE WHEN status = 'serving' THEN 1 ELSE 0 END), 0) FROM deployments) || ':' ||
              (SELECT coalesce(max(id), 0) FROM monitor_reports) || ':' || (SELECT coalesce(max(id), 0) FROM ab_results) AS s`,
    );
    return row?.s ?? '';
  }
}
