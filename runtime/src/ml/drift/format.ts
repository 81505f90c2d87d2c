import { driftScoreOf, driftTests, isPValueTest, type DriftReport, type FeatureDrift } from '@cairn/protocol';

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a < 1e-4 || a >= 1e6 ? v.toExponential(3) : v.toPrecision(4);
}

function detail(f: FeatureDrift): string {
  const t = f.tests;
  const parts: string[] = [];
  // Each computed test by its one name: `ks p=…`, `wasserstein=…` (the score its decision reads).
  for (const test of driftTests) {
    const score = driftScoreOf(t, test);
    if (score !== undefined) parts.push(`${test}${isPValueTest(test) ? ' p' : ''}=${fmt(score)}`);
  }
  return parts.join('  ');
}

/** The report as an aligned text table for a terminal. */
export function formatDriftTable(report: DriftReport): string {
  const rows = report.features.map((f) => [
    f.name,
    f.type,
    f.method ?? 'skipped',
    fmt(f.score),
    f.threshold === null ? '—' : String(f.threshold),
    f.skipped ? 'n/a' : f.drifted ? 'DRIFT' : 'ok',
    f.skipped ?? detail(f),
  ]);
  const head = ['column', 'type', 'method', 'score', 'threshold', 'drift', 'all tests'];
  const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => (r[j] ?? '').length)));
  const line = (r: string[]) => r.map((c, j) => (j === r.length - 1 ? c : c.padEnd(widths[j] ?? 0))).join('  ');
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  out.push('');
  out.push(
    `${report.driftedColumns} of ${report.testedColumns} columns drifted (share ${fmt(report.shareDrifted)}; ` +
      `dataset drift at ≥ ${report.shareThreshold}): ${report.datasetDrifted ? 'DATASET DRIFT' : 'no dataset drift'}`,
  );
  if (report.onlyInReference.length)
    out.push(`only in the reference (not checked): ${report.onlyInReference.join(', ')}`);
  if (report.onlyInCurrent.length)
    out.push(`only in the current data (not checked): ${report.onlyInCurrent.join(', ')}`);
  return out.join('\n') + '\n';
}
