import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { storeUrlKind } from '@cairn/protocol/config.js';
import type { Setting, WorkspaceSettings } from '../config/workspace.js';
import { CairnError } from '../util/errors.js';
import { redactUrl } from './postgres.js';
import { Store } from './store.js';

/** Where a workspace's tracking store is: the embedded SQLite file or a PostgreSQL URL. */
export type StoreLocation = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/** The store setting resolved: a postgres:// URL, a SQLite path (relative to the workspace), or the default file. */
export function storeLocation(workspace: string, setting: Setting<string | undefined>): StoreLocation {
  const v = setting.value;
  if (v === undefined) return { kind: 'sqlite', file: path.join(workspace, '.cairn', 'cairn.db') };
  // One classification for the runtime and the editor's checks of .cairn/config.yaml (protocol/src/config.ts).
  const kind = storeUrlKind(v);
  if (kind.kind === 'bad-url') {
    throw new CairnError(
      'invalid',
      `${setting.from}: ${redactUrl(v)} is not a valid URL; write postgres://USER@HOST:PORT/DATABASE`,
    );
  }
  if (kind.kind === 'postgres') return { kind: 'postgres', url: v };
  if (kind.kind === 'unsupported-scheme') {
    throw new CairnError(
      'invalid',
      `${setting.from}: store ${redactUrl(v)}: only postgres:// URLs and SQLite file paths are supported; write ` +
        'postgres://USER@HOST:PORT/DATABASE or a path to a .db file',
    );
  }
  return { kind: 'sqlite', file: path.resolve(workspace, v) };
}

/** How to show a location: the password is never shown. */
export function describeLocation(l: StoreLocation): string {
  return l.kind === 'sqlite' ? l.file : redactUrl(l.url);
}

/**
 * Opens the tracking store a workspace's settings name (flag > CAIRN_STORE_URL > .cairn/config.yaml > default):
 * the one way the runtime opens a store. `mustExist`: a SQLite file must be there already (browsing commands).
 */
export async function openStore(
  settings: Pick<WorkspaceSettings, 'workspace' | 'store'>,
  options: { mustExist?: boolean; busyTimeoutMs?: number } = {},
): Promise<Store> {
  const l = storeLocation(settings.workspace, settings.store);
  if (l.kind === 'postgres') return Store.postgres(l.url);
  if (options.mustExist && !existsSync(l.file)) {
    throw new CairnError(
      'not-found',
      `no runs recorded in ${settings.workspace} (no ${path.relative(settings.workspace, l.file) || l.file}); run a pipeline first, or pass --workspace or --store`,
    );
  }
  const store = new Store(l.file, options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs });
  await store.ready;
  return store;
}

/** True when the settings name the embedded SQLite store and its file does not exist yet (nothing recorded). */
export function storeAbsent(settings: Pick<WorkspaceSettings, 'workspace' | 'store'>): boolean {
  const l = storeLocation(settings.workspace, settings.store);
  return l.kind === 'sqlite' && !existsSync(l.file);
}
