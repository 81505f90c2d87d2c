import { driftCliReportSchema, driftViewFromCliReport, driftViewReportSchema, type DriftViewReport } from '@cairn/protocol';

/**
 * `cairn drift --format json` (a process boundary: checked with zod) → the drift view's report, by the one conversion in
 * protocol/src/webviews/drift.ts. Pure, unit-tested. Features the CLI could not test are named in `skipped`.
 */
export type DriftConversion = { ok: true; report: DriftViewReport; skipped: string[] } | { ok: false; error: string };

export function toDriftViewReport(raw: unknown, meta: { id: string; title: string; createdAt: number }): DriftConversion {
  const parsed = driftCliReportSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, error: `cairn drift printed an unexpected report (${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})` };
  }
  const { report, skipped } = driftViewFromCliReport(parsed.data, meta);
  const checked = driftViewReportSchema.safeParse(report);
  if (!checked.success) return { ok: false, error: `the drift report does not fit the drift view: ${checked.error.issues[0]?.message ?? 'invalid'}` };
  return { ok: true, report: checked.data, skipped };
}
