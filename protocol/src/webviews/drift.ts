import { z } from 'zod';
import { hostErrorMessageSchema, readyMessageSchema, viewErrorMessageSchema, webviewIdSchema, webviewMessage } from './common.js';

/**
 * Drift view contract: one report (reference vs current) per feature with the test chosen, its statistic, the
 * threshold and the binned distributions, plus the same features scored over time windows.
 */

export const driftMethods = ['ks', 'chi2', 'wasserstein', 'jensenshannon', 'psi'] as const;
export const driftMethodSchema = z.enum(driftMethods);
export type DriftMethod = z.infer<typeof driftMethodSchema>;

const count = z.number().int().min(0);

/** Numeric feature: `edges` has one more entry than each count array (bin i is [edges[i], edges[i+1])). */
export const numericBinsSchema = z
  .strictObject({ kind: z.literal('numeric'), edges: z.array(z.number()).min(2), reference: z.array(count), current: z.array(count) })
  .refine((b) => [b.reference, b.current].every((c) => Array.isArray(c) && Array.isArray(b.edges) && c.length === b.edges.length - 1), {
    message: 'numeric bins need edges.length - 1 counts for reference and current',
  });
export const categoricalBinsSchema = z
  .strictObject({ kind: z.literal('categorical'), categories: z.array(z.string()).min(1), reference: z.array(count), current: z.array(count) })
  .refine((b) => [b.reference, b.current].every((c) => Array.isArray(c) && Array.isArray(b.categories) && c.length === b.categories.length), {
    message: 'categorical bins need one count per category for reference and current',
  });
export const driftBinsSchema = z.union([numericBinsSchema, categoricalBinsSchema]);
export type DriftBins = z.infer<typeof driftBinsSchema>;

export const driftTestResultSchema = z.strictObject({
  method: driftMethodSchema,
  statistic: z.number(),
  pValue: z.number().min(0).max(1).nullable(),
  /** Distance-based methods (Wasserstein, Jensen–Shannon, PSI) report a distance instead of a p-value. */
  distance: z.number().nullable(),
});
export type DriftTestResult = z.infer<typeof driftTestResultSchema>;

export const driftFeatureSchema = z.strictObject({
  name: z.string().min(1),
  type: z.enum(['numeric', 'categorical']),
  /** The test the decision was taken with (Evidently's default choice unless configured). */
  method: driftMethodSchema,
  /** p-value methods: drifted when pValue < threshold; distance methods: drifted when distance > threshold. */
  threshold: z.number(),
  /** The value compared with the threshold. */
  score: z.number(),
  drifted: z.boolean(),
  tests: z.array(driftTestResultSchema),
  bins: driftBinsSchema,
});
export type DriftFeature = z.infer<typeof driftFeatureSchema>;

export const driftWindowSchema = z.strictObject({
  /** Epoch milliseconds, [start, end). */
  start: z.number(),
  end: z.number(),
  rows: count,
  /** Share of features drifted in this window (0..1). */
  share: z.number().min(0).max(1),
  features: z.array(z.strictObject({ name: z.string(), score: z.number(), drifted: z.boolean() })),
});
export type DriftWindow = z.infer<typeof driftWindowSchema>;

export const driftViewReportSchema = z.strictObject({
  id: webviewIdSchema,
  title: z.string(),
  /** Epoch milliseconds. */
  createdAt: z.number(),
  referenceRows: count,
  currentRows: count,
  /** Dataset-level: share of drifted features and the share above which the dataset counts as drifted. */
  share: z.number().min(0).max(1),
  shareThreshold: z.number().min(0).max(1),
  drifted: z.boolean(),
  features: z.array(driftFeatureSchema),
  windows: z.array(driftWindowSchema),
});
export type DriftViewReport = z.infer<typeof driftViewReportSchema>;

export const driftQuerySchema = z.strictObject({
  /** A stored report (from `cairn monitor`), or the latest for a deployment. */
  reportId: webviewIdSchema.optional(),
  deployment: z.string().optional(),
});
export type DriftQuery = z.infer<typeof driftQuerySchema>;

// ---- extension → view
export const driftReportMessageSchema = webviewMessage('report', z.strictObject({ query: driftQuerySchema, report: driftViewReportSchema }));
export const driftToViewSchema = z.discriminatedUnion('type', [driftReportMessageSchema, hostErrorMessageSchema]);
export type DriftToView = z.infer<typeof driftToViewSchema>;

// ---- view → extension
/** Asks the extension to show the feature's column in the data (or the monitor config that sets its threshold). */
export const driftOpenThresholdsMessageSchema = webviewMessage('openThresholds', z.strictObject({ feature: z.string().min(1).max(512) }));
export const driftFromViewSchema = z.discriminatedUnion('type', [readyMessageSchema, viewErrorMessageSchema, driftOpenThresholdsMessageSchema]);
export type DriftFromView = z.infer<typeof driftFromViewSchema>;

export const driftViewStateSchema = z.looseObject({ query: driftQuerySchema });

// ---- `cairn drift --format json` (the runtime's DriftReport) → the view's report: one conversion, used by the runtime
// (stored monitoring reports) and by the extension (the CLI's output, checked with the schema below first).
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const driftCliFeatureSchema = z.object({
  name: z.string().min(1),
  type: z.enum(['numeric', 'categorical']),
  method: z.enum(['ks', 'chisquare', 'wasserstein', 'jensenshannon', 'psi']).nullable(),
  threshold: finite.nullable(),
  score: finite.nullable(),
  drifted: z.boolean(),
  skipped: z.string().optional(),
  tests: z.object({
    ks: z.object({ statistic: finite, pValue: finite }).optional(),
    chisquare: z.object({ statistic: finite, pValue: finite }).optional(),
    wasserstein: z.object({ distance: finite, normed: finite }).optional(),
    jensenshannon: z.object({ distance: finite }).optional(),
    psi: z.object({ value: finite }).optional(),
  }),
  bins: z
    .union([
      z.object({ kind: z.literal('histogram'), edges: z.array(finite), reference: z.array(finite), current: z.array(finite), currentBelow: finite, currentAbove: finite }),
      z.object({ kind: z.literal('categories'), categories: z.array(z.union([z.string(), z.number()])), reference: z.array(finite), current: z.array(finite) }),
    ])
    .optional(),
});
/** The dataset-level report `cairn drift --format json` prints (docs/cli.md, "Drift"). */
export const driftCliReportSchema = z.object({
  referenceRows: z.number().int(),
  currentRows: z.number().int(),
  features: z.array(driftCliFeatureSchema),
  shareDrifted: finite,
  shareThreshold: finite,
  datasetDrifted: z.boolean(),
});
export type DriftCliReport = z.infer<typeof driftCliReportSchema>;

const cliMethodOf = { ks: 'ks', chisquare: 'chi2', wasserstein: 'wasserstein', jensenshannon: 'jensenshannon', psi: 'psi' } as const satisfies Record<string, DriftMethod>;
const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

/**
 * The drift view's report from a drift report. Features that could not be tested (a side with no values) are left
 * out and named in `skipped`.
 */
export function driftViewFromCliReport(
  cli: DriftCliReport,
  meta: { id: string; title: string; createdAt: number; windows?: DriftWindow[] },
): { report: DriftViewReport; skipped: string[] } {
  const skipped: string[] = [];
  const features: DriftViewReport['features'] = [];
  for (const f of cli.features) {
    if (f.method === null || f.threshold === null || f.score === null || !f.bins) {
      skipped.push(`${f.name}${f.skipped ? ` (${f.skipped})` : ''}`);
      continue;
    }
    const tests: DriftTestResult[] = [];
    const t = f.tests;
    if (t.ks) tests.push({ method: 'ks', statistic: t.ks.statistic, pValue: clamp01(t.ks.pValue), distance: null });
    if (t.chisquare) tests.push({ method: 'chi2', statistic: t.chisquare.statistic, pValue: clamp01(t.chisquare.pValue), distance: null });
    if (t.wasserstein) tests.push({ method: 'wasserstein', statistic: t.wasserstein.normed, pValue: null, distance: t.wasserstein.normed });
    if (t.jensenshannon) tests.push({ method: 'jensenshannon', statistic: t.jensenshannon.distance, pValue: null, distance: t.jensenshannon.distance });
    if (t.psi) tests.push({ method: 'psi', statistic: t.psi.value, pValue: null, distance: t.psi.value });
    const b = f.bins;
    const bins: DriftViewReport['features'][number]['bins'] =
      b.kind === 'histogram'
        ? // Values outside the reference's range are counted into the outer bins so the totals match the data.
          { kind: 'numeric', edges: b.edges, reference: b.reference, current: b.current.map((c, i) => c + (i === 0 ? b.currentBelow : 0) + (i === b.current.length - 1 ? b.currentAbove : 0)) }
        : { kind: 'categorical', categories: b.categories.map(String), reference: b.reference, current: b.current };
    features.push({ name: f.name, type: f.type, method: cliMethodOf[f.method], threshold: f.threshold, score: f.score, drifted: f.drifted, tests, bins });
  }
  const report: DriftViewReport = {
    id: meta.id,
    title: meta.title,
    createdAt: meta.createdAt,
    referenceRows: cli.referenceRows,
    currentRows: cli.currentRows,
    share: clamp01(cli.shareDrifted),
    shareThreshold: clamp01(cli.shareThreshold),
    drifted: cli.datasetDrifted,
    features,
    windows: meta.windows ?? [],
  };
  return { report, skipped };
}
