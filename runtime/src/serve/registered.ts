import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ObjectStore } from '../cas/objectStore.js';
import { ModelRegistry } from '../registry/registry.js';
import { workspaceSettings } from '../config/workspace.js';
import { openStore, storeAbsent } from '../store/open.js';
import type { Store } from '../store/store.js';
import { assertWritableInside } from '../util/confine.js';
import { ServeLoadError } from './served.js';

/** `NAME`, `NAME@3` or `NAME@production`: a registry reference rather than a file path. */
export function isRegistryRef(text: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9][A-Za-z0-9._-]*)?$/.test(text) && !/\.(onnx|json)$/i.test(text);
}

export interface RegisteredModel {
  /** A private copy of the registered artifact, restored from the artifact store (a later overwrite of the original path changes nothing). */
  file: string;
  name: string;
  version: number;
  remove: () => Promise<void>;
}

/**
 * Resolves a registry reference in `workspace`'s store (as its settings name it: CAIRN_STORE_URL, .cairn/config.yaml,
 * else .cairn/cairn.db) and restores that version's model file into a temp folder.
 */
export async function restoreRegistered(workspace: string, ref: string): Promise<RegisteredModel> {
  const settings = workspaceSettings(workspace);
  if (storeAbsent(settings))
    throw new ServeLoadError(
      `--model ${ref}: no file of that name, and ${workspace} has no model registry (.cairn/cairn.db); give a model file path, or --workspace`,
    );
  const store = await openStore(settings);
  try {
    return await restoreVersion(store, workspace, ref);
  } finally {
    await store.close();
  }
}

/** As restoreRegistered, with the workspace store already open (a serving process keeps one to follow aliases). */
export async function restoreVersion(
  store: Store,
  workspace: string,
  ref: string,
  option = '--model',
): Promise<RegisteredModel> {
  const objects = new ObjectStore(path.join(workspace, '.cairn'));
  const registry = new ModelRegistry(store, objects, workspace);
  let v;
  try {
    v = await registry.find(ref);
  } catch (e) {
    throw new ServeLoadError(`${option} ${ref}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (v.artifactKind !== 'file')
    throw new ServeLoadError(
      `${option} ${ref}: version ${v.version} is a folder (${v.path}); cairn serve takes a model file (model.json or .onnx)`,
    );
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-serve-'));
  // The basename keeps the extension loadPredictor dispatches on (.onnx vs model.json).
  // Confined to the folder made for it: a recorded path ('..', a crafted name) cannot aim the restore elsewhere.
  const what = `${option} ${ref}: version ${v.version}'s file ${v.path}`;
  const file = assertWritableInside(dir, path.basename(v.path), what, { use: 'restore' });
  try {
    await objects.restore(v.artifactHash, 'file', file);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return { file, name: v.name, version: v.version, remove: () => rm(dir, { recursive: true, force: true }) };
}
