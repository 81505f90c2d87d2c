import { processAlive } from '../util/process.js';
import type { Deployment } from '@cairn/protocol';
import type { Store } from '../store/store.js';
import { CairnError } from '../util/errors.js';

/**
 * The read side of deployments (migration 5): each `cairn serve` row with its logged / labelled prediction counts. A
 * row still `serving` whose process is gone (killed, crashed, machine restarted) is marked `interrupted` as it is read.
 * Rows and SQL: runtime/src/store/repos/deployments.ts (the server writes its own row there).
 */

export class DeploymentError extends CairnError {
  constructor(message: string, kind: 'not-found' | 'refused') {
    super(kind, message);
    this.name = 'DeploymentError';
  }
}

/** Deployments newest first: all, of one model, or only those serving (serving rows whose process died marked first). */
export async function listDeployments(
  store: Store,
  options: { name?: string; serving?: boolean } = {},
): Promise<Deployment[]> {
  await store.deployments.markDead();
  return store.deployments.list(options);
}

export async function getDeployment(store: Store, id: number): Promise<Deployment> {
  await store.deployments.markDead();
  const d = await store.deployments.get(id);
  if (!d) {
    const ids = await store.deployments.latestIds(10);
    throw new DeploymentError(
      `deployment ${id} does not exist${ids.length > 0 ? ` (latest: ${ids.join(', ')})` : ' (nothing was deployed here)'}; \`cairn deployments list\` shows them`,
      'not-found',
    );
  }
  return d;
}

/** Resolves when `check` returns true, polling every `everyMs`; false after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Stops a deployment: SIGTERM to its process, which closes gracefully and marks its row stopped. A process gone
 * before it could (or one that does not stop in `timeoutMs`) leaves the row interrupted or serving: both are said.
 */
export async function stopDeployment(store: Store, id: number, timeoutMs = 10_000): Promise<Deployment> {
  const d = await getDeployment(store, id);
  if (d.status !== 'serving')
    throw new DeploymentError(
      `deployment ${id} is not serving (it is ${d.status}${d.stoppedAt === null ? '' : ` since ${new Date(d.stoppedAt).toISOString()}`})`,
      'refused',
    );
  try {
    process.kill(d.pid, 'SIGTERM');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH')
      throw new DeploymentError(`cannot stop deployment ${id} (pid ${d.pid}): ${(error as Error).message}`, 'refused');
  }
  const stopped = await until(
    async () => (await store.deployments.status(id)) !== 'serving' || !processAlive(d.pid),
    timeoutMs,
  );
  if (!stopped)
    throw new DeploymentError(
      `deployment ${id} (pid ${d.pid}) did not stop within ${timeoutMs / 1000} s of SIGTERM; kill it with \`kill -9 ${d.pid}\``,
      'refused',
    );
  // The process exits right after writing its row; a dead process that wrote nothing is marked interrupted here.
  await until(async () => (await store.deployments.status(id)) !== 'serving', 1000);
  return getDeployment(store, id);
}
