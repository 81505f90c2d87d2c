import { processAlive } from '../util/process.js';
import type { Deployment } from '@cairn/protocol';
import type { Store } from '../store/store.js';
import { CairnError } from '../util/errors.js';

/**
 * The read side of deployments (migration 5): each `cairn serve` row with its logged / labelled prediction counts. A
 * row still `serving` whose process is gone (killed, crashed, machine restarted) is marked `interrupted` as it is read.
 * The write side (rows created and stopped by the server itself) is runtime/src/deploy/deployments.ts.
 */

export class DeploymentError extends CairnError {
  constructor(message: string, kind: 'not-found' | 'refused') {
    super(kind, message);
    this.name = 'DeploymentError';
  }
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
    challenger: r.challenger_ref === null ? null : { ref: r.challenger_ref, version: r.challenger_version, split: r.split ?? 0, key: r.ab_key },
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

/** Marks serving rows whose process died as interrupted; returns how many. */
export function markDeadDeployments(store: Store): number {
  const serving = store.db.prepare<[], { id: number; pid: number }>("SELECT id, pid FROM deployments WHERE status = 'serving'").all();
  const dead = serving.filter((d) => !processAlive(d.pid));
  const mark = store.db.prepare("UPDATE deployments SET status = 'interrupted', stopped_at = ? WHERE id = ? AND status = 'serving'");
  for (const d of dead) mark.run(Date.now(), d.id);
  return dead.length;
}

/** Deployments newest first: all, of one model, or only those serving. */
export function listDeployments(store: Store, options: { name?: string; serving?: boolean } = {}): Deployment[] {
  markDeadDeployments(store);
  const where = [options.name === undefined ? '' : 'd.name = @name', options.serving ? "d.status = 'serving'" : ''].filter(Boolean);
  return store.db
    .prepare<{ name?: string }, Row>(`${SELECT}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY d.id DESC`)
    .all(options.name === undefined ? {} : { name: options.name })
    .map(toDeployment);
}

export function getDeployment(store: Store, id: number): Deployment {
  markDeadDeployments(store);
  const row = store.db.prepare<[number], Row>(`${SELECT} WHERE d.id = ?`).get(id);
  if (!row) {
    const ids = store.db.prepare<[], { id: number }>('SELECT id FROM deployments ORDER BY id DESC LIMIT 10').all().map((d) => d.id);
    throw new DeploymentError(`deployment ${id} does not exist${ids.length > 0 ? ` (latest: ${ids.join(', ')})` : ' (nothing was deployed here)'}; \`cairn deployments list\` shows them`, 'not-found');
  }
  return toDeployment(row);
}

/** Resolves when `check` returns true, polling every `everyMs`; false after `timeoutMs`. */
async function until(check: () => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Stops a deployment: SIGTERM to its process, which closes gracefully and marks its row stopped. A process gone
 * before it could (or one that does not stop in `timeoutMs`) leaves the row interrupted or serving: both are said.
 */
export async function stopDeployment(store: Store, id: number, timeoutMs = 10_000): Promise<Deployment> {
  const d = getDeployment(store, id);
  if (d.status !== 'serving') throw new DeploymentError(`deployment ${id} is not serving (it is ${d.status}${d.stoppedAt === null ? '' : ` since ${new Date(d.stoppedAt).toISOString()}`})`, 'refused');
  try {
    process.kill(d.pid, 'SIGTERM');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw new DeploymentError(`cannot stop deployment ${id} (pid ${d.pid}): ${(error as Error).message}`, 'refused');
  }
  const status = store.db.prepare<[number], { status: string }>('SELECT status FROM deployments WHERE id = ?');
  const stopped = await until(() => status.get(id)?.status !== 'serving' || !processAlive(d.pid), timeoutMs);
  if (!stopped) throw new DeploymentError(`deployment ${id} (pid ${d.pid}) did not stop within ${timeoutMs / 1000} s of SIGTERM; kill it with \`kill -9 ${d.pid}\``, 'refused');
  // The process exits right after writing its row; a dead process that wrote nothing is marked interrupted here.
  await until(() => status.get(id)?.status !== 'serving', 1000);
  return getDeployment(store, id);
}
