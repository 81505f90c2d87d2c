import { readFileSync } from 'node:fs';

/**
 * Whether a process still runs: it exists (EPERM: it exists but belongs to someone else) and, where /proc tells, is
 * not a zombie waiting to be reaped. Used to mark runs and deployments whose process died unannounced.
 */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
