import { execFileSync } from 'node:child_process';
import * as os from 'node:os';

export interface GitState {
  commit: string | null;
  dirty: boolean | null;
}

/** The commit and dirty state of the repository holding `dir`; nulls when it is not a git work tree or git is absent. */
export function gitState(dir: string): GitState {
  try {
    const opts = {
      cwd: dir,
      encoding: 'utf8' as const,
      stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    };
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts);
    return { commit: commit || null, dirty: status.trim().length > 0 };
  } catch {
    // Not a repository, no commit yet, or no git: reproducibility info is recorded as unknown, not as an error.
    return { commit: null, dirty: null };
  }
}

const users = new Map<string, string>();

/**
 * Who starts a run and where: `git config user.email` of the repository holding `dir` (what teammates recognise),
 * else the OS user name; and the host name. Read once per folder and process.
 */
export function runUser(dir: string): { user: string; host: string } {
  let user = users.get(dir);
  if (user === undefined) {
    try {
      user = execFileSync('git', ['config', 'user.email'], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 5000,
      }).trim();
    } catch {
      // No git, or no user.email configured: the OS user names the person.
      user = '';
    }
    if (user === '') user = osUser();
    users.set(dir, user);
  }
  return { user, host: os.hostname() };
}

/** The OS user name (USER when the password database has no entry, as in some containers). */
export function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}
