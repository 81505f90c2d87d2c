import { z } from 'zod';
import { businessAbReportSchema } from '../runtime/abBusiness.js';
import { abResultSchema } from '../runtime/deploy.js';
import { hostErrorMessageSchema, readyMessageSchema, viewErrorMessageSchema, webviewMessage } from './common.js';

/**
 * A/B result view contract: one stored A/B result (`runtime/abResults`: per-arm online metrics, the significance test
 * with its confidence interval and decision), and a "Promote challenger" action the extension turns into a
 * PromoteModelRequest (with the promotion gates shown first).
 */

/** Which result the panel shows, kept in the view state for reloads: one by id, or the latest of a model. */
export const abQuerySchema = z.strictObject({
  resultId: z.number().int().optional(),
  name: z.string().min(1).max(512).optional(),
});
export type AbQuery = z.infer<typeof abQuerySchema>;

// ---- extension → view
export const abResultMessageSchema = webviewMessage(
  'result',
  z.strictObject({
    query: abQuerySchema,
    result: abResultSchema,
    /** The alias the challenger would be promoted to (e.g. `champion`); null: no promotion offered (untrusted workspace). */
    promoteTo: z.string().nullable(),
  }),
);
/** What a promotion the view asked for did (the extension shows the gates itself; the view shows the outcome). */
export const abPromotedMessageSchema = webviewMessage(
  'promoted',
  z.strictObject({ resultId: z.number().int(), ok: z.boolean(), message: z.string().max(4000) }),
);
/** The business metrics (CTR, conversion, revenue per impression) of the model's deployment with a challenger. */
export const abBusinessMessageSchema = webviewMessage('business', z.strictObject({ report: businessAbReportSchema }));
export const abToViewSchema = z.discriminatedUnion('type', [
  abResultMessageSchema,
  abPromotedMessageSchema,
  abBusinessMessageSchema,
  hostErrorMessageSchema,
]);
export type AbToView = z.infer<typeof abToViewSchema>;

// ---- view → extension
/** Promote the challenger of the shown result; the extension honours only the id of the result it sent. */
export const abPromoteMessageSchema = webviewMessage('promote', z.strictObject({ resultId: z.number().int() }));
export const abFromViewSchema = z.discriminatedUnion('type', [
  readyMessageSchema,
  viewErrorMessageSchema,
  abPromoteMessageSchema,
]);
export type AbFromView = z.infer<typeof abFromViewSchema>;

export const abViewStateSchema = z.looseObject({ query: abQuerySchema });
