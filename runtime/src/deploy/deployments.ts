import type { DeploymentArm } from '@cairn/protocol';
import type { Store } from '../store/store.js';

/**
 * The write side of the `deployments` table (migration 5; contract: protocol/src/runtime/deploy.ts): a `cairn serve`
 * process records itself when it starts, the version it serves as an alias it follows moves, and its stop. Listing
 * and counting deployments is the read side (H2).
 */

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

export function startDeployment(store: Store, d: NewDeployment, now = Date.now()): number {
  const r = store.db
    .prepare(
      `INSERT INTO deployments (name, ref, version, challenger_ref, challenger_version, split, ab_key, url, pid, log_sample, status, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'serving', ?)`,
    )
    .run(d.name, d.ref, d.version, d.challenger?.ref ?? null, d.challenger?.version ?? null, d.challenger?.split ?? null, d.challenger?.key ?? null, d.url, d.pid, d.logSample, now);
  return Number(r.lastInsertRowid);
}

/** Records the version an arm serves now (after following an alias move). */
export function setDeploymentVersion(store: Store, id: number, arm: DeploymentArm, version: number): void {
  store.db.prepare(`UPDATE deployments SET ${arm === 'champion' ? 'version' : 'challenger_version'} = ? WHERE id = ?`).run(version, id);
}

export function stopDeployment(store: Store, id: number, now = Date.now()): void {
  store.db.prepare("UPDATE deployments SET status = 'stopped', stopped_at = ? WHERE id = ? AND status = 'serving'").run(now, id);
}
