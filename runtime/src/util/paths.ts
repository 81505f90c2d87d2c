import * as path from 'node:path';
import { PathEscapeError } from './confine.js';

/** True when `candidate` (absolute) is `root` or below it, as text (links are confine.ts's business). */
export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Resolves `given` (relative to `root`, or absolute) and refuses anything whose text leaves `root`. `what` names the
 * path in the error ("output 'model' of step 'train'"). Links are checked where the path is used (confine.ts).
 */
export function resolveInside(root: string, given: string, what: string): string {
  const absolute = path.resolve(root, given);
  if (!isInside(path.resolve(root), absolute)) throw new PathEscapeError(given, root, what);
  return absolute;
}
