import { z } from 'zod';
import { explanationsSchema } from '../explain.js';
import { hostErrorMessageSchema, readyMessageSchema, viewErrorMessageSchema, webviewMessage } from './common.js';

/**
 * Explanation view contract: one explanations.json (protocol/src/explain.ts) — the importance bars with their
 * intervals, and one explained row's contributions as a waterfall from the base value to the row's margin.
 */
export const explainQuerySchema = z.strictObject({
  /** A run's evaluate step whose explanations.json is shown, or a served request's answer (no run). */
  runId: z.number().int().optional(),
  step: z.string().min(1).max(512).optional(),
  /** A logged prediction of a deployment (protocol/src/runtime/explain.ts, ExplainServedRequest). */
  served: z
    .strictObject({ deploymentId: z.number().int().positive(), at: z.number(), nth: z.number().int().min(0) })
    .optional(),
});
export type ExplainQuery = z.infer<typeof explainQuerySchema>;

// ---- extension → view
export const explainDataMessageSchema = webviewMessage(
  'explanations',
  z.strictObject({ query: explainQuerySchema, title: z.string().max(512), explanations: explanationsSchema }),
);
export const explainToViewSchema = z.discriminatedUnion('type', [explainDataMessageSchema, hostErrorMessageSchema]);
export type ExplainToView = z.infer<typeof explainToViewSchema>;

// ---- view → extension
export const explainFromViewSchema = z.discriminatedUnion('type', [readyMessageSchema, viewErrorMessageSchema]);
export type ExplainFromView = z.infer<typeof explainFromViewSchema>;

export const explainViewStateSchema = z.looseObject({ query: explainQuerySchema });
