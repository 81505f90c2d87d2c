import { existsSync } from 'node:fs';
import type { DriftReport } from '@cairn/protocol';
import { CairnError } from '../../util/errors.js';
import { resolveInside } from '../../util/paths.js';
import { readTable } from '../data/index.js';
import { driftReport, type DriftOptions } from './report.js';

/**
 * The drift of a workspace's `current` data file against its `reference` (paths absolute or relative to the
 * workspace, never outside it): `runtime/drift`. A missing file is not-found; bad data or columns are invalid.
 */
export async function driftOfFiles(
  workspace: string,
  files: { reference: string; current: string },
  options: DriftOptions = {},
): Promise<DriftReport> {
  const [reference, current] = (['reference', 'current'] as const).map((side) => {
    const file = resolveInside(workspace, files[side], `the ${side} data ${files[side]}`);
    if (!existsSync(file)) throw new CairnError('not-found', `the ${side} data ${files[side]} does not exist`);
    return file;
  }) as [string, string];
  const [ref, cur] = await Promise.all([readTable(reference), readTable(current)]);
  return driftReport(ref, cur, options);
}
