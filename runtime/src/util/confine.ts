import { lstatSync, promises as fs, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import {
  confinePath,
  confineWrite,
  describeEscape,
  type Confinement,
  type Escape,
  type LinkReader,
  type PipelineHost,
} from '@cairn/protocol';
import { CairnError } from './errors.js';

/**
 * Workspace confinement on the real file system: every path Cairn deletes, writes, hashes or copies is checked with its
 * symbolic links followed (protocol/src/paths/confine.ts decides; this file reads the links). Called right before the
 * operation, not once per run: a link may appear or change in between (a step may create one).
 */

/** Links as `lstat`/`readlink` see them now (nothing cached: a link may change between two checks). */
export const fsLinkReader: LinkReader = {
  readLink(abs) {
    try {
      return lstatSync(abs).isSymbolicLink() ? readlinkSync(abs) : undefined;
    } catch {
      // Missing (or unreadable) component: nothing below it can be a link we would follow.
      return undefined;
    }
  },
};

/** What was being done with the path, for the message: each has its own advice. */
export type ConfinedUse = 'output' | 'dependency' | 'restore';

const advice: Record<ConfinedUse, string> = {
  output:
    'nothing outside was deleted or written. Outputs must stay inside the workspace: ' +
    'replace the link by a real folder (or write elsewhere in the workspace)',
  dependency:
    'nothing outside was read. Point the link inside the workspace, or, for a read-only input such as a shared ' +
    "data mount, list its folder in the pipeline's top-level `allow_outside:`",
  restore: 'nothing outside was written. Remove the link (or replace it by a real folder) and restore again',
};

/**
 * The one error for a path that leaves the workspace, textually or through a link: names what it was (step, output,
 * dependency), the path as written, where it leads, the link that carries it out, and what to do.
 */
export class PathEscapeError extends CairnError {
  readonly step: string | undefined;
  readonly link: string | undefined;
  constructor(
    readonly given: string,
    readonly root: string,
    what: string,
    detail: { use?: ConfinedUse; step?: string; escape?: Escape } = {},
  ) {
    const how = detail.escape
      ? `: it ${describeEscape(detail.escape)}`
      : " (no '..' above the root, no absolute path elsewhere)";
    const todo = detail.use ? advice[detail.use] : 'use a path inside it';
    super('refused', `${what} leaves the workspace ${root}${how}; ${todo}.`);
    this.name = 'PathEscapeError';
    this.step = detail.step;
    this.link = detail.escape?.links[0]?.link;
  }
}

/** The confinement of `given` (relative to `base`, default `workspace`, or absolute) on the disk as it is now. */
export function confine(
  workspace: string,
  given: string,
  options: { base?: string; allowed?: readonly string[] } = {},
): Confinement {
  return confinePath(path.resolve(workspace), given, fsLinkReader, {
    base: path.resolve(options.base ?? workspace),
    ...(options.allowed ? { allowed: options.allowed } : {}),
  });
}

export interface ConfineOptions {
  /** Folder `target` is relative to (the pipeline's folder); default the workspace. */
  base?: string;
  /** Read-only folders outside the workspace that may be read (the pipeline's `allow_outside:`); never for writes. */
  allowed?: readonly string[];
  step?: string;
  use?: ConfinedUse;
}

/**
 * Throws `PathEscapeError` unless `target`, every link followed, is inside `workspace` (or, for reads, below an
 * `allowed` folder). Returns the absolute path as written (what callers open) and where it leads.
 * `what` names the path in the message ("output 'model' of step 'train' (model.onnx)").
 */
export function assertInsideWorkspace(
  workspace: string,
  target: string,
  what: string,
  options: ConfineOptions = {},
): { abs: string; real: string; outside?: string } {
  const abs = path.resolve(options.base ?? workspace, target);
  const result = confine(workspace, target, options);
  if (result.kind === 'inside') return { abs, real: result.real };
  if (result.kind === 'allowed') return { abs, real: result.real, outside: result.allowedBy };
  throw new PathEscapeError(target, workspace, what, {
    escape: result,
    ...(options.use ? { use: options.use } : {}),
    ...(options.step ? { step: options.step } : {}),
  });
}

/**
 * For a path Cairn writes or replaces (an output, a restore destination, a pulled artifact): its folder must be inside
 * the workspace with links followed. The last component itself may be a link: it is removed or replaced, never
 * followed (an output that is a link becomes a regular file; the link's target stays as it was).
 */
export function assertWritableInside(
  workspace: string,
  target: string,
  what: string,
  options: Omit<ConfineOptions, 'allowed'> = {},
): string {
  const abs = path.resolve(options.base ?? workspace, target);
  const result = confineWrite(path.resolve(workspace), abs, fsLinkReader);
  // The workspace folder itself is no output either: removing it would remove everything.
  if (result.kind === 'inside' && result.real !== result.root) return abs;
  const escape: Escape =
    result.kind === 'outside'
      ? result
      : { kind: 'outside', real: result.real, root: result.root, links: [], loop: false };
  throw new PathEscapeError(target, workspace, what, {
    escape,
    use: options.use ?? 'output',
    ...(options.step ? { step: options.step } : {}),
  });
}

/**
 * After a step wrote `target`: the output itself and every link inside it (a folder output) must lead inside the
 * workspace, so hashing and storing it copies nothing from outside into `.cairn/objects`.
 */
export async function assertTreeInside(
  workspace: string,
  target: string,
  what: string,
  options: ConfineOptions = {},
): Promise<{ abs: string; real: string; outside?: string }> {
  const top = assertInsideWorkspace(workspace, target, what, options);
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw error;
    }
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      if (e.isSymbolicLink())
        assertInsideWorkspace(workspace, abs, `${what}: the link ${path.relative(workspace, abs)}`, options);
      else if (e.isDirectory()) await walk(abs);
    }
  };
  const st = await fs.stat(top.abs).catch(() => undefined);
  if (st?.isDirectory()) await walk(top.abs);
  return top;
}

/** The pipeline checker's view of links (same decision as the run, reported at the path's place in the file). */
export function confiningHost(workspace: string, pipelineRoot: string): Required<Pick<PipelineHost, 'confine'>> {
  return { confine: (rel, allowed) => confine(workspace, rel, { base: pipelineRoot, allowed }) };
}
