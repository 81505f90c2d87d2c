import { writeFile } from 'node:fs/promises';
import { registerBuiltins } from './index.js';
import { StepError, type BuiltinContext } from './types.js';
import { DataError, readTable } from '../ml/data/index.js';
import { driftReport, DriftInputError, type DriftOptions } from '../ml/drift/index.js';
import { builtinSpec, parseOptions } from './support.js';

/** drift.check: per-feature drift report (drift.json) and the share of drifted columns as metrics. */
async function driftCheck(ctx: BuiltinContext): Promise<void> {
  const o = parseOptions(builtinSpec('drift.check'), ctx);
  const reference = o.reference;
  const current = o.current;
  try {
    const [ref, cur] = await Promise.all([readTable(reference), readTable(current)]);
    const options: DriftOptions = { share: o.share };
    if (o.columns) options.columns = o.columns;
    if (o.tests) options.tests = o.tests;
    const report = driftReport(ref, cur, options);
    if (ctx.signal.aborted) return;
    await writeFile(ctx.outputs.report as string, JSON.stringify(report, null, 1) + '\n');
    for (const f of report.features) {
      ctx.log(
        f.skipped
          ? `${f.name}: skipped — ${f.skipped}`
          : `${f.name}: ${f.method} ${f.score} (threshold ${f.threshold}) ${f.drifted ? 'DRIFT' : 'ok'}`,
      );
    }
    ctx.metric('share_drifted', report.shareDrifted);
    ctx.metric('drifted_columns', report.driftedColumns);
    ctx.log(
      `${report.driftedColumns} of ${report.testedColumns} columns drifted; dataset drift: ${report.datasetDrifted}`,
    );
  } catch (error) {
    if (error instanceof DataError || error instanceof DriftInputError) throw new StepError(error.message);
    throw error;
  }
}

registerBuiltins({ 'drift.check': driftCheck });
