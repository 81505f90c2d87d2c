import { driftViewFromCliReport, type DriftViewReport, type DriftWindow } from '@cairn/protocol';
import type { DriftReport } from '../ml/drift/index.js';

/**
 * A drift report as the drift view shows it (protocol/src/webviews/drift.ts), for the reports `cairn monitor` stores:
 * the same conversion the extension applies to `cairn drift --format json`. Untested columns are left out.
 */
export function driftViewReport(report: DriftReport, meta: { id: string; title: string; createdAt: number; windows: DriftWindow[] }): DriftViewReport {
  return driftViewFromCliReport(report, meta).report;
}
