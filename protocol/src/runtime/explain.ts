/* eslint-disable @typescript-eslint/no-namespace -- one namespace per message (method, schemas, type), as messages.ts does; STYLE.md. */
import { RequestType } from 'vscode-jsonrpc';
import { z } from 'zod';
import { explanationsSchema } from '../explain.js';

/**
 * Client → runtime: a run's explanations — each `explanations` output its evaluate steps recorded (explanations.json,
 * protocol/src/explain.ts), read from the artifact store by the hash the run recorded, not from the workspace file (a
 * later run may have overwritten it). An unknown run, a run without explanations, or an unknown step is a not-found
 * error saying what to do. Documented in docs/protocol.md.
 */
export namespace RunExplanationsRequest {
  export const method = 'runtime/explanations' as const;
  export const paramsSchema = z.object({
    runId: z.number().int(),
    /** Only this step's explanations (default: every step of the run that wrote some). */
    step: z.string().min(1).optional(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = z.object({
    runId: z.number().int(),
    /** In step order; never empty (a run without explanations is not-found). */
    steps: z.array(z.object({ step: z.string(), path: z.string(), explanations: explanationsSchema })).min(1),
  });
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/**
 * One logged prediction of a deployment (its prediction log, store table `predictions`), as the editor offers it to
 * explain. The log keeps no row id for readers, so a row is named by its time and its place among the rows logged at
 * that millisecond (`nth`: the rows of one request share their time, so it is the row's place in the request).
 */
export const servedPredictionSchema = z.object({
  at: z.number(),
  nth: z.number().int().min(0),
  arm: z.string(),
  version: z.number().int().nullable(),
  inputs: z.record(z.string(), z.unknown()),
  prediction: z.unknown(),
});
export type ServedPrediction = z.infer<typeof servedPredictionSchema>;

/** Client → runtime: a deployment's newest logged predictions, newest first (the "Explain a Served Prediction" pick). */
export namespace ServedPredictionsRequest {
  export const method = 'runtime/servedPredictions' as const;
  export const paramsSchema = z.object({
    deploymentId: z.number().int().positive(),
    limit: z.number().int().min(1).max(500).optional(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = z.object({
    deploymentId: z.number().int(),
    name: z.string(),
    rows: z.array(servedPredictionSchema),
  });
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}

/**
 * Client → runtime: the explanation of one logged prediction — its exact contributions, computed as `POST
 * /invocations` with `explain: true` computes them, by the version that answered it (restored from the registry), with
 * the permutation importance of the run that registered that version. A row of a file-served deployment, a model
 * without contributions (an MLP, a recommender) or a registering run without explanations is an error saying why.
 */
export namespace ExplainServedRequest {
  export const method = 'runtime/explainServed' as const;
  export const paramsSchema = z.object({
    deploymentId: z.number().int().positive(),
    at: z.number(),
    nth: z.number().int().min(0),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = z.object({
    /** "credit-risk v1 · deployment #2 · 2026-12-07 12:30:01.123 (row 1)" */
    title: z.string(),
    /** The registering run's explanations, with `contributions.rows` the one logged row. */
    explanations: explanationsSchema,
  });
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}
