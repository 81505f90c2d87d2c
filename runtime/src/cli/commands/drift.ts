import * as path from 'node:path';
import { driftOverrideSchema, driftTests, type DriftOverride } from '@cairn/protocol';
import { flag, formatOf, parseArgs, UsageError, type CliCommand } from '../command.js';
import { readTable, DataError } from '../../ml/data/index.js';
import { driftReport, formatDriftTable, DriftInputError, type DriftOptions } from '../../ml/drift/index.js';

/** `--test col=psi` or `--test col=psi:0.2` → one override. */
function parseTest(spec: string): [string, DriftOverride] {
  const m = /^([^=]+)=([a-z]+)(?::(.+))?$/.exec(spec);
  if (!m) throw new UsageError(`--test ${spec}: write COLUMN=TEST or COLUMN=TEST:THRESHOLD (e.g. age=psi:0.2)`);
  const parsed = driftOverrideSchema.safeParse({
    test: m[2],
    threshold: m[3] === undefined ? undefined : Number(m[3]),
  });
  if (!parsed.success)
    throw new UsageError(
      `--test ${spec}: the test is one of ${driftTests.join(', ')}, and a threshold a positive number`,
    );
  return [m[1] as string, parsed.data];
}

export const driftCommand: CliCommand = {
  name: 'drift',
  summary:
    'Per-column drift between a reference and a current table (KS / chi-square / Wasserstein / Jensen–Shannon / PSI).',
  usage:
    'cairn drift --reference FILE --current FILE [--columns a,b] [--share 0.5] [--test COLUMN=TEST[:THRESHOLD]]… [--format json]',
  async run(args, io) {
    const parsed = parseArgs(args, { value: ['reference', 'current', 'columns', 'format', 'share', 'test'] });
    const format = formatOf(parsed);
    if (parsed.positionals.length) throw new UsageError(`unexpected argument ${parsed.positionals[0]}`);
    const reference = flag(parsed, 'reference');
    const current = flag(parsed, 'current');
    if (!reference || !current) throw new UsageError('--reference and --current are required');
    const options: DriftOptions = {};
    const columns = flag(parsed, 'columns');
    if (columns !== undefined) {
      options.columns = columns
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean);
      if (options.columns.length === 0) throw new UsageError('--columns needs at least one column name');
    }
    const share = flag(parsed, 'share');
    if (share !== undefined) {
      const s = Number(share);
      if (!(s > 0 && s <= 1)) throw new UsageError('--share must be a number in (0, 1]');
      options.share = s;
    }
    const tests = parsed.flags.get('test');
    if (tests) options.tests = Object.fromEntries(tests.map(parseTest));
    try {
      const [ref, cur] = await Promise.all([
        readTable(path.resolve(io.cwd, reference)),
        readTable(path.resolve(io.cwd, current)),
      ]);
      const report = driftReport(ref, cur, options);
      io.stdout(format === 'json' ? JSON.stringify(report) + '\n' : formatDriftTable(report));
      // Exit 1 is a finding: the dataset drifted (CI can gate on it).
      return report.datasetDrifted ? 1 : 0;
    } catch (error) {
      if (error instanceof DataError || error instanceof DriftInputError) {
        if (format === 'json') io.stdout(JSON.stringify({ error: error.message }) + '\n');
        io.stderr(`cairn drift: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  },
};
