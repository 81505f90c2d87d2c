/* eslint-disable @typescript-eslint/no-namespace -- one namespace per message (method, schemas, type), as messages.ts does. */
import { RequestType } from 'vscode-jsonrpc';
import { z } from 'zod';

/**
 * A/B on business metrics (issue 13): the statistics' names and the report's shape, once. Computed by
 * runtime/src/ab/business.ts; shown by `cairn ab --format json` and the A/B view.
 */

/** The business metrics of a recommender arm, each computed per impression. */
export const abBusinessMetrics = ['ctr', 'conversion', 'revenuePerImpression'] as const;
export type AbBusinessMetric = (typeof abBusinessMetrics)[number];

/** An SRM p-value below this warns that the split is off (the usual threshold: Fabijan et al. 2019). */
export const srmAlarmPValue = 0.001;

const interval = z.tuple([z.number(), z.number()]);

/** A rate (clicks or purchases per impression) with its Wilson score interval. */
export const rateEstimateSchema = z.object({
  successes: z.number().int().nonnegative(),
  trials: z.number().int().nonnegative(),
  rate: z.number(),
  ci: interval,
});
export type RateEstimate = z.infer<typeof rateEstimateSchema>;

/** A mean per impression (revenue) with its Student-t interval. */
export const meanEstimateSchema = z.object({
  n: z.number().int().nonnegative(),
  mean: z.number(),
  sd: z.number(),
  ci: interval,
});
export type MeanEstimate = z.infer<typeof meanEstimateSchema>;

/** Sample size per arm to detect `mde` (absolute, on the metric's scale) at `alpha` (two-sided) with `power`. */
export const sampleSizeSchema = z.object({
  mde: z.number(),
  relative: z.boolean(),
  alpha: z.number(),
  power: z.number(),
  /** Cohen's h for rates, d = mde / sd for means. */
  effectSize: z.number(),
  perArm: z.number().int().positive().nullable(),
});
export type SampleSize = z.infer<typeof sampleSizeSchema>;

/** mSPRT (Johari et al. 2017, normal mixture N(0, tau²)): valid however often one looks. */
export const sequentialTestSchema = z.object({
  tau2: z.number().positive(),
  looks: z.number().int().nonnegative(),
  /** The always-valid p-value: the running minimum of 1/Λ over every look so far. */
  pValue: z.number().min(0).max(1),
  /** The confidence sequence at the last look, intersected with every earlier one. */
  ci: interval,
});
export type SequentialTest = z.infer<typeof sequentialTestSchema>;

/** challenger − champion on one metric. */
export const metricDifferenceSchema = z.object({
  metric: z.enum(abBusinessMetrics),
  method: z.enum(['two-proportion-z', 'welch-t']),
  difference: z.number(),
  /** difference / champion's value; null when the champion's value is 0. */
  relative: z.number().nullable(),
  ci: interval,
  statistic: z.number(),
  pValue: z.number().min(0).max(1),
  /** Welch's degrees of freedom (means only). */
  df: z.number().nullable(),
  /** Seeded percentile-bootstrap interval of the difference (means only). */
  bootstrapCi: interval.nullable(),
  sequential: sequentialTestSchema,
  sampleSize: sampleSizeSchema,
});
export type MetricDifference = z.infer<typeof metricDifferenceSchema>;

/** Chi-square goodness of fit of the impressions per arm against the configured split. */
export const srmCheckSchema = z.object({
  expectedShares: z.array(z.number()),
  observed: z.array(z.number().int()),
  chiSquare: z.number(),
  pValue: z.number().min(0).max(1),
  mismatch: z.boolean(),
});
export type SrmCheck = z.infer<typeof srmCheckSchema>;

/** One arm's business metrics: impressions shown, clicks and purchases on them, revenue. */
export const businessArmSchema = z.object({
  arm: z.enum(['champion', 'challenger']),
  version: z.number().int().nullable(),
  impressions: z.number().int().nonnegative(),
  clicks: z.number().int().nonnegative(),
  purchases: z.number().int().nonnegative(),
  revenue: z.number(),
  /** Impressions with a click / all impressions (Wilson interval). */
  ctr: rateEstimateSchema,
  /** Impressions with a purchase / all impressions (Wilson interval). */
  conversion: rateEstimateSchema,
  /** Revenue / impressions (t interval). */
  revenuePerImpression: meanEstimateSchema,
});
export type BusinessArm = z.infer<typeof businessArmSchema>;

/** `cairn ab business --format json` and the A/B view's business section. */
export const businessAbReportSchema = z.object({
  name: z.string(),
  deploymentId: z.number().int(),
  alpha: z.number(),
  power: z.number(),
  /** The minimum detectable effect asked for, as a share of the champion's value (relative) unless `relative` false. */
  mde: z.number(),
  relative: z.boolean(),
  /** The mSPRT looks at the data every `lookEvery` impressions (and at the end). */
  lookEvery: z.number().int().positive(),
  arms: z.tuple([businessArmSchema, businessArmSchema]),
  differences: z.array(metricDifferenceSchema),
  srm: srmCheckSchema,
  /** Sentences for the user: the SRM warning, arms with no data, an underpowered test. */
  warnings: z.array(z.string()),
  createdAt: z.number(),
});
export type BusinessAbReport = z.infer<typeof businessAbReportSchema>;

/** `cairn ab simulate --format json`: what the replay sent. */
export const simulateSummarySchema = z.object({
  requests: z.number().int().nonnegative(),
  impressions: z.number().int().nonnegative(),
  clicks: z.number().int().nonnegative(),
  purchases: z.number().int().nonnegative(),
  revenue: z.number(),
  /** Events the server stored (a rerun against the same deployment stores none: the event ids repeat). */
  accepted: z.number().int().nonnegative(),
});
export type SimulateSummary = z.infer<typeof simulateSummarySchema>;

/** Client → runtime: the business report of a model's deployment (by id, or its newest with a challenger). */
export namespace BusinessAbRequest {
  export const method = 'runtime/businessAb' as const;
  export const paramsSchema = z.object({
    name: z.string().min(1),
    deploymentId: z.number().int().positive().optional(),
    alpha: z.number().gt(0).lt(1).optional(),
    power: z.number().gt(0).lt(1).optional(),
    mde: z.number().positive().optional(),
    lookEvery: z.number().int().positive().optional(),
  });
  export type Params = z.infer<typeof paramsSchema>;
  export const resultSchema = businessAbReportSchema;
  export type Result = z.infer<typeof resultSchema>;
  export const type = new RequestType<Params, Result, void>(method);
}
