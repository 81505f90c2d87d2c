import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * Runs one command step as a child process in its own process group (`detached`), so cancelling kills the whole tree:
 * the shell, the program, and anything the program started.
 */
export interface CommandOptions {
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  onLine(stream: 'stdout' | 'stderr', line: string): void;
  /** Called with the pid (= process group id) once the child runs. */
  onSpawn?(pid: number): void;
  /** Milliseconds between SIGTERM and SIGKILL when cancelled. */
  killGraceMs?: number;
}

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  cancelled: boolean;
}

export function runCommand(options: CommandOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) {
      resolve({ code: null, signal: null, cancelled: true });
      return;
    }
    const child = spawn('/bin/sh', ['-c', options.command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const onAbort = () => {
      cancelled = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), options.killGraceMs ?? 2000);
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    const lines = (stream: 'stdout' | 'stderr', source: NodeJS.ReadableStream) => {
      const rl = createInterface({ input: source, crlfDelay: Infinity });
      rl.on('line', (line) => options.onLine(stream, line));
    };
    lines('stdout', child.stdout);
    lines('stderr', child.stderr);
    child.on('error', (error) => {
      options.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      reject(error);
    });
    child.on('exit', () => {
      // Leftover background processes of the step would hold its pipes open: the step is over, so they go too.
      killGroup('SIGKILL');
    });
    child.on('close', (code, signal) => {
      options.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      resolve({ code, signal, cancelled });
    });
  });
}

/** Parses `::cairn-metric loss=0.31 acc=0.9 step=3` (step optional); undefined when the line is not a metric line. */
export function parseMetricLine(
  line: string,
): { metrics: Array<{ key: string; value: number }>; step: number | undefined; error?: string } | undefined {
  const m = /^::cairn-metric\s+(.*)$/.exec(line.trim());
  if (!m) return undefined;
  const metrics: Array<{ key: string; value: number }> = [];
  let step: number | undefined;
  for (const token of (m[1] ?? '').split(/\s+/).filter(Boolean)) {
    const eq = token.indexOf('=');
    if (eq <= 0) return { metrics: [], step: undefined, error: `'${token}' is not key=value` };
    const key = token.slice(0, eq);
    const raw = token.slice(eq + 1);
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value))
      return { metrics: [], step: undefined, error: `${key}=${raw} is not a finite number` };
    if (key === 'step') step = value;
    else metrics.push({ key, value });
  }
  if (metrics.length === 0)
    return { metrics, step, error: 'no metric on the line (write ::cairn-metric name=value step=N)' };
  return { metrics, step };
}

/**
 * Follows the JSON-lines metrics file a command step appends to (CAIRN_METRICS): reads what is new on each poll and once
 * more when the step ends, keeping a partial last line until it is complete.
 */
export class MetricsFileTail {
  private offset = 0;
  private rest = '';
  private lineNo = 0;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly onLine: (line: string, lineNo: number) => void,
    pollMs = 200,
  ) {
    this.timer = setInterval(() => {
      this.reading = this.reading.then(() => this.read(false));
    }, pollMs);
  }

  private async read(final: boolean): Promise<void> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.file, 'r');
    } catch {
      return; // Not created yet: the step has written no metric.
    }
    try {
      const { size } = await handle.stat();
      if (size > this.offset) {
        const buf = Buffer.alloc(size - this.offset);
        const { bytesRead } = await handle.read(buf, 0, buf.length, this.offset);
        this.offset += bytesRead;
        this.rest += buf.subarray(0, bytesRead).toString('utf8');
      }
    } finally {
      await handle.close();
    }
    const parts = this.rest.split('\n');
    this.rest = final ? '' : (parts.pop() ?? '');
    for (const line of parts) {
      this.lineNo++;
      if (line.trim() !== '') this.onLine(line, this.lineNo);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.reading;
    await this.read(true);
  }
}
