import { readFile, writeFile } from 'node:fs/promises';
import { registerBuiltins } from './index.js';
import { StepError, type BuiltinContext } from './types.js';
import {
  DataError,
  getColumn,
  inferSchema,
  isMissing,
  parseTimestamp,
  profileColumn,
  readTable,
  selectColumns,
  splitTable,
  takeRows,
  validateTable,
  writeCsv,
  type Schema,
} from '../ml/data/index.js';
import type { Table } from '../ml/types.js';
import { asStepErrors, builtinSpec as spec, parseOptions } from './support.js';
import { columnSchemaSchema } from '@cairn/protocol';

/** The data.* built-ins: load, validate (data-quality report), split. */

/** Bad data becomes a StepError: its message (file, line, what to do) is shown as is. */
const userErrors = (f: () => Promise<void>): Promise<void> => asStepErrors(f, [DataError]);

async function dataLoad(ctx: BuiltinContext): Promise<void> {
  const o = parseOptions(spec('data.load'), ctx);
  await userErrors(async () => {
    let table = await readTable(o.path, o.format);
    if (o.columns) table = selectColumns(table, o.columns, o.path);
    if (table.rowCount === 0) ctx.log(`warning: ${o.path} has a header but no rows`);
    if (ctx.signal.aborted) return;
    await writeCsv(table, ctx.outputs.data as string);
    const schema = inferSchema(table);
    const profiles = table.columns.map((c) => profileColumn(c, table.rowCount));
    await writeFile(ctx.outputs.schema as string, JSON.stringify({ columns: schema, profiles }, null, 1) + '\n');
    ctx.metric('rows', table.rowCount);
    ctx.metric('columns', table.columns.length);
    for (const p of profiles) if (p.pii.pii) ctx.log(`personal data? column '${p.name}': ${p.pii.reasons.join('; ')}`);
    ctx.log(
      `${table.rowCount} rows × ${table.columns.length} columns: ${table.columns.map((c) => `${c.name}:${c.type}`).join(', ')}`,
    );
  });
}

/** A data.load schema.json ({columns: …}) or a bare rules object. */
async function schemaFromFile(file: string): Promise<Schema | undefined> {
  try {
    const json = JSON.parse(await readFile(file, 'utf8')) as { columns?: unknown };
    const parsed = columnSchemaSchema.safeParse(json.columns ?? json);
    return parsed.success ? parsed.data : undefined;
  } catch {
    // No schema beside the input is normal: the rules are then inferred.
    return undefined;
  }
}

async function dataValidate(ctx: BuiltinContext): Promise<void> {
  const o = parseOptions(spec('data.validate'), ctx);
  await userErrors(async () => {
    const input = o.input;
    const table = await readTable(input);
    let schema = o.schema;
    if (!schema && ctx.dataSchemas.input) {
      const parsed = columnSchemaSchema.safeParse(ctx.dataSchemas.input);
      if (!parsed.success)
        throw new StepError(`the data entry's schema is invalid: ${parsed.error.issues[0]?.message ?? ''}`);
      schema = parsed.data;
    }
    if (!schema) {
      schema = (await schemaFromFile(input.replace(/data\.csv$/, 'schema.json'))) ?? inferSchema(table);
      ctx.log('no schema given: checking against the inferred one (types, required columns)');
    }
    const { clean, report } = validateTable(table, schema, {
      dropMissing: o.drop_missing,
      dropDuplicates: o.drop_duplicates,
    });
    if (ctx.signal.aborted) return;
    await writeFile(ctx.outputs.report as string, JSON.stringify({ input, schema, ...report }, null, 1) + '\n');
    await writeCsv(clean, ctx.outputs.clean as string);
    ctx.metric('rows', report.cleanRows);
    ctx.metric('dropped_rows', report.droppedRows);
    ctx.metric('missing_share', report.missingShare);
    for (const f of report.findings)
      ctx.log(`${f.severity}: ${f.message}${f.lines.length ? ` (lines ${f.lines.join(', ')})` : ''}`);
    if (report.piiColumns.length)
      ctx.log(`personal data in: ${report.piiColumns.join(', ')} (a model card needs a privacy section)`);
    const failOn = o.fail_on;
    const failing = failOn === 'never' ? 0 : failOn === 'warning' ? report.errors + report.warnings : report.errors;
    if (failing > 0) {
      const first = report.findings.find((f) => f.severity === 'error') ?? report.findings[0];
      throw new StepError(
        `${input}: ${failing} data-quality finding${failing === 1 ? '' : 's'} (fail_on: ${failOn}); first: ${first?.message ?? ''}`,
        'See report.json for every finding; fix the data, adjust the schema, or set drop_missing / fail_on.',
      );
    }
  });
}

/**
 * "Now" for a time split: the rows up to `as_of` (in file order) are the past that train and test are drawn from; the
 * later ones, oldest first, are the future. `as_of_fraction` names "now" by the share of rows seen: the time of the last
 * of them, so rows sharing that time all stay in the past and the future starts strictly later.
 */
export function cutAtTime(
  table: Table,
  by: string,
  at: { asOf?: number | string; asOfFraction?: number },
  file: string,
): { past: Table; future: Table; asOf: number } {
  const col = getColumn(table, by, file);
  if (col.type === 'string' || col.type === 'bool')
    throw new DataError(
      `time column '${by}' holds ${col.type === 'bool' ? 'booleans' : 'text'}; use a timestamp or number column`,
      file,
    );
  const n = table.rowCount;
  for (let i = 0; i < n; i++) {
    if (isMissing(col, i))
      throw new DataError(
        `time column '${by}' is missing a value on line ${i + 2}; fill or drop such rows (data.validate drop_missing) first`,
        file,
        i + 2,
      );
  }
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (col.values[a] as number) - (col.values[b] as number) || a - b,
  );
  let asOf: number;
  if (at.asOfFraction !== undefined) {
    const seen = Math.max(1, Math.round(n * at.asOfFraction));
    asOf = col.values[order[seen - 1] as number] as number;
  } else if (typeof at.asOf === 'string') {
    if (col.type !== 'timestamp') {
      throw new DataError(
        `as_of '${at.asOf}' is a date but time column '${by}' holds numbers (${col.type}); give as_of as a number in the column's unit`,
        file,
      );
    }
    asOf = parseTimestamp(at.asOf);
    if (!Number.isFinite(asOf))
      throw new DataError(`as_of '${at.asOf}' is not an ISO 8601 date (e.g. 2008-01-01 or 2008-01-01T12:00:00Z)`, file);
  } else {
    asOf = at.asOf as number;
  }
  const past: number[] = [];
  for (let i = 0; i < n; i++) if ((col.values[i] as number) <= asOf) past.push(i);
  const future = order.filter((i) => (col.values[i] as number) > asOf);
  return { past: future.length === 0 ? table : takeRows(table, past), future: takeRows(table, future), asOf };
}

async function dataSplit(ctx: BuiltinContext): Promise<void> {
  const o = parseOptions(spec('data.split'), ctx);
  await userErrors(async () => {
    const input = o.input;
    const by = o.by;
    const asOf = o.as_of;
    const asOfFraction = o.as_of_fraction;
    if ((asOf !== undefined || asOfFraction !== undefined) && !by) {
      throw new StepError(
        `${ctx.step}: ${asOf !== undefined ? 'as_of' : 'as_of_fraction'} needs \`by\` (the time column that says what is past and what is future)`,
        "Add `by: <time column>` to the step's `with:`, or remove the option.",
      );
    }
    if (asOf !== undefined && asOfFraction !== undefined) {
      throw new StepError(`${ctx.step}: give either as_of or as_of_fraction, not both`);
    }
    let table = await readTable(input);
    let future: Table | null = null;
    let cut: number | null = null;
    if (by && (asOf !== undefined || asOfFraction !== undefined)) {
      const c = cutAtTime(table, by, { asOf, asOfFraction }, input);
      table = c.past;
      future = c.future;
      cut = c.asOf;
      if (table.rowCount === 0)
        throw new DataError(
          `no row is at or before as_of ${cut}: every row is in the future; choose a later as_of`,
          input,
        );
    }
    const r = splitTable(table, {
      testFraction: o.test_fraction,
      validFraction: o.valid_fraction,
      by,
      stratify: o.stratify,
      seed: o.seed,
      file: input,
    });
    if (ctx.signal.aborted) return;
    await writeCsv(r.train, ctx.outputs.train as string);
    await writeCsv(r.test, ctx.outputs.test as string);
    if (r.valid && ctx.outputs.valid) await writeCsv(r.valid, ctx.outputs.valid);
    if (future && ctx.outputs.future) await writeCsv(future, ctx.outputs.future);
    else if (future && future.rowCount > 0)
      ctx.log(`warning: ${future.rowCount} rows after as_of are left out; declare the output \`future\` to keep them`);
    ctx.metric('train_rows', r.train.rowCount);
    ctx.metric('test_rows', r.test.rowCount);
    if (future && cut !== null) {
      ctx.metric('future_rows', future.rowCount);
      ctx.metric('as_of', cut);
    }
    const asOfText = cut === null ? '' : `; as of ${by as string} = ${cut}, future ${future?.rowCount ?? 0}`;
    ctx.log(
      `train ${r.train.rowCount}, test ${r.test.rowCount}${r.valid ? `, valid ${r.valid.rowCount}` : ''} (${by ? `by time '${by}'` : o.stratify ? `stratified by '${o.stratify}'` : 'random'})${asOfText}`,
    );
  });
}

registerBuiltins({ 'data.load': dataLoad, 'data.validate': dataValidate, 'data.split': dataSplit });
