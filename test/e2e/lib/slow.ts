import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';

/**
 * E2E_SLOW=1: a CPU-starved machine on purpose. One busy Node process per core spins for as long as the suite runs,
 * so code-server, the extension host, the runtime and Chromium get a fraction of the CPU they would (waits that only
 * pass on a fast machine fail here). Each spinner also checks now and then that the harness that started it is still
 * alive and exits when it is not, so none outlives a harness that was killed outright (SIGKILL: no exit handler
 * runs); a normal exit, a failure or Ctrl-C stops them at once.
 */

// Spins; every ~50 M iterations (well under a second) checks that the harness that started it is still alive.
const spinner = (harness: number): string =>
  `for (let i = 0; ; i++) if (i % 5e7 === 0) try { process.kill(${harness}, 0); } catch { process.exit(0); }`;

export interface CpuHogs {
  count: number;
  stop(): void;
}

export function starveCpu(): CpuHogs {
  const count = os.availableParallelism();
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++)
    children.push(spawn(process.execPath, ['-e', spinner(process.pid)], { stdio: 'ignore' }));
  const stop = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      stop();
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    });
  }
  return { count, stop };
}
