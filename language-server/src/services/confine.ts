import * as path from 'node:path';
import { confinePath, type Confinement } from '@cairn/protocol';
import type { WorkspaceHost } from './types.js';

/**
 * The checks' view of symbolic links, through the host (so tests and other hosts bring their own file system):
 * paths relative to `base` are confined to the workspace folder `file` is in, the root `cairn run` confines them to.
 * Undefined when the host cannot read links (then paths are checked as text only).
 */
export function hostConfine(
  host: WorkspaceHost,
  file: string,
  base = path.dirname(file),
): ((p: string, allowed?: readonly string[]) => Confinement) | undefined {
  const readLink = host.readLink?.bind(host);
  if (!readLink) return undefined;
  // A file in no workspace folder (opened on its own): its own folder, as `cairn validate` does.
  const root = host.workspaceFolderOf?.(file) ?? base;
  return (p, allowed = []) => confinePath(root, p, { readLink }, { base, allowed });
}
