import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { flag, parseArgs, UsageError, type CliCommand } from '../command.js';
import { ensureBuiltinsFor } from '../../executor/builtins.js';
import { executeStepOfRun, type ExecuteOptions } from '../../executor/executor.js';
import { openRemote } from '../../cas/remote/sync.js';
import { formatDiagnosticText, loadPipeline } from '../../executor/loadPipeline.js';
import { ObjectStore } from '../../cas/objectStore.js';
import { openStore } from '../../store/open.js';
import { storeSettingsOf } from '../store.js';
import { workspaceOf } from '../../util/workspace.js';
import * as path from 'node:path';

const overridesSchema = z.record(z.string(), z.string());

/** A sweep's array manifest (startSlurmSweep writes it): task index → that combination's run. */
const manifestSchema = z.record(
  z.string(),
  z.object({ run: z.number().int().positive(), paramsFile: z.string(), filesRoot: z.string().optional() }),
);

/** The entry of this array task (SLURM_ARRAY_TASK_ID), or an error naming the file and what is missing. */
function manifestEntry(file: string, taskId: string | undefined): z.infer<typeof manifestSchema>[string] {
  if (taskId === undefined)
    throw new UsageError(`--manifest ${file}: SLURM_ARRAY_TASK_ID is not set (not an array task)`);
  const parsed = manifestSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new UsageError(`--manifest ${file}: ${parsed.error.message}`);
  const entry = parsed.data[taskId];
  if (!entry) throw new UsageError(`--manifest ${file} has no entry for array task ${taskId}`);
  return entry;
}

/** `-p` overrides of the run, as the scheduler wrote them (a 0600 file: a secret value must not sit in a job script). */
function readOverrides(file: string | undefined): Record<string, string> {
  if (file === undefined) return {};
  const parsed = overridesSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success)
    throw new UsageError(`--params-file ${file}: expected {"name": "value", …}: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * Hidden: runs ONE step of an existing run exactly as the local executor would. A cluster job (Slurm) runs this, so
 * caching, artifact hashing, lineage, metrics and logs are the local executor's own code.
 */
export const stepExecCommand: CliCommand = {
  name: 'step-exec',
  summary: 'Run one step of an existing run (what a cluster job runs).',
  usage:
    'cairn step-exec (--run RUN [--params-file FILE] [--files-root DIR] | --manifest FILE) --step STEP --pipeline FILE' +
    ' [--remote URL [--no-push]] [--force] [--workspace DIR]',
  async run(args, io) {
    const parsed = parseArgs(args, {
      boolean: ['force', 'no-push'],
      value: ['run', 'step', 'pipeline', 'params-file', 'workspace', 'store', 'files-root', 'remote', 'manifest'],
    });
    const manifest = flag(parsed, 'manifest');
    const entry = manifest === undefined ? undefined : manifestEntry(manifest, process.env.SLURM_ARRAY_TASK_ID);
    const runId = entry ? entry.run : Number(flag(parsed, 'run'));
    const step = flag(parsed, 'step');
    const file = flag(parsed, 'pipeline');
    if (!Number.isInteger(runId) || runId < 1) throw new UsageError('--run needs a run id');
    if (step === undefined || file === undefined) throw new UsageError('--step and --pipeline are required');
    const workspace = workspaceOf(parsed, io.cwd);
    const loaded = loadPipeline(file, {
      cwd: io.cwd,
      workspace,
      overrides: readOverrides(entry ? entry.paramsFile : flag(parsed, 'params-file')),
    });
    if (!loaded.ok) {
      io.stderr(`cairn step-exec: ${loaded.message ?? loaded.diagnostics.map(formatDiagnosticText).join('\n')}\n`);
      return 1;
    }
    await ensureBuiltinsFor(loaded.pipeline);
    const cairnDir = path.join(workspace, '.cairn');
    // The store the submitting run uses: CAIRN_STORE_URL travels with the job's environment, or the workspace config.
    const store = await openStore(storeSettingsOf(parsed, workspace));
    const controller = new AbortController();
    // scancel and a Slurm time limit send SIGTERM first: the step's process group is stopped like a local cancel.
    const stop = () => controller.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    try {
      await store.ready;
      const filesRoot = entry ? entry.filesRoot : flag(parsed, 'files-root');
      const remoteUrl = flag(parsed, 'remote');
      const options: ExecuteOptions = {
        store,
        objects: new ObjectStore(cairnDir),
        workspace,
        force: parsed.flags.has('force'),
        ...(filesRoot === undefined ? {} : { filesRoot: path.resolve(io.cwd, filesRoot) }),
        ...(remoteUrl === undefined
          ? {}
          : {
              remote: { remote: openRemote(remoteUrl, workspace, '--remote'), autoPush: !parsed.flags.has('no-push') },
            }),
      };
      const outcome = await executeStepOfRun(loaded.pipeline, options, runId, step, controller.signal);
      io.stdout(JSON.stringify(outcome) + '\n');
      return outcome.status === 'succeeded' ? 0 : 1;
    } finally {
      process.removeListener('SIGTERM', stop);
      process.removeListener('SIGINT', stop);
      await store.close();
    }
  },
};
