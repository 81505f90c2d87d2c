import { z } from 'zod';

/**
 * Drift: the one definition of its vocabulary (test names, thresholds, Evidently's choice rule) and of its result (a
 * feature's drift and the dataset's report). The runtime computes it (runtime/src/ml/drift/), `cairn drift --format
 * json` and the `drift.check` step print it, `cairn monitor` stores it with its windows, the language server completes
 * the test names of `deploy.monitor.drift` and `drift.check`'s `tests:`, and the drift view draws it. docs/ml.md,
 * "Drift", defines every statistic.
 */

// ---------------------------------------------------------------- vocabulary

/** The tests, as spelled in pipelines, on the command line (`--test col=psi`) and in every report. */
export const driftTests = ['ks', 'chisquare', 'wasserstein', 'jensenshannon', 'psi'] as const;
export const driftTestSchema = z.enum(driftTests);
export type DriftTest = z.infer<typeof driftTestSchema>;

/** How people write them: full names (the view's tooltips, the CLI's summary) and short ones (table cells). */
export const driftTestNames: Readonly<Record<DriftTest, { long: string; short: string }>> = {
  ks: { long: 'Kolmogorov–Smirnov', short: 'KS' },
  chisquare: { long: 'chi-square', short: 'χ²' },
  wasserstein: { long: 'Wasserstein (normed)', short: 'Wasserstein' },
  jensenshannon: { long: 'Jensen–Shannon', short: 'JS' },
  psi: { long: 'PSI', short: 'PSI' },
};

/** Evidently's default thresholds: p-value tests drift below theirs, distances at or above theirs. */
export const defaultDriftThresholds: Readonly<Record<DriftTest, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.1,
};

/** Tests whose score is a p-value (drift when below the threshold); the others are distances (drift at or above). */
export function isPValueTest(test: DriftTest): boolean {
  return test === 'ks' || test === 'chisquare';
}

/** Tests that need numbers (an error on a categorical column). */
export function isNumericOnlyTest(test: DriftTest): boolean {
  return test === 'ks' || test === 'wasserstein';
}

/** Whether a score drifts by its test's rule. */
export function driftDecision(test: DriftTest, score: number, threshold: number): boolean {
  return isPValueTest(test) ? score < threshold : score >= threshold;
}

/** Up to this many non-missing reference values, the statistical tests (KS / chi-square); above, the distances. */
export const driftSmallReferenceRows = 1000;

/**
 * Evidently's default (calculations/stattests/registry.py `_get_default_stattest`): ≤ 1,000 reference values → KS, or
 * chi-square for ≤ 5 distinct values and for categories; above → normed Wasserstein, or Jensen–Shannon for ≤ 5
 * distinct values and for categories. Evidently uses a two-proportion z-test for ≤ 2 values: its p-value equals the
 * uncorrected 2×2 chi-square's. PSI is available by name.
 */
export function defaultDriftTest(type: 'numeric' | 'categorical', referenceCount: number, distinct: number): DriftTest {
  const few = type === 'categorical' || distinct <= 5;
  if (referenceCount <= driftSmallReferenceRows) return few ? 'chisquare' : 'ks';
  return few ? 'jensenshannon' : 'wasserstein';
}

/** `deploy.monitor.drift` may also name the default choice: `auto` (or `evidently`, the same). */
export const driftTestSettings = ['auto', 'evidently', ...driftTests] as const;
export const driftTestSettingSchema = z.enum(driftTestSettings);

/** A per-column override: `drift.check`'s `tests:`, `cairn drift --test COLUMN=TEST[:THRESHOLD]`. */
export const driftOverrideSchema = z.strictObject({ test: driftTestSchema, threshold: z.number().gt(0).optional() });
export type DriftOverride = z.infer<typeof driftOverrideSchema>;

// ---------------------------------------------------------------- the result

// zod 4's number() refuses NaN and ±Infinity: a statistic that is not a number never passes for one.
const finite = z.number();
const count = z.number().int().min(0);
const share = z.number().min(0).max(1);

export const ksResultSchema = z.object({ statistic: finite, pValue: finite, method: z.enum(['exact', 'asymp']) });
export type KsResult = z.infer<typeof ksResultSchema>;
export const chiSquareResultSchema = z.object({ statistic: finite, pValue: finite, dof: count });
export type ChiSquareResult = z.infer<typeof chiSquareResultSchema>;

/** Every test that was computed for a feature (the deciding one among them). */
export const driftTestResultsSchema = z.object({
  ks: ksResultSchema.optional(),
  wasserstein: z.object({ distance: finite, normed: finite, referenceStd: finite }).optional(),
  psi: z.object({ value: finite }).optional(),
  jensenshannon: z.object({ distance: finite }).optional(),
  chisquare: chiSquareResultSchema.optional(),
});
export type DriftTestResults = z.infer<typeof driftTestResultsSchema>;

/** A test's score as its decision reads it: the p-value, or the distance (Wasserstein: the normed one). */
export function driftScoreOf(tests: DriftTestResults, test: DriftTest): number | undefined {
  switch (test) {
    case 'ks':
      return tests.ks?.pValue;
    case 'chisquare':
      return tests.chisquare?.pValue;
    case 'wasserstein':
      return tests.wasserstein?.normed;
    case 'jensenshannon':
      return tests.jensenshannon?.distance;
    case 'psi':
      return tests.psi?.value;
  }
}

export const driftBinsSchema = z.union([
  z
    .object({
      kind: z.literal('histogram'),
      /** Sturges edges cut from the reference; bin i is [edges[i], edges[i+1]), the last one closed. */
      edges: z.array(finite).min(2),
      reference: z.array(count),
      current: z.array(count),
      /** Current values below the first / above the last edge (the reference has none there). */
      currentBelow: count,
      currentAbove: count,
    })
    .refine((b) => [b.reference, b.current].every((c) => c.length === b.edges.length - 1), {
      message: 'histogram bins need edges.length - 1 counts for reference and current',
    }),
  z
    .object({
      kind: z.literal('categories'),
      categories: z.array(z.union([z.string(), finite])).min(1),
      reference: z.array(count),
      current: z.array(count),
    })
    .refine((b) => [b.reference, b.current].every((c) => c.length === b.categories.length), {
      message: 'category bins need one count per category for reference and current',
    }),
]);
export type DriftBins = z.infer<typeof driftBinsSchema>;

export const featureDriftSchema = z.object({
  name: z.string().min(1),
  type: z.enum(['numeric', 'categorical']),
  /** The test that decides `drifted`, or null when the column could not be tested (see `skipped`). */
  method: driftTestSchema.nullable(),
  threshold: finite.nullable(),
  /** The deciding test's value: a p-value for ks / chisquare, a distance otherwise. */
  score: finite.nullable(),
  drifted: z.boolean(),
  /** Why no test ran (a side with no values). */
  skipped: z.string().optional(),
  referenceCount: count,
  currentCount: count,
  referenceMissing: count,
  currentMissing: count,
  /** Distinct non-missing values over both samples (counted up to 21: enough for the test choice). */
  distinct: count,
  tests: driftTestResultsSchema,
  bins: driftBinsSchema.optional(),
});
export type FeatureDrift = z.infer<typeof featureDriftSchema>;

/** The dataset-level report (`cairn drift --format json`, `drift.check`'s drift.json, `runtime/drift`). */
export const driftReportSchema = z.object({
  referenceRows: count,
  currentRows: count,
  features: z.array(featureDriftSchema),
  /** Tested columns that drifted / tested columns (skipped columns left out); 0 when none was tested. */
  shareDrifted: share,
  driftedColumns: count,
  testedColumns: count,
  shareThreshold: share,
  datasetDrifted: z.boolean(),
  /** Columns only one table has (not checked unless asked for, which is an error). */
  onlyInReference: z.array(z.string()),
  onlyInCurrent: z.array(z.string()),
});
export type DriftReport = z.infer<typeof driftReportSchema>;

/** The features scored over one window of logged traffic (`cairn monitor`). */
export const driftWindowSchema = z.object({
  /** Epoch milliseconds, [start, end). */
  start: finite,
  end: finite,
  rows: count,
  /** Share of tested features drifted in this window. */
  share,
  features: z.array(z.object({ name: z.string(), score: finite, drifted: z.boolean() })),
});
export type DriftWindow = z.infer<typeof driftWindowSchema>;

/**
 * A report with what names it: a stored monitoring report (`monitor:<id>`, with its windows) or one computed from two
 * files in the editor (`files-<n>`, no windows). What `cairn monitor` stores and the drift view shows.
 */
export const titledDriftReportSchema = driftReportSchema.extend({
  id: z.string().min(1).max(512),
  title: z.string(),
  /** Epoch milliseconds. */
  createdAt: finite,
  windows: z.array(driftWindowSchema),
});
export type TitledDriftReport = z.infer<typeof titledDriftReportSchema>;
