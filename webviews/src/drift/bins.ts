import type { DriftBins, DriftTest, FeatureDrift } from '@cairn/protocol/drift.js';
import { driftScoreOf, driftTests, isPValueTest } from '@cairn/protocol/drift.js';

/** A feature's bins as the distribution chart draws them: one bar pair per bin or category. */
export type ChartBins =
  | { kind: 'numeric'; edges: number[]; reference: number[]; current: number[] }
  | { kind: 'categorical'; categories: string[]; reference: number[]; current: number[] };

/**
 * The report's bins for the chart. Current values outside the reference's range (a histogram's overflow) are counted
 * into the outer bins, so the bars' totals match the data; categories are labelled as text.
 */
export function chartBins(b: DriftBins): ChartBins {
  if (b.kind === 'categories')
    return { kind: 'categorical', categories: b.categories.map(String), reference: b.reference, current: b.current };
  const last = b.current.length - 1;
  return {
    kind: 'numeric',
    edges: b.edges,
    reference: b.reference,
    current: b.current.map((c, i) => c + (i === 0 ? b.currentBelow : 0) + (i === last ? b.currentAbove : 0)),
  };
}

/** Every test computed for a feature, in the vocabulary's order: its statistic, and the p-value of p-value tests. */
export function computedTests(f: FeatureDrift): Array<{ test: DriftTest; statistic: number; pValue: number | null }> {
  const out: Array<{ test: DriftTest; statistic: number; pValue: number | null }> = [];
  for (const test of driftTests) {
    const score = driftScoreOf(f.tests, test);
    if (score === undefined) continue;
    const statistic =
      test === 'ks' ? f.tests.ks?.statistic : test === 'chisquare' ? f.tests.chisquare?.statistic : score;
    out.push({ test, statistic: statistic ?? score, pValue: isPValueTest(test) ? score : null });
  }
  return out;
}
