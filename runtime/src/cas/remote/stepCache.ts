import { promises as fs } from 'node:fs';
import type { CachedOutput, Store } from '../../store/store.js';
import { assertWritableInside, PathEscapeError } from '../../util/confine.js';
import { runUser } from '../../util/git.js';
import type { ObjectStore } from '../objectStore.js';
import type { RemoteEntry } from './remote.js';
import { emptyCounts, pulledEntry, pullObject, pushEntry, type RemoteSetting } from './sync.js';

/** Run tag naming the remote a step's outputs came from: `cairn.remote_hit.<step>` → remote URL. */
export const remoteHitTag = (step: string): string => `cairn.remote_hit.${step}`;

/** What the executor hands over for one step (built by RunExecution.remoteStep). */
export interface RemoteStepContext {
  setting: RemoteSetting | undefined;
  store: Store;
  objects: ObjectStore;
  workspace: string;
  pipeline: string;
  step: string;
  runId: number;
  stepRunId: number;
  key: string;
  /** The step's declared outputs (and metrics files): absolute path and how messages name it. */
  outputs: Array<{ name: string; abs: string; optional: boolean; what: string }>;
  log: (line: string) => void;
}

/**
 * A remote cache hit: the remote (or an entry pulled from it before) has what this cache key produced. Its objects are
 * pulled hash-verified, the outputs restored, and the step run records them as a local hit would (outputs, metrics,
 * a local cache entry); the run gets a `cairn.remote_hit.<step>` tag. False, with a warning in the step log, when
 * anything is missing or corrupt: the step then runs.
 */
export async function remoteCacheHit(ctx: RemoteStepContext): Promise<boolean> {
  const setting = ctx.setting;
  if (!setting) return false;
  const { remote } = setting;
  const counts = emptyCounts();
  let entry: RemoteEntry | undefined;
  try {
    entry = (await pulledEntry(ctx.objects, ctx.key)) ?? (await remote.getEntry(ctx.key));
    if (!entry) return false;
    for (const o of ctx.outputs) {
      if (!entry.outputs[o.name] && !o.optional) return false;
    }
    // Objects first (into .cairn/objects, verified), outputs only once all are here: no half-restored step.
    for (const o of Object.values(entry.outputs)) await pullObject(remote, ctx.objects, o.hash, o.kind, counts);
    for (const o of ctx.outputs) {
      const cached = entry.outputs[o.name];
      if (!cached) continue;
      const abs = assertWritableInside(ctx.workspace, o.abs, o.what, { step: ctx.step, use: 'restore' });
      await ctx.objects.restore(cached.hash, cached.kind, abs);
    }
  } catch (error) {
    // A path leaving the workspace is refused as for a local hit; anything else of the remote (corrupt, missing,
    // unreadable, unreachable) only costs the cache hit: the step runs.
    if (error instanceof PathEscapeError) throw error;
    ctx.log(
      `WARNING remote cache entry ${ctx.key.slice(0, 12)} unusable: ${(error as Error).message}; running the step`,
    );
    return false;
  }
  const outputs: Record<string, CachedOutput & { size: number }> = {};
  for (const [name, o] of Object.entries(entry.outputs)) outputs[name] = o;
  await ctx.store.artifacts.commitStepOutputs(ctx.stepRunId, ctx.key, outputs);
  if (entry.history) {
    for (const p of entry.history) ctx.store.writer.add(ctx.runId, ctx.stepRunId, p.key, p.step, p.value, p.time);
  } else for (const m of entry.metrics) ctx.store.writer.add(ctx.runId, ctx.stepRunId, m.key, 0, m.value);
  await ctx.store.writer.flush();
  await ctx.store.runs.setTag(ctx.runId, remoteHitTag(ctx.step), remote.url);
  const mb = (counts.bytes / 1024 / 1024).toFixed(2);
  ctx.log(
    `restored from remote ${remote.url} (key ${ctx.key.slice(0, 12)}, run by ${entry.user} on ${entry.host}; ` +
      `${counts.moved} objects pulled, ${mb} MiB, ${counts.present} already local)`,
  );
  return true;
}

/** After a step ran and its outputs were committed: pushes them and the cache entry when `remote.push` is auto. */
export async function pushStepResult(
  ctx: RemoteStepContext,
  stored: Record<string, CachedOutput & { size: number }>,
): Promise<void> {
  if (!ctx.setting?.autoPush) return;
  try {
    const source = {
      key: ctx.key,
      pipeline: ctx.pipeline,
      step: ctx.step,
      stepRunId: ctx.stepRunId,
      ...runUser(ctx.workspace),
    };
    const entry = await entryOf(ctx.store, ctx.objects, source, stored);
    const counts = emptyCounts();
    await pushEntry(ctx.setting.remote, ctx.objects, entry, counts);
    ctx.log(`pushed to remote ${ctx.setting.remote.url} (${counts.moved} objects, ${counts.present} already there)`);
  } catch (error) {
    // The step succeeded here; a remote that is down must not fail it. `cairn push` retries later.
    ctx.log(
      `WARNING could not push to remote ${ctx.setting.remote.url}: ${(error as Error).message}; run cairn push later`,
    );
  }
}

/** Where a cache entry came from: its key, the step run that produced it, and who ran it on which host. */
export interface EntrySource {
  key: string;
  pipeline: string;
  step: string;
  stepRunId: number;
  user: string;
  host: string;
}

/** The remote form of a local cache entry: outputs with sizes, the step's metrics (last values and history), who made it. */
export async function entryOf(
  store: Store,
  objects: ObjectStore,
  source: EntrySource,
  outputs: Record<string, CachedOutput & { size?: number }>,
): Promise<RemoteEntry> {
  const out: RemoteEntry['outputs'] = {};
  for (const [name, o] of Object.entries(outputs)) {
    const size = o.size ?? (await sizeOf(objects, o.hash, o.kind));
    out[name] = { path: o.path, hash: o.hash, kind: o.kind, size };
  }
  const metrics = await store.metrics.latestOfStep(source.stepRunId);
  const history = await store.metrics.pointsOfStep(source.stepRunId);
  const { key, pipeline, step, user, host } = source;
  return {
    format: 'cairn-cache-entry/1',
    key,
    pipeline,
    step,
    outputs: out,
    metrics,
    history,
    user,
    host,
    createdAt: Date.now(),
  };
}

async function sizeOf(objects: ObjectStore, hash: string, kind: 'file' | 'dir'): Promise<number> {
  if (kind === 'dir') return (await objects.readManifest(hash)).entries.reduce((n, e) => n + e.size, 0);
  return (await fs.stat(objects.pathOf(hash))).size;
}
