import { settingEnv } from '../../config/workspace.js';
import { storeSettingsOf } from '../store.js';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RunEvent, StepStatus } from '@cairn/protocol';
import { flag, formatOf, parseArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { ensureBuiltinsFor } from '../../executor/builtins.js';
import { Engine } from '../../executor/engine.js';
import { RunRequestError, selectSteps, type RunOutcome } from '../../executor/executor.js';
import { formatDiagnosticText, loadPipeline } from '../../executor/loadPipeline.js';
import { PathEscapeError } from '../../util/confine.js';
import { workspaceOf } from '../../util/workspace.js';

/** `-p name=value` pairs; the value is typed later by the param's declared type. */
export function parseOverrides(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`-p ${v}: write -p NAME=VALUE (e.g. -p lr=0.01)`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

const symbols: Record<StepStatus | 'cached', string> = {
  pending: '·',
  running: '▸',
  succeeded: '✓',
  cached: '✓',
  failed: '✗',
  cancelled: '⊘',
  skipped: '-',
  interrupted: '!',
};

function seconds(ms: number | undefined): string {
  return ms === undefined ? '' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Live progress: on a terminal, one line per step redrawn in place; elsewhere, a line per change. */
class Progress {
  private readonly rows = new Map<
    string,
    { status: StepStatus; cacheHit: boolean; durationMs?: number; startedAt: number; message?: string }
  >();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly io: CliIo,
    steps: string[],
    private readonly logs: boolean,
  ) {
    for (const s of steps) this.rows.set(s, { status: 'pending', cacheHit: false, startedAt: 0 });
    if (io.isTty) this.timer = setInterval(() => this.draw(), 200);
  }

  on(event: RunEvent): void {
    if (event.type === 'log') {
      if (this.logs) this.io.stderr(`[${event.step}] ${event.line}\n`);
      return;
    }
    if (event.type !== 'progress' || event.step === undefined) return;
    const row = this.rows.get(event.step);
    if (!row) return;
    const status: StepStatus = event.status;
    row.status = status;
    row.cacheHit = event.cacheHit === true;
    if (status === 'running') row.startedAt = Date.now();
    if (event.durationMs !== undefined) row.durationMs = event.durationMs;
    if (event.message !== undefined) row.message = event.message;
    if (this.io.isTty) this.draw();
    else this.io.stdout(`${this.line(event.step)}\n`);
  }

  private line(step: string): string {
    const r = this.rows.get(step);
    if (!r) return step;
    const width = Math.max(...[...this.rows.keys()].map((k) => k.length));
    const duration = r.status === 'running' ? seconds(Date.now() - r.startedAt) : seconds(r.durationMs);
    const note = r.cacheHit ? 'cache hit' : r.status === 'failed' || r.status === 'skipped' ? (r.message ?? '') : '';
    return `${symbols[r.cacheHit ? 'cached' : r.status]} ${step.padEnd(width)}  ${r.status.padEnd(9)} ${duration.padStart(8)}${note ? `  ${note}` : ''}`;
  }

  private draw(): void {
    const lines = [...this.rows.keys()].map((s) => this.line(s));
    // Move up over the previous block and rewrite it.
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    this.io.stdout(up + lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n');
    this.drawn = lines.length;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.io.isTty) this.draw();
  }
}

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'Run a pipeline (all steps, one step, or a step and everything downstream), with caching and tracking.',
  usage:
    'cairn run <pipeline> [-p NAME=VALUE]… [--step STEP [--downstream]] [--force] [--jobs N] [--executor local|slurm] [--logs] [--remote URL] [--workspace DIR] [--store URL|PATH] [--format json]',
  async run(args, io) {
    const parsed = parseArgs(args, {
      boolean: ['downstream', 'force', 'logs'],
      value: ['p', 'param', 'step', 'jobs', 'format', 'workspace', 'remote', 'executor', 'store'],
    });
    const format = formatOf(parsed);
    if (parsed.positionals.length !== 1)
      throw new UsageError(
        parsed.positionals.length === 0
          ? 'give the pipeline file to run'
          : `one pipeline at a time (got ${parsed.positionals.join(' ')})`,
      );
    const file = parsed.positionals[0] ?? '';
    const overrides = parseOverrides([...(parsed.flags.get('p') ?? []), ...(parsed.flags.get('param') ?? [])]);
    const step = flag(parsed, 'step');
    const downstream = parsed.flags.has('downstream');
    if (downstream && step === undefined) throw new UsageError('--downstream needs --step');
    const jobsFlag = flag(parsed, 'jobs');
    const jobs = jobsFlag === undefined ? undefined : Number(jobsFlag);
    if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1))
      throw new UsageError(`--jobs ${jobsFlag}: give a whole number of parallel steps, 1 or more`);
    const workspace = workspaceOf(parsed, io.cwd);

    const loaded = loadPipeline(file, { cwd: io.cwd, workspace, overrides });
    if (!loaded.ok) {
      if (loaded.message) {
        io.stderr(`cairn run: ${loaded.message}\n`);
        return 2;
      }
      if (format === 'json') io.stdout(JSON.stringify({ diagnostics: loaded.diagnostics }) + '\n');
      else {
        for (const d of loaded.diagnostics) io.stderr(formatDiagnosticText(d) + '\n');
        io.stderr(
          `cairn run: ${file} is not valid; nothing was run (fix the errors above, \`cairn validate ${file}\` checks again)\n`,
        );
      }
      return 1;
    }
    if (format === 'text') for (const w of loaded.warnings) io.stderr(formatDiagnosticText(w) + '\n');

    await ensureBuiltinsFor(loaded.pipeline);
    const remote = flag(parsed, 'remote');
    const executor = flag(parsed, 'executor');
    const storeSettings = storeSettingsOf(parsed, workspace);
    // Slurm jobs (cairn step-exec) inherit the environment: they write to the store this run uses.
    if (storeSettings.store.source === 'flag' && storeSettings.store.value)
      process.env[settingEnv.store] = storeSettings.store.value;
    const engine = await Engine.open(storeSettings, {
      ...(jobs === undefined ? {} : { parallelism: jobs }),
      ...(remote === undefined ? {} : { remote }),
      ...(executor ? { executor } : {}),
    });
    let outcome: RunOutcome;
    try {
      let handle;
      let progress: Progress | undefined;
      try {
        const names = selectSteps(loaded.pipeline, step, downstream).map((s) => s.name);
        progress = format === 'text' ? new Progress(io, names, parsed.flags.has('logs')) : undefined;
        const selected = { ...(step === undefined ? {} : { step }), downstream, force: parsed.flags.has('force') };
        handle = await engine.start(loaded.pipeline, selected, (e) => progress?.on(e));
      } catch (error) {
        progress?.stop();
        if (error instanceof RunRequestError || error instanceof PathEscapeError) {
          io.stderr(`cairn run: ${error.message}\n`);
          return error instanceof RunRequestError ? 2 : 1;
        }
        throw error;
      }
      if (format === 'text') io.stderr(`run ${handle.runId} of ${loaded.pipeline.name}\n`);
      const cancel = () => {
        io.stderr('\ncairn run: cancelling (stopping running steps)…\n');
        handle.cancel();
      };
      process.once('SIGINT', cancel);
      process.once('SIGTERM', cancel);
      try {
        outcome = await handle.done;
      } finally {
        process.removeListener('SIGINT', cancel);
        process.removeListener('SIGTERM', cancel);
        progress?.stop();
      }
    } finally {
      await engine.close();
    }
    if (format === 'json') {
      io.stdout(JSON.stringify(outcome) + '\n');
    } else {
      // The end of a failed step's log, unless it was streamed already.
      if (!parsed.flags.has('logs')) {
        for (const [name, s] of Object.entries(outcome.steps)) {
          if (s.status !== 'failed') continue;
          const log = path.join(workspace, '.cairn', 'logs', String(outcome.runId), `${name}.log`);
          const lines = existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n').slice(-15) : [];
          if (lines.length > 0)
            io.stderr(
              `--- ${name} (last ${lines.length} lines of ${path.relative(io.cwd, log)}) ---\n${lines.join('\n')}\n`,
            );
        }
      }
      const counts = Object.values(outcome.steps);
      const hits = counts.filter((s) => s.cacheHit).length;
      io.stdout(
        `run ${outcome.runId}: ${outcome.status} (${counts.length} steps, ${hits} from cache)${outcome.error ? ` — ${outcome.error}` : ''}\n`,
      );
    }
    return outcome.status === 'succeeded' ? 0 : 1;
  },
};
