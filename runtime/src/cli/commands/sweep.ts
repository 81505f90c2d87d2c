import { gridValues, type MatrixValue } from '@cairn/protocol';
import { flag, formatOf, parseArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { storeSettingsOf } from '../store.js';
import { Engine } from '../../executor/engine.js';
import { formatDiagnosticText, loadPipeline } from '../../executor/loadPipeline.js';
import { pipelineMatrix, runSweep, SweepError, sweepMatrix, type SweepOutcome } from '../../sweep/sweep.js';
import { workspaceOf } from '../../util/workspace.js';
import { table } from './models.js';
import { parseOverrides } from './run.js';
import { cell } from './runs.js';

function wholeNumber(parsed: ReturnType<typeof parseArgs>, key: string, min: number): number | undefined {
  const v = flag(parsed, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${key} ${v}: give a whole number, ${min} or more`);
  return n;
}

/** One row per combination: its run, status, the swept values and the chosen metrics. */
export function sweepTable(outcome: SweepOutcome, metrics: string[] | undefined): string {
  const keys = metrics ?? [...new Set(outcome.combinations.flatMap((c) => Object.keys(c.metrics)))].sort().slice(0, 6);
  const rows = [['RUN', 'STATUS', ...outcome.params, ...keys]];
  for (const c of outcome.combinations) {
    rows.push([
      String(c.runId),
      c.status,
      ...outcome.params.map((p) => String(c.params[p] ?? '')),
      ...keys.map((k) => cell(c.metrics[k])),
    ]);
  }
  return table(rows);
}

export const sweepCommand: CliCommand = {
  name: 'sweep',
  summary: "Run every combination of a parameter sweep (the pipeline's matrix: or -p NAME=V1,V2), side by side.",
  usage:
    'cairn sweep <pipeline> [-p NAME=V1,V2,…]… [--random N [--seed S]] [--parallel K] [--metric KEY]… [--force] ' +
    '[--workspace DIR] [--store URL|PATH] [--format json]',
  async run(args, io: CliIo) {
    const parsed = parseArgs(args, {
      boolean: ['force'],
      value: ['p', 'param', 'random', 'seed', 'parallel', 'metric', 'format', 'workspace', 'store'],
    });
    const format = formatOf(parsed);
    if (parsed.positionals.length !== 1) throw new UsageError('give the pipeline file to sweep');
    const file = parsed.positionals[0] ?? '';
    const given = parseOverrides([...(parsed.flags.get('p') ?? []), ...(parsed.flags.get('param') ?? [])]);
    // Lists make a CLI grid (single values join it as one-value axes); without a list, -p only overrides.
    const listed = Object.values(given).some((v) => v.includes(','));
    const grid: Record<string, MatrixValue[]> = listed
      ? Object.fromEntries(Object.entries(given).map(([k, v]) => [k, gridValues(v)]))
      : {};
    const random = wholeNumber(parsed, 'random', 1);
    const seed = wholeNumber(parsed, 'seed', 0);
    if (seed !== undefined && random === undefined) throw new UsageError('--seed goes with --random N');
    const parallel = wholeNumber(parsed, 'parallel', 1);
    const workspace = workspaceOf(parsed, io.cwd);

    const loaded = loadPipeline(file, { cwd: io.cwd, workspace, overrides: listed ? {} : given });
    if (!loaded.ok) {
      if (loaded.message) io.stderr(`cairn sweep: ${loaded.message}\n`);
      for (const d of loaded.diagnostics) io.stderr(formatDiagnosticText(d) + '\n');
      if (!loaded.message) io.stderr(`cairn sweep: ${file} is not valid; nothing was run\n`);
      return loaded.message ? 2 : 1;
    }
    let matrix;
    try {
      matrix = sweepMatrix(
        pipelineMatrix(loaded),
        {
          grid,
          ...(random === undefined ? {} : { random: { n: random, ...(seed === undefined ? {} : { seed }) } }),
          ...(parallel === undefined ? {} : { parallel }),
        },
        file,
      );
    } catch (error) {
      if (error instanceof SweepError) throw new UsageError(error.message);
      throw error;
    }
    const engine = await Engine.open(storeSettingsOf(parsed, workspace));
    const controller = new AbortController();
    const cancel = () => {
      io.stderr('\ncairn sweep: cancelling every run of the sweep…\n');
      controller.abort();
    };
    process.once('SIGINT', cancel);
    process.once('SIGTERM', cancel);
    let outcome: SweepOutcome;
    try {
      outcome = await runSweep(engine, matrix, {
        file,
        cwd: io.cwd,
        ...(listed ? {} : { overrides: given }),
        force: parsed.flags.has('force'),
        signal: controller.signal,
        onRunStarted: (c, runId) => {
          if (format === 'text') io.stderr(`run ${runId}: ${JSON.stringify(c)}\n`);
        },
      });
    } catch (error) {
      if (error instanceof SweepError) {
        io.stderr(`cairn sweep: ${error.message}\n`);
        return 1;
      }
      throw error;
    } finally {
      process.removeListener('SIGINT', cancel);
      process.removeListener('SIGTERM', cancel);
      await engine.close();
    }
    if (format === 'json') io.stdout(JSON.stringify(outcome) + '\n');
    else {
      io.stdout(
        `sweep ${outcome.sweepId} of ${outcome.pipeline}: ${outcome.status} (${outcome.combinations.length} runs)\n`,
      );
      io.stdout(sweepTable(outcome, parsed.flags.get('metric')));
      io.stdout(`(cairn runs list --sweep ${outcome.sweepId} lists its runs)\n`);
    }
    return outcome.status === 'succeeded' ? 0 : 1;
  },
};
