import type { ExplainServedRequest, ServedPrediction, ServedPredictionsRequest } from '@cairn/protocol';
import type { Engine } from '../../executor/engine.js';
import type { LoggedPrediction } from '../../store/repos/deployments.js';
import { explainRows } from '../../serve/explain.js';
import { restoreVersion } from '../../serve/registered.js';
import { ModelRegistry } from '../../registry/registry.js';
import { RequestError, requestTable } from '../../serve/request.js';
import { loadServedModel, ServeLoadError } from '../../serve/served.js';
import { CairnError } from '../../util/errors.js';
import { explanationsOfRun } from './ofRun.js';

/**
 * Explanations of served predictions (`runtime/servedPredictions`, `runtime/explainServed`): a deployment's logged rows,
 * and one row's contributions by the version that answered it — the same code as `POST /invocations` with
 * `explain: true` (serve/explain.ts) on the row's logged inputs — next to the importance its registering run recorded.
 */

/** The logged rows of a deployment, oldest first, each with its place among the rows logged at the same time. */
async function loggedRows(engine: Engine, deploymentId: number): Promise<{ name: string; rows: ServedPrediction[] }> {
  const dep = await engine.store.deployments.get(deploymentId);
  if (!dep) throw new CairnError('not-found', `deployment ${deploymentId} does not exist (cairn deployments list)`);
  const logged = await engine.store.deployments.predictions([deploymentId]);
  const rows: ServedPrediction[] = [];
  let nth = 0;
  logged.forEach((p: LoggedPrediction, i) => {
    nth = i > 0 && logged[i - 1]?.at === p.at ? nth + 1 : 0;
    rows.push({
      at: p.at,
      nth,
      arm: p.arm,
      version: p.version,
      inputs: JSON.parse(p.inputsJson) as Record<string, unknown>,
      prediction: JSON.parse(p.predictionJson) as unknown,
    });
  });
  return { name: dep.name, rows };
}

export async function servedPredictions(
  engine: Engine,
  p: ServedPredictionsRequest.Params,
): Promise<ServedPredictionsRequest.Result> {
  const { name, rows } = await loggedRows(engine, p.deploymentId);
  return { deploymentId: p.deploymentId, name, rows: rows.slice(-(p.limit ?? 50)).reverse() };
}

const stamp = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');

export async function explainServed(
  engine: Engine,
  p: ExplainServedRequest.Params,
): Promise<ExplainServedRequest.Result> {
  const { name, rows } = await loggedRows(engine, p.deploymentId);
  const row = rows.find((r) => r.at === p.at && r.nth === p.nth);
  if (!row) {
    throw new CairnError(
      'not-found',
      `deployment ${p.deploymentId} logged no prediction at ${stamp(p.at)} (row ${p.nth + 1}): the log keeps its ` +
        'newest rows only; pick one it still has',
    );
  }
  if (row.version === null) {
    throw new CairnError(
      'invalid',
      `deployment ${p.deploymentId} serves a model file, not a registered version: send the row to its ` +
        '/invocations with "explain": true instead',
    );
  }
  const ref = `${name}@${row.version}`;
  const restored = await restoreVersion(engine.store, engine.workspace, ref, 'explain').catch((e: unknown) => {
    throw new CairnError('not-found', e instanceof Error ? e.message : String(e));
  });
  try {
    const model = await loadServedModel(restored.file, { name, version: row.version });
    let contributions;
    try {
      contributions = explainRows(model, requestTable({ dataframe_records: [row.inputs] }, model.fields));
    } catch (e) {
      // The server's own refusal (a model without contributions, inputs it no longer takes), said as the runtime's.
      if (e instanceof RequestError) throw new CairnError('invalid', `${ref}: ${e.message}`);
      throw e;
    }
    const version = await new ModelRegistry(engine.store, engine.objects, engine.workspace).find(ref);
    if (version.runId === null) {
      throw new CairnError('not-found', `${ref}: the run that registered it is gone, and with it its importance`);
    }
    const { steps } = await explanationsOfRun(engine, version.runId).catch((e: unknown) => {
      throw new CairnError(
        'not-found',
        `${ref}: ${e instanceof Error ? e.message : String(e)} (the view draws that run's importance beside the row)`,
      );
    });
    // The evaluate step that explained this very model file, else the run's first.
    const chosen = steps.find((s) => s.explanations.model === version.path) ?? steps[0];
    if (!chosen) throw new CairnError('not-found', `${ref}: run ${version.runId} recorded no explanations`);
    const [contribution] = contributions.rows;
    if (!contribution) throw new CairnError('invalid', `${ref}: no contributions for the logged row`);
    return {
      title: `${name} v${row.version} · deployment #${p.deploymentId} · ${stamp(row.at)} (row ${row.nth + 1})`,
      explanations: {
        ...chosen.explanations,
        contributions: {
          method: contributions.method,
          link: contributions.link,
          features: contributions.features,
          outputs: contributions.outputs,
          base: contributions.base,
          rows: [{ ...contribution, row: row.nth, inputs: inputsOf(row.inputs) }],
        },
        note: `The importance is run #${version.runId}'s (step ${chosen.step}); the contributions are of this logged row.`,
      },
    };
  } catch (e) {
    if (e instanceof ServeLoadError) throw new CairnError('invalid', `${ref}: ${e.message}`);
    throw e;
  } finally {
    await restored.remove();
  }
}

/** The logged inputs as the explanations file types them (a number, a text or missing). */
function inputsOf(inputs: Record<string, unknown>): Record<string, string | number | null> {
  return Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [
      k,
      typeof v === 'number' || typeof v === 'string' || v === null ? v : JSON.stringify(v),
    ]),
  );
}
