import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  combinationOverrides,
  expandMatrix,
  matrixParams,
  matrixSchema,
  mapGet,
  toValue,
  type Combination,
  type Matrix,
  type MatrixValue,
  type ResolvedPipeline,
  type RunEvent,
  type RunStatus,
} from '@cairn/protocol';
import { ensureBuiltinsFor } from '../executor/builtins.js';
import type { Engine } from '../executor/engine.js';
import type { RunHandle } from '../executor/executor.js';
import { formatDiagnosticText, loadPipeline, type LoadResult } from '../executor/loadPipeline.js';
import { CairnError } from '../util/errors.js';

/**
 * A sweep: every combination of a matrix is one normal run (the engine's run path, whichever executor that is) with
 * the combination's params overridden, grouped under one sweep id. Runs go side by side, bounded by the engine's
 * cores; steps shared by combinations run once (the engine's cache-key locks make the others wait and restore). On the
 * Slurm executor every run is submitted at once, each step one job array over the combinations (startSlurmSweep).
 */

export interface SweepCliMatrix {
  /** `-p name=a,b,c`: the values to try per param. */
  grid: Record<string, MatrixValue[]>;
  /** `--random N [--seed S]`: N combinations drawn from the grid's values instead of all of them. */
  random?: { n: number; seed?: number };
  parallel?: number;
}

export class SweepError extends CairnError {
  constructor(message: string) {
    super('refused', message);
    this.name = 'SweepError';
  }
}

/** The pipeline's own `matrix:` (undefined when it has none); its shape was checked with the pipeline. */
export function pipelineMatrix(loaded: Extract<LoadResult, { ok: true }>): Matrix | undefined {
  const entry = mapGet(loaded.document.root, 'matrix');
  return entry ? matrixSchema.parse(toValue(entry.value)) : undefined;
}

/** The CLI's `-p` lists replace the pipeline's matrix; without them the pipeline's `matrix:` is the sweep. */
export function sweepMatrix(fromFile: Matrix | undefined, cli: SweepCliMatrix, file: string): Matrix {
  let matrix: Matrix;
  if (Object.keys(cli.grid).length > 0) {
    matrix = cli.random
      ? {
          random: {
            n: cli.random.n,
            ...(cli.random.seed === undefined ? {} : { seed: cli.random.seed }),
            params: Object.fromEntries(Object.entries(cli.grid).map(([k, values]) => [k, { choice: values }])),
          },
        }
      : { params: cli.grid };
  } else if (fromFile) {
    matrix = cli.random && fromFile.random ? { ...fromFile, random: { ...fromFile.random, ...cli.random } } : fromFile;
  } else {
    throw new SweepError(`${file} has no matrix: add \`matrix: { params: { NAME: [v1, v2] } }\` or give -p NAME=v1,v2`);
  }
  return cli.parallel === undefined ? matrix : { ...matrix, parallel: cli.parallel };
}

export interface SweepCombination {
  params: Combination;
  runId: number;
  status: RunStatus;
  metrics: Record<string, number>;
  error: string | null;
}

export interface SweepOutcome {
  sweepId: number;
  pipeline: string;
  params: string[];
  combinations: SweepCombination[];
  status: RunStatus;
}

export interface SweepOptions {
  file: string;
  cwd: string;
  /** `-p name=value` overrides of params that are not swept (applied to every combination). */
  overrides?: Record<string, string>;
  force?: boolean;
  signal?: AbortSignal;
  /** Called as each combination's run starts, and with every event of every run. */
  onRunStarted?: (combination: Combination, runId: number) => void;
  onEvent?: (event: RunEvent) => void;
}

/** Runs at once and each run's core share: at most `parallel`, never more than the engine's cores or the combinations. */
export function sweepConcurrency(
  cores: number,
  combinations: number,
  parallel?: number,
): { runs: number; perRun: number } {
  const runs = Math.max(1, Math.min(parallel ?? cores, cores, combinations));
  return { runs, perRun: Math.max(1, Math.floor(cores / runs)) };
}

/**
 * Expands the matrix, resolves every combination's pipeline first (a value no param accepts is refused before anything
 * runs or is recorded), then records the sweep and runs the combinations.
 */
export async function runSweep(engine: Engine, matrix: Matrix, options: SweepOptions): Promise<SweepOutcome> {
  const combinations = expandMatrix(matrix);
  const pipelines: ResolvedPipeline[] = [];
  for (const c of combinations) {
    const overrides = { ...options.overrides, ...combinationOverrides(c) };
    const loaded = loadPipeline(options.file, { cwd: options.cwd, workspace: engine.workspace, overrides });
    if (!loaded.ok) {
      const why = loaded.message ?? loaded.diagnostics.map(formatDiagnosticText).join('\n');
      throw new SweepError(`combination ${JSON.stringify(c)} of the sweep cannot run; nothing was run:\n${why}`);
    }
    pipelines.push(loaded.pipeline);
  }
  const first = pipelines[0];
  if (!first) throw new SweepError('the matrix has no combinations');
  await ensureBuiltinsFor(first);
  await engine.store.ready;
  const params = matrixParams(matrix);
  const sweepId = await engine.store.sweeps.createSweep({
    pipelineName: first.name,
    pipelineFile: path.relative(engine.workspace, first.file) || first.file,
    matrix,
    params,
    combinations: combinations.length,
  });
  const results: SweepCombination[] = [];
  const active = new Set<RunHandle>();
  const cancel = () => {
    for (const h of active) h.cancel();
  };
  options.signal?.addEventListener('abort', cancel, { once: true });
  const settle = async (i: number, handle: RunHandle, filesRoot: string) => {
    const outcome = await handle.done.finally(() => active.delete(handle));
    // Its outputs are in the object store now (a later run restores them); the copy only took space.
    await fs.rm(filesRoot, { recursive: true, force: true });
    const metrics = (await engine.store.runs.summary(outcome.runId))?.metrics ?? {};
    const params = combinations[i] ?? {};
    results[i] = { params, runId: outcome.runId, status: outcome.status, metrics, error: outcome.error };
  };
  const force = options.force ? { force: true } : {};
  try {
    if (await engine.runsOnSlurm()) {
      // On Slurm every combination is submitted at once, each step one job array (the cluster schedules them).
      const roots = await Promise.all(pipelines.map((p, i) => combinationFolder(engine.workspace, p, sweepId, i)));
      const onSlurm = await engine.startSlurmSweep(
        pipelines.map((pipeline, i) => ({ pipeline, options: { sweepId, filesRoot: roots[i] ?? '', ...force } })),
        sweepId,
        options.onEvent,
      );
      onSlurm.forEach((handle, i) => {
        active.add(handle);
        options.onRunStarted?.(combinations[i] ?? {}, handle.runId);
      });
      if (options.signal?.aborted) cancel();
      await Promise.all(onSlurm.map((handle, i) => settle(i, handle, roots[i] ?? '')));
    } else {
      const { runs, perRun } = sweepConcurrency(engine.parallelism, combinations.length, matrix.parallel);
      let next = 0;
      const worker = async () => {
        while (next < combinations.length && !options.signal?.aborted) {
          const i = next++;
          const pipeline = pipelines[i] ?? first;
          const filesRoot = await combinationFolder(engine.workspace, pipeline, sweepId, i);
          const handle = await engine.start(
            pipeline,
            { sweepId, parallelism: perRun, filesRoot, ...force },
            options.onEvent,
          );
          active.add(handle);
          options.onRunStarted?.(combinations[i] ?? {}, handle.runId);
          await settle(i, handle, filesRoot);
        }
      };
      await Promise.all(Array.from({ length: runs }, worker));
    }
  } finally {
    options.signal?.removeEventListener('abort', cancel);
  }
  const done = results.filter((r): r is SweepCombination => r !== undefined);
  const status: RunStatus = options.signal?.aborted
    ? 'cancelled'
    : done.every((r) => r.status === 'succeeded')
      ? 'succeeded'
      : 'failed';
  return { sweepId, pipeline: first.name, params, combinations: done, status };
}

/**
 * A combination's own copy of the pipeline's folder, `.cairn/sweeps/<sweep>/<n>/`: its files hard-linked (copied
 * where linking fails), without `.cairn`, `.git` and the steps' outputs, which the run produces or restores itself.
 * Side-by-side runs thus never overwrite each other's outputs; a step must not edit its inputs in place.
 */
export async function combinationFolder(
  workspace: string,
  pipeline: ResolvedPipeline,
  sweepId: number,
  n: number,
): Promise<string> {
  const target = path.join(workspace, '.cairn', 'sweeps', String(sweepId), String(n));
  await fs.rm(target, { recursive: true, force: true });
  const outputs = pipeline.steps.flatMap((s) => [...Object.values(s.outs), ...s.metrics]).map((o) => path.normalize(o));
  const skipped = (rel: string) =>
    rel === '.cairn' || rel === '.git' || outputs.some((o) => rel === o || rel.startsWith(o + path.sep));
  const walk = async (rel: string): Promise<void> => {
    const from = path.join(pipeline.root, rel);
    const to = path.join(target, rel);
    await fs.mkdir(to, { recursive: true });
    for (const entry of await fs.readdir(from, { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (skipped(child) || path.join(pipeline.root, child) === path.join(workspace, '.cairn')) continue;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isSymbolicLink())
        await fs.symlink(await fs.readlink(path.join(from, entry.name)), path.join(to, entry.name));
      else if (entry.isFile()) {
        await fs
          .link(path.join(from, entry.name), path.join(to, entry.name))
          .catch(() => fs.copyFile(path.join(from, entry.name), path.join(to, entry.name)));
      }
    }
  };
  await walk('');
  return target;
}
