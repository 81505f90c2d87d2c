import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { workspaceSettings } from '../../config/workspace.js';
import { assertWritableInside } from '../../util/confine.js';
import type { ObjectStore } from '../objectStore.js';
import { FsRemote } from './fsRemote.js';
import { RemoteUrlError, remoteEntrySchema, type Remote, type RemoteEntry } from './remote.js';

/** A workspace's remote as configured (flag > CAIRN_REMOTE > `.cairn/config.yaml` remote.url), and whether runs push. */
export interface RemoteSetting {
  remote: Remote;
  /** `remote.push: auto` (the default): each step that ran pushes its outputs and cache entry. */
  autoPush: boolean;
}

/** Opens a remote URL: `file:///path`, or a plain path (relative to the workspace). Other schemes are refused. */
export function openRemote(url: string, workspace: string, from = 'remote.url'): FsRemote {
  if (url.startsWith('file://')) {
    let dir: string;
    try {
      dir = fileURLToPath(url);
    } catch (error) {
      throw new RemoteUrlError(url, from, `${(error as Error).message}; write file:///absolute/path`);
    }
    return new FsRemote(url, dir);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new RemoteUrlError(url, from, 'only filesystem remotes are supported (a shared folder path or file:///path)');
  }
  return new FsRemote(url, path.resolve(workspace, url));
}

/** The configured remote of a workspace, or undefined when none is set. */
export function remoteFor(workspace: string, flag?: string): RemoteSetting | undefined {
  const settings = workspaceSettings(workspace, flag === undefined ? {} : { remote: flag });
  if (settings.remote.value === undefined) return undefined;
  return {
    remote: openRemote(settings.remote.value, workspace, settings.remote.from),
    autoPush: (settings.config.remote?.push ?? 'auto') === 'auto',
  };
}

/** What a push or pull did: objects moved, objects already there, bytes moved, cache entries. */
export interface TransferCounts {
  moved: number;
  present: number;
  bytes: number;
  entries: number;
}

export function emptyCounts(): TransferCounts {
  return { moved: 0, present: 0, bytes: 0, entries: 0 };
}

/** Pushes one stored object (a folder: its files first, its manifest last). */
export async function pushObject(
  remote: Remote,
  objects: ObjectStore,
  hash: string,
  kind: 'file' | 'dir',
  counts: TransferCounts,
): Promise<void> {
  if (kind === 'dir') {
    for (const e of (await objects.readManifest(hash)).entries)
      await pushObject(remote, objects, e.hash, 'file', counts);
  }
  if ((await remote.putObject(hash, objects.pathOf(hash))) === 'present') counts.present++;
  else {
    counts.moved++;
    counts.bytes += (await fs.stat(objects.pathOf(hash))).size;
  }
}

/** Pulls one object into the local store, hash-verified (a folder: its manifest first, then its files). */
export async function pullObject(
  remote: Remote,
  objects: ObjectStore,
  hash: string,
  kind: 'file' | 'dir',
  counts: TransferCounts,
): Promise<void> {
  if (await objects.has(hash)) counts.present++;
  else {
    const dest = await objects.tempPath();
    // The store's own folder, links followed: a pulled object lands nowhere else.
    assertWritableInside(path.dirname(objects.cairnDir), dest, `pulled object ${hash.slice(0, 12)}`, {
      use: 'restore',
    });
    try {
      await remote.getObject(hash, dest);
      await objects.adopt(dest, hash, true);
    } finally {
      await fs.rm(dest, { force: true });
    }
    counts.moved++;
    counts.bytes += (await fs.stat(objects.pathOf(hash))).size;
  }
  if (kind === 'dir') {
    for (const e of (await objects.readManifest(hash)).entries)
      await pullObject(remote, objects, e.hash, 'file', counts);
  }
}

/** Pushes a cache entry: every object it names, then the entry (so a visible entry means complete objects). */
export async function pushEntry(
  remote: Remote,
  objects: ObjectStore,
  entry: RemoteEntry,
  counts: TransferCounts,
): Promise<void> {
  for (const o of Object.values(entry.outputs)) await pushObject(remote, objects, o.hash, o.kind, counts);
  await remote.putEntry(entry);
  counts.entries++;
}

/**
 * Pulled cache entries are kept in `.cairn/remote-entries/`, so a later run is a remote hit even when the remote is
 * not reachable then (the objects are local already).
 */
export function pulledEntryPath(objects: ObjectStore, key: string): string {
  return path.join(objects.cairnDir, 'remote-entries', `${key}.json`);
}

/** Pulls an entry and its objects; undefined when the remote has no entry for the key. */
export async function pullEntry(
  remote: Remote,
  objects: ObjectStore,
  key: string,
  counts: TransferCounts,
): Promise<RemoteEntry | undefined> {
  const entry = await remote.getEntry(key);
  if (!entry) return undefined;
  for (const o of Object.values(entry.outputs)) await pullObject(remote, objects, o.hash, o.kind, counts);
  const file = pulledEntryPath(objects, key);
  assertWritableInside(path.dirname(objects.cairnDir), file, `pulled cache entry ${key.slice(0, 12)}`, {
    use: 'restore',
  });
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = await objects.tempPath();
  await fs.writeFile(tmp, JSON.stringify(entry));
  await fs.rename(tmp, file);
  counts.entries++;
  return entry;
}

/** A cache entry pulled earlier (see pulledEntryPath), or undefined (also for one that no longer parses). */
export async function pulledEntry(objects: ObjectStore, key: string): Promise<RemoteEntry | undefined> {
  try {
    const parsed = remoteEntrySchema.safeParse(JSON.parse(await fs.readFile(pulledEntryPath(objects, key), 'utf8')));
    return parsed.success && parsed.data.key === key ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function formatCounts(c: TransferCounts): string {
  const mb = (c.bytes / 1024 / 1024).toFixed(2);
  return `${c.entries} cache entries, ${c.moved} objects transferred (${mb} MiB), ${c.present} already there`;
}
