import { z } from 'zod';
import { titledDriftReportSchema } from '../drift.js';
import {
  hostErrorMessageSchema,
  readyMessageSchema,
  viewErrorMessageSchema,
  webviewIdSchema,
  webviewMessage,
} from './common.js';

/**
 * Drift view contract: the drift report (protocol/src/drift.ts) with its title and, for a monitoring report, the same
 * features scored over time windows.
 */

export const driftQuerySchema = z.strictObject({
  /** A stored report (from `cairn monitor`), or the latest for a deployment. */
  reportId: webviewIdSchema.optional(),
  deployment: z.string().optional(),
});
export type DriftQuery = z.infer<typeof driftQuerySchema>;

// ---- extension → view
export const driftReportMessageSchema = webviewMessage(
  'report',
  z.strictObject({ query: driftQuerySchema, report: titledDriftReportSchema }),
);
export const driftToViewSchema = z.discriminatedUnion('type', [driftReportMessageSchema, hostErrorMessageSchema]);
export type DriftToView = z.infer<typeof driftToViewSchema>;

// ---- view → extension
/** Asks the extension to show the feature's column in the data (or the monitor config that sets its threshold). */
export const driftOpenThresholdsMessageSchema = webviewMessage(
  'openThresholds',
  z.strictObject({ feature: z.string().min(1).max(512) }),
);
export const driftFromViewSchema = z.discriminatedUnion('type', [
  readyMessageSchema,
  viewErrorMessageSchema,
  driftOpenThresholdsMessageSchema,
]);
export type DriftFromView = z.infer<typeof driftFromViewSchema>;

export const driftViewStateSchema = z.looseObject({ query: driftQuerySchema });
