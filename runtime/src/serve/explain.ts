import { z } from 'zod';
import type { ServedContributions } from '@cairn/protocol';
import { contributions, type RowContributions } from '../ml/explain/contributions.js';
import { ExplainError } from '../ml/explain/permutation.js';
import { explainableModel, headerOf, rowOf } from '../ml/explain/report.js';
import type { Table } from '../ml/types.js';
import { RequestError } from './request.js';

/**
 * `POST /invocations` with `"explain": true` next to the rows: the answer adds each row's exact contributions
 * (TreeSHAP for trees, w·(x − mean) for linear models; runtime/src/ml/explain/). A model without them (an MLP, an
 * ONNX file without its model.json, a recommender) answers 422 `not_explainable` with the reason.
 */
const explainFlagSchema = z.object({ explain: z.boolean() }).partial();

/** Splits `explain` off a body (the rest is the MLflow scoring body); a non-boolean `explain` is a 400. */
export function explainFlag(body: unknown): { body: unknown; explain: boolean } {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !('explain' in body)) {
    return { body, explain: false };
  }
  const { explain, ...rest } = body as Record<string, unknown>;
  const parsed = explainFlagSchema.safeParse({ explain });
  if (!parsed.success) throw new RequestError(400, 'bad_body', 'body.explain: send true or false');
  return { body: rest, explain: parsed.data.explain === true };
}

export type Explainer = (table: Table) => ServedContributions;

/** The explainer of a served model file, or one that refuses with the reason. */
export async function servedExplainer(file: string): Promise<Explainer> {
  let found: Awaited<ReturnType<typeof explainableModel>>;
  try {
    found = await explainableModel(file);
  } catch (e) {
    found = { why: e instanceof Error ? e.message : String(e) };
  }
  if ('why' in found) {
    const why = found.why;
    return () => {
      throw new RequestError(422, 'not_explainable', `explain: true: ${why}`);
    };
  }
  const { model } = found;
  return (table) => {
    let c: RowContributions;
    try {
      c = contributions(model, table);
    } catch (e) {
      if (e instanceof ExplainError) throw new RequestError(422, 'not_explainable', `explain: true: ${e.message}`);
      throw e;
    }
    return { ...headerOf(c, model), rows: Array.from({ length: table.rowCount }, (_, r) => rowOf(c, r)) };
  };
}

/** Contributions of the rows a model answered; a recommender or a top-k answer has none. */
export function explainRows(model: { explain?: Explainer }, table: Table): ServedContributions {
  if (!model.explain)
    throw new RequestError(
      422,
      'not_explainable',
      'explain: true is for tabular models; a recommender has no contributions',
    );
  return model.explain(table);
}
