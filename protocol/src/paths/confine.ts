/**
 * Workspace confinement by real path: the pure part. A path is inside the workspace when the file it names, after
 * every symbolic link along it is followed (the way the kernel follows them), lies under the workspace's real folder.
 * A textual check (no `..` above the root) is not enough: `link/x` with `link -> /elsewhere` passes it.
 *
 * No file system here: the caller injects `readLink` (the runtime with `lstat`/`readlink`, the language server with its
 * own host), so the same decision and the same wording come out of `cairn run`, `cairn validate` and the editor.
 * POSIX paths ('/'-separated, absolute from '/').
 */

/**
 * Run tags (JSON) that record reads from outside the workspace: the pipeline's `allow_outside:` list as the run
 * started, and the inputs actually read there (`[{ path, real, allowedBy }]`, path as step_io records it).
 */
export const outsideTags = { allowed: 'cairn.allow_outside', read: 'cairn.outside_inputs' } as const;

/** What confinement may ask of the file system. */
export interface LinkReader {
  /** The target text of `abs` when it is a symbolic link; undefined when it is not a link or does not exist. */
  readLink(abs: string): string | undefined;
}

/** A symbolic link met on the way: where it is (absolute, as walked) and what it says. */
export interface FollowedLink {
  link: string;
  target: string;
}

/** `real`: where the path leads; `root`: the workspace's real folder (what `real` was compared with). */
export type Confinement =
  /** `real` is the workspace itself or below it. */
  | { kind: 'inside'; real: string; root: string }
  /** Outside the workspace, but below a folder the pipeline lists as a read-only input (`allow_outside:`). */
  | { kind: 'allowed'; real: string; root: string; allowedBy: string; links: FollowedLink[] }
  /**
   * Outside. `links`: the chain of links that carried it out, starting at the first one inside the workspace (empty
   * when the text of the path already leaves it); `loop`: the links go round (more than 40 followed).
   */
  | { kind: 'outside'; real: string; root: string; links: FollowedLink[]; loop: boolean };

export type Escape = Extract<Confinement, { kind: 'outside' | 'allowed' }>;

/** As many links as Linux follows for one path (ELOOP beyond). */
const MAX_LINKS = 40;

export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/');
}

/** `..` and `.` removed as text, as `path.resolve` does; '/'-separated; `base` absolute. */
export function resolveText(base: string, given: string): string {
  const joined = isAbsolutePath(given) ? given : `${base}/${given}`;
  const parts: string[] = [];
  for (const part of joined.split(/[\\/]+/)) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** `candidate` is `root` or below it (both absolute, normalized). */
export function isUnder(root: string, candidate: string): boolean {
  if (root === '/') return true;
  return candidate === root || candidate.startsWith(`${root}/`);
}

/** `abs` relative to `root` when below it ('.' for the root itself), else `abs` unchanged: how messages name paths. */
export function displayPath(root: string, abs: string): string {
  if (!isUnder(root, abs)) return abs;
  return abs === root ? '.' : abs.slice(root === '/' ? 1 : root.length + 1);
}

/**
 * Follows every link of `abs` (absolute, normalized) component by component, `..` after a link going up from where
 * the link led (as the kernel does). Components that do not exist are kept as written: a path to a file not written
 * yet resolves through its existing folders, so a not-yet-written output under a linked folder is seen for what it is.
 */
export function realPathOf(abs: string, reader: LinkReader): { real: string; links: FollowedLink[]; loop: boolean } {
  let done: string[] = [];
  let todo = abs.split('/').filter((p) => p !== '');
  const links: FollowedLink[] = [];
  while (todo.length > 0) {
    const part = todo.shift() ?? '';
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = `/${[...done, part].join('/')}`;
    const target = reader.readLink(here);
    if (target === undefined) {
      done.push(part);
      continue;
    }
    links.push({ link: here, target });
    if (links.length > MAX_LINKS) return { real: `/${[...done, part, ...todo].join('/')}`, links, loop: true };
    if (isAbsolutePath(target)) done = [];
    todo = [...target.split('/').filter((p) => p !== ''), ...todo];
  }
  return { real: `/${done.join('/')}`, links, loop: false };
}

/**
 * Decides whether `given` (relative to `base`, default the workspace `root`, or absolute) stays in the workspace once
 * its links are followed. `allowed`: absolute folders (or files) outside the workspace that may be read.
 */
export function confinePath(
  root: string,
  given: string,
  reader: LinkReader,
  options: { base?: string; allowed?: readonly string[] } = {},
): Confinement {
  const realRoot = realPathOf(resolveText('/', root), reader).real;
  const walked = realPathOf(resolveText(options.base ?? root, given), reader);
  if (!walked.loop && isUnder(realRoot, walked.real)) return { kind: 'inside', real: walked.real, root: realRoot };
  // The chain starts at the first link inside the workspace: links above it (e.g. /tmp -> /private/tmp) are not ours.
  const first = walked.links.findIndex((l) => isUnder(realRoot, l.link) && l.link !== realRoot);
  const links = first < 0 ? [] : walked.links.slice(first);
  if (!walked.loop) {
    for (const a of options.allowed ?? []) {
      const realAllowed = realPathOf(resolveText('/', a), reader).real;
      if (isUnder(realAllowed, walked.real))
        return { kind: 'allowed', real: walked.real, root: realRoot, allowedBy: a, links };
    }
  }
  return { kind: 'outside', real: walked.real, root: realRoot, links, loop: walked.loop };
}

/**
 * For a path that is written or replaced, not followed (an output: a link standing there is removed first): its folder
 * is confined, and `real` is where the file would land.
 */
export function confineWrite(
  root: string,
  given: string,
  reader: LinkReader,
  options: { base?: string } = {},
): Confinement {
  const abs = resolveText(options.base ?? root, given);
  const cut = abs.lastIndexOf('/');
  const folder = confinePath(root, cut <= 0 ? '/' : abs.slice(0, cut), reader);
  return withName(folder, abs.slice(cut + 1));
}

/** `result` of a folder, made the result for `name` in it (what `confineWrite` returns). */
export function withName(result: Confinement, name: string): Confinement {
  if (name === '') return result;
  return { ...result, real: result.real === '/' ? `/${name}` : `${result.real}/${name}` };
}

/**
 * The words for an escape, shared by the runtime's error and the editor's diagnostic: where the path really goes and
 * through which link, e.g. "resolves to /data/x through the link 'link' -> /data".
 */
export function describeEscape(result: Escape): string {
  const root = result.root;
  if (result.kind === 'outside' && result.loop) {
    const l = result.links[0];
    return `runs into a loop of symbolic links${l ? ` starting at '${displayPath(root, l.link)}'` : ''}`;
  }
  if (result.links.length === 0) return `resolves to ${result.real}`;
  const chain = result.links
    .map((l, i) => (i === 0 ? `'${displayPath(root, l.link)}' -> ${l.target}` : `-> ${l.target}`))
    .join(' ');
  return `resolves to ${result.real} through the symbolic link ${chain}`;
}
