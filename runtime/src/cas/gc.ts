import type { Store } from '../store/store.js';
import type { ObjectStore } from './objectStore.js';

/** `cairn gc`: removes unreferenced objects (store.artifacts.referencedObjects) and dead writers' temp files. */
export async function collectGarbage(
  store: Store,
  objects: ObjectStore,
  dryRun: boolean,
): Promise<{ removed: string[]; bytes: number; tempFiles: number }> {
  await store.writer.flush();
  return objects.gc(await store.artifacts.referencedObjects(), dryRun);
}
