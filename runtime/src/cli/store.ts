import { workspaceSettings } from '../config/workspace.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { flag, type ParsedArgs } from './command.js';

/** The store a command works on: `--store URL|PATH` > CAIRN_STORE_URL > .cairn/config.yaml store.url > .cairn/cairn.db. */
export function storeSettingsOf(parsed: ParsedArgs, workspace: string): ReturnType<typeof workspaceSettings> {
  const store = flag(parsed, 'store');
  return workspaceSettings(workspace, store === undefined ? {} : { store });
}

export function storeOf(parsed: ParsedArgs, workspace: string, options: { mustExist?: boolean } = {}): Promise<Store> {
  return openStore(storeSettingsOf(parsed, workspace), options);
}
