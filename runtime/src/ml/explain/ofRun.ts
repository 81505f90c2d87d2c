import { readFile } from 'node:fs/promises';
import { explanationsOutputName, explanationsSchema, type RunExplanationsRequest } from '@cairn/protocol';
import type { Engine } from '../../executor/engine.js';
import { CorruptObjectError, MissingObjectError } from '../../cas/objectStore.js';
import { CairnError } from '../../util/errors.js';

/**
 * A run's explanations (`runtime/explanations`): each `explanations` output its steps recorded, read from the artifact
 * store by the recorded hash (the workspace file may be a later run's) and checked against protocol/src/explain.ts.
 */
export async function explanationsOfRun(
  engine: Engine,
  runId: number,
  step?: string,
): Promise<RunExplanationsRequest.Result> {
  if (!(await engine.store.runs.exists(runId))) throw new CairnError('not-found', `run ${runId} does not exist`);
  const all = await engine.store.artifacts.namedOutputsOfRun(runId, explanationsOutputName);
  if (all.length === 0) {
    throw new CairnError(
      'not-found',
      `run ${runId} recorded no explanations: add \`explain: true\` to an evaluate.classification or evaluate.regression ` +
        'step (keeping its `explanations` output) and run the pipeline again',
    );
  }
  const chosen = step === undefined ? all : all.filter((o) => o.step === step);
  if (chosen.length === 0) {
    const steps = [...new Set(all.map((o) => o.step))].join(', ');
    throw new CairnError(
      'not-found',
      `step ${step} of run ${runId} recorded no explanations; the steps that did: ${steps}`,
    );
  }
  const steps: RunExplanationsRequest.Result['steps'] = [];
  for (const o of chosen) {
    const what = `the explanations ${o.path} of step ${o.step} in run ${runId}`;
    try {
      await engine.objects.verify(o.hash);
    } catch (error) {
      if (error instanceof MissingObjectError || error instanceof CorruptObjectError) {
        throw new CairnError(
          'not-found',
          `${what}: ${error.message.replace(/; the step will run again$/, '')}; run the pipeline again`,
        );
      }
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(await readFile(engine.objects.pathOf(o.hash), 'utf8'));
    } catch (error) {
      throw new CairnError(
        'invalid',
        `${what} is not JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    const parsed = explanationsSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      throw new CairnError(
        'invalid',
        `${what} is not a cairn.explanations file (${issues}); run the step again with --force`,
      );
    }
    steps.push({ step: o.step, path: o.path, explanations: parsed.data });
  }
  return { runId, steps };
}
