import type { DriftMethod, DriftTestResult, DriftViewReport, DriftWindow } from '@cairn/protocol';
import type { DriftReport, DriftTest } from '../ml/drift/index.js';

/**
 * A drift report as the drift view shows it (protocol/src/webviews/drift.ts), for the reports `cairn monitor` stores.
 * The extension's adapter (extension/src/commands/driftAdapter.ts) does the same from `cairn drift --format json`
 * after checking it with zod; here the report is in-process and typed. Untested columns (a side with no values) are
 * left out, as there.
 */
const methodOf: Record<DriftTest, DriftMethod> = { ks: 'ks', chisquare: 'chi2', wasserstein: 'wasserstein', jensenshannon: 'jensenshannon', psi: 'psi' };

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

export function driftViewReport(report: DriftReport, meta: { id: string; title: string; createdAt: number; windows: DriftWindow[] }): DriftViewReport {
  const features: DriftViewReport['features'] = [];
  for (const f of report.features) {
    if (f.method === null || f.threshold === null || f.score === null || !f.bins) continue;
    const t = f.tests;
    const tests: DriftTestResult[] = [];
    if (t.ks) tests.push({ method: 'ks', statistic: t.ks.statistic, pValue: clamp01(t.ks.pValue), distance: null });
    if (t.chisquare) tests.push({ method: 'chi2', statistic: t.chisquare.statistic, pValue: clamp01(t.chisquare.pValue), distance: null });
    if (t.wasserstein) tests.push({ method: 'wasserstein', statistic: t.wasserstein.normed, pValue: null, distance: t.wasserstein.normed });
    if (t.jensenshannon) tests.push({ method: 'jensenshannon', statistic: t.jensenshannon.distance, pValue: null, distance: t.jensenshannon.distance });
    if (t.psi) tests.push({ method: 'psi', statistic: t.psi.value, pValue: null, distance: t.psi.value });
    const b = f.bins;
    const bins: DriftViewReport['features'][number]['bins'] =
      b.kind === 'histogram'
        ? // Current values outside the reference's range count into the outer bins, so the totals match the data.
          { kind: 'numeric', edges: b.edges, reference: b.reference, current: b.current.map((c, i) => c + (i === 0 ? b.currentBelow : 0) + (i === b.current.length - 1 ? b.currentAbove : 0)) }
        : { kind: 'categorical', categories: b.categories.map(String), reference: b.reference, current: b.current };
    features.push({ name: f.name, type: f.type, method: methodOf[f.method], threshold: f.threshold, score: f.score, drifted: f.drifted, tests, bins });
  }
  return {
    id: meta.id,
    title: meta.title,
    createdAt: meta.createdAt,
    referenceRows: report.referenceRows,
    currentRows: report.currentRows,
    share: clamp01(report.shareDrifted),
    shareThreshold: clamp01(report.shareThreshold),
    drifted: report.datasetDrifted,
    features,
    windows: meta.windows,
  };
}
