import * as fs from 'node:fs';
import * as path from 'node:path';
import { runStatuses } from '@cairn/protocol';
import { until } from './wait.js';

/**
 * A run's state history as the extension received it: the "Cairn Runtime" log has one line per `runtime/progress`
 * notification (`run #12 recommender: running`, extension/src/views/format.ts progressLogLine), and VS Code writes a
 * LogOutputChannel to `Cairn Runtime.log` under the window's logs folder. The file only grows, so a state that lasted
 * less than a frame in the Experiments view is still there when the test looks: nothing can be missed.
 */

const channelFile = 'Cairn Runtime.log';
const finished = new Set<string>(runStatuses.filter((s) => s !== 'running'));

function logFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name === channelFile)
    .map((e) => path.join(e.parentPath, e.name));
}

/** The runtime log of the window whose runtime serves `folder` (each window has its own extension host and log). */
export function logOf(userData: string, folder: string): string | undefined {
  const names = new Set([folder, fs.realpathSync(folder)]);
  for (const file of logFiles(path.join(userData, 'logs'))) {
    const text = fs.readFileSync(file, 'utf8');
    const served = [...text.matchAll(/ready \(pid \d+, workspace (.+?), \d+ parallel steps\)/g)].map((m) => m[1]);
    if (served.some((w) => w !== undefined && names.has(w))) return text;
  }
  return undefined;
}

/** The statuses of run #id itself (not its steps), in the order they arrived. */
export function runStates(log: string, id: number): string[] {
  const line = new RegExp(`\\brun #${id} [^:›\\n]+: (\\w+)`, 'g');
  return [...log.matchAll(line)].map((m) => m[1] ?? '');
}

/**
 * Waits until run #id's history in the runtime log of the window on `folder` ends in a final state, and returns it
 * (e.g. `['running', 'succeeded']`). The log is written off the extension host's thread, shortly after the view updates.
 */
export function runHistory(userData: string, folder: string, id: number, timeoutMs = 30_000): Promise<string[]> {
  let log: string | undefined;
  let states: string[] = [];
  return until(
    () => {
      log = logOf(userData, folder);
      states = log === undefined ? [] : runStates(log, id);
      return finished.has(states.at(-1) ?? '') ? states : undefined;
    },
    () =>
      `run #${id} did not reach a final state in the runtime log (${log === undefined ? `no ${channelFile} under ${userData}/logs names ${folder}` : `states so far: ${states.join(' → ') || 'none'}`})`,
    timeoutMs,
  );
}

/**
 * The last `lines` lines of the runtime log of the window on `folder`, for a failed journey's report; when no log names
 * the folder yet (the runtime never got ready), the newest runtime log, said so.
 */
export function runtimeLogTail(userData: string, folder: string, lines = 25): string {
  const own = logOf(userData, folder);
  let text = own;
  let which = 'its window';
  if (own === undefined) {
    const newest = logFiles(path.join(userData, 'logs'))
      .map((f) => ({ f, t: fs.statSync(f).mtimeMs }))
      .sort((a, b) => b.t - a.t)[0];
    if (!newest) return `no ${channelFile} under ${userData}/logs`;
    text = fs.readFileSync(newest.f, 'utf8');
    which = `the newest one (none names ${folder})`;
  }
  const tail = (text ?? '').trimEnd().split('\n').slice(-lines);
  return [`${channelFile}, ${which}, last ${tail.length} lines:`, ...tail.map((l) => `  | ${l}`)].join('\n');
}
