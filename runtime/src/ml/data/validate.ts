import type { Column, Table } from '../types.js';
import { detectPii, type PiiFlag } from './pii.js';
import { cellText, isMissing, parseTimestamp, takeRows } from './table.js';

/**
 * Schema inference and validation, producing the data-quality report of data.validate (docs/ml.md, "Data").
 * Rules follow the catalogue's `columnSchemaSchema` (protocol/src/pipeline/builtins.ts).
 */
export type RuleType = 'int' | 'float' | 'string' | 'bool' | 'category' | 'timestamp';

export interface ColumnRule {
  type: RuleType;
  min?: number;
  max?: number;
  required?: boolean;
  unique?: boolean;
  values?: Array<string | number>;
  pii?: boolean;
}

export type Schema = Record<string, ColumnRule>;

export interface ColumnProfile {
  name: string;
  type: Column['type'];
  missing: number;
  missingShare: number;
  distinct: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  /** The most frequent values (up to 5) of text and low-cardinality columns. */
  top: Array<{ value: string; count: number }>;
  pii: PiiFlag;
}

export interface Finding {
  severity: 'error' | 'warning';
  column: string | null;
  rule: string;
  message: string;
  /** How many rows break the rule. */
  count: number;
  /** File line numbers (header = line 1) of the first offending rows. */
  lines: number[];
}

export interface QualityReport {
  rows: number;
  columns: number;
  cleanRows: number;
  droppedRows: number;
  missingShare: number;
  profiles: ColumnProfile[];
  findings: Finding[];
  errors: number;
  warnings: number;
  /** Columns holding personal data (detected, or marked `pii: true`). */
  piiColumns: string[];
}

const CATEGORY_MAX = 50;
/** Rules about rows: reported only when some row breaks them. */
const ROW_RULES = new Set(['required', 'type', 'range', 'values', 'unique', 'duplicates']);

/** The schema a table suggests: each column's type, `required` when nothing is missing, categories for small text sets. */
export function inferSchema(table: Table): Schema {
  const schema: Schema = {};
  for (const col of table.columns) {
    const missing = countMissing(col);
    const rule: ColumnRule = { type: col.type, required: missing === 0 && table.rowCount > 0 };
    if (col.type === 'string') {
      const distinct = new Set(col.values.filter((v): v is string => v !== null));
      if (distinct.size > 0 && distinct.size <= CATEGORY_MAX && distinct.size <= table.rowCount / 2) {
        rule.type = 'category';
        rule.values = [...distinct].sort();
      }
    }
    schema[col.name] = rule;
  }
  return schema;
}

function countMissing(col: Column): number {
  let m = 0;
  for (let i = 0; i < (col.type === 'string' ? col.values.length : col.values.length); i++) if (isMissing(col, i)) m++;
  return m;
}

export function profileColumn(col: Column, rows: number): ColumnProfile {
  const missing = countMissing(col);
  const counts = new Map<string, number>();
  let min: number | null = null;
  let max: number | null = null;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < rows; i++) {
    if (isMissing(col, i)) continue;
    const t = cellText(col, i) as string;
    counts.set(t, (counts.get(t) ?? 0) + 1);
    if (col.type !== 'string') {
      const v = col.values[i] as number;
      min = min === null || v < min ? v : min;
      max = max === null || v > max ? v : max;
      sum += v;
      n++;
    }
  }
  let std: number | null = null;
  const mean = n > 0 ? sum / n : null;
  if (mean !== null && col.type !== 'string') {
    let q = 0;
    for (let i = 0; i < rows; i++) if (!isMissing(col, i)) q += ((col.values[i] as number) - mean) ** 2;
    std = Math.sqrt(q / n);
  }
  const top =
    col.type === 'string' || counts.size <= 20
      ? [...counts.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 5)
          .map(([value, count]) => ({ value, count }))
      : [];
  return {
    name: col.name,
    type: col.type,
    missing,
    missingShare: rows ? missing / rows : 0,
    distinct: counts.size,
    min,
    max,
    mean,
    std,
    top,
    pii: detectPii(col),
  };
}

const lineOf = (row: number) => row + 2;

function typeFits(col: Column, rule: RuleType, i: number): boolean {
  switch (rule) {
    case 'string':
    case 'category':
      return true;
    case 'float':
      return col.type === 'int' || col.type === 'float';
    case 'int':
      return (col.type === 'int' || col.type === 'float') && Number.isInteger(col.values[i]);
    case 'bool':
      return col.type === 'bool' || (col.type === 'int' && (col.values[i] === 0 || col.values[i] === 1));
    case 'timestamp':
      return col.type === 'timestamp';
  }
}

/** The number a text cell stands for under a rule type, NaN for text rules (no number), null when it does not fit. */
function coerce(text: string, type: RuleType): number | null {
  switch (type) {
    case 'string':
    case 'category':
      return Number.NaN;
    case 'int':
      return /^[+-]?\d+$/.test(text) ? Number(text) : null;
    case 'float':
      return /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text) ? Number(text) : null;
    case 'bool':
      return /^(true|false)$/i.test(text) ? (text.toLowerCase() === 'true' ? 1 : 0) : null;
    case 'timestamp': {
      const t = parseTimestamp(text);
      return Number.isFinite(t) ? t : null;
    }
  }
}

export interface ValidateOptions {
  /** Drop rows with a missing required value (a warning) instead of reporting an error. */
  dropMissing?: boolean;
  /** Drop rows repeating these columns, keeping the last. */
  dropDuplicates?: string[];
}

/** Checks every rule; returns the rows that pass every error-level rule, and the report. */
export function validateTable(
  table: Table,
  schema: Schema,
  options: ValidateOptions = {},
): { clean: Table; report: QualityReport } {
  const n = table.rowCount;
  const findings: Finding[] = [];
  const bad = new Uint8Array(n);
  const byName = new Map(table.columns.map((c) => [c.name, c]));
  const add = (
    severity: Finding['severity'],
    column: string | null,
    rule: string,
    rows: number[],
    message: string,
    markBad: boolean,
  ) => {
    if (rows.length === 0 && ROW_RULES.has(rule)) return;
    findings.push({ severity, column, rule, message, count: rows.length, lines: rows.slice(0, 5).map(lineOf) });
    if (markBad) for (const r of rows) bad[r] = 1;
  };
  const examples = (col: Column, rows: number[]) =>
    rows
      .slice(0, 3)
      .map((r) => `line ${lineOf(r)}: ${JSON.stringify(cellText(col, r))}`)
      .join(', ');

  if (n === 0)
    add(
      'error',
      null,
      'empty',
      [],
      'the table has no rows; check the input file and the filters before this step',
      false,
    );
  if (options.dropDuplicates?.length) {
    for (const c of options.dropDuplicates)
      if (!byName.has(c))
        add(
          'error',
          c,
          'column',
          [],
          `drop_duplicates names column '${c}', which the table does not have (columns: ${[...byName.keys()].join(', ')})`,
          false,
        );
    const cols = options.dropDuplicates.map((c) => byName.get(c)).filter((c): c is Column => c !== undefined);
    if (cols.length === options.dropDuplicates.length) {
      const last = new Map<string, number>();
      for (let i = 0; i < n; i++) last.set(JSON.stringify(cols.map((c) => cellText(c, i))), i);
      const dup: number[] = [];
      for (let i = 0; i < n; i++) if (last.get(JSON.stringify(cols.map((c) => cellText(c, i)))) !== i) dup.push(i);
      add(
        'warning',
        options.dropDuplicates.join(','),
        'duplicates',
        dup,
        `${dup.length} duplicate rows dropped (the last copy kept)`,
        true,
      );
    }
  }
  for (const [name, rule] of Object.entries(schema)) {
    const col = byName.get(name);
    if (!col) {
      add(
        'error',
        name,
        'column',
        [],
        `column '${name}' is missing (columns: ${[...byName.keys()].join(', ')}); add it or remove its rule`,
        false,
      );
      continue;
    }
    const missingRows: number[] = [];
    const wrongType: number[] = [];
    const outOfRange: number[] = [];
    const notAllowed: number[] = [];
    const allowed = rule.values ? new Set(rule.values.map(String)) : null;
    const seen = new Map<string, number>();
    const dupRows: number[] = [];
    for (let i = 0; i < n; i++) {
      if (isMissing(col, i)) {
        missingRows.push(i);
        continue;
      }
      // A text column under a numeric rule (one bad cell makes the whole column text): judge each cell on its own.
      const v =
        col.type === 'string'
          ? coerce(col.values[i] as string, rule.type)
          : typeFits(col, rule.type, i)
            ? (col.values[i] as number)
            : null;
      if (v === null) {
        wrongType.push(i);
        continue;
      }
      if (rule.min !== undefined || rule.max !== undefined) {
        if ((rule.min !== undefined && v < rule.min) || (rule.max !== undefined && v > rule.max)) outOfRange.push(i);
      }
      const text = cellText(col, i) as string;
      if (allowed && !allowed.has(text)) notAllowed.push(i);
      if (rule.unique) {
        if (seen.has(text)) dupRows.push(i);
        else seen.set(text, i);
      }
    }
    if (missingRows.length === n && n > 0) {
      add(
        rule.required === false ? 'warning' : 'error',
        name,
        'all_missing',
        missingRows,
        `column '${name}' has no values at all (every cell is missing); fix the source or drop the column`,
        rule.required !== false && !options.dropMissing,
      );
    } else if (rule.required !== false && missingRows.length) {
      if (options.dropMissing)
        add(
          'warning',
          name,
          'required',
          missingRows,
          `${missingRows.length} rows with a missing '${name}' dropped`,
          true,
        );
      else
        add(
          'error',
          name,
          'required',
          missingRows,
          `${missingRows.length} missing values in required column '${name}' (${examples(col, missingRows)}); fill them, mark the column required: false, or set drop_missing: true`,
          true,
        );
    }
    if (wrongType.length) {
      const shown = col.type === 'string' ? examples(col, wrongType) : `column read as ${col.type}`;
      add(
        'error',
        name,
        'type',
        wrongType,
        `${wrongType.length} values of '${name}' are not ${rule.type} (${shown}); fix the values or change the rule's type`,
        true,
      );
    }
    if (outOfRange.length)
      add(
        'error',
        name,
        'range',
        outOfRange,
        `${outOfRange.length} values of '${name}' are outside [${rule.min ?? '-∞'}, ${rule.max ?? '∞'}] (${examples(col, outOfRange)})`,
        true,
      );
    if (notAllowed.length)
      add(
        'error',
        name,
        'values',
        notAllowed,
        `${notAllowed.length} values of '${name}' are not among the allowed categories (${examples(col, notAllowed)}); allowed: ${(rule.values ?? []).join(', ')}`,
        true,
      );
    if (dupRows.length)
      add(
        'error',
        name,
        'unique',
        dupRows,
        `${dupRows.length} repeated values in unique column '${name}' (${examples(col, dupRows)})`,
        true,
      );
  }
  const profiles = table.columns.map((c) => profileColumn(c, n));
  for (const p of profiles) {
    const rule = schema[p.name];
    if (rule?.pii !== undefined)
      p.pii = { pii: rule.pii, kinds: p.pii.kinds, reasons: [...p.pii.reasons, `schema marks pii: ${rule.pii}`] };
    if (p.distinct === 1 && n > 1)
      add(
        'warning',
        p.name,
        'constant',
        [],
        `column '${p.name}' holds one value only; it carries no information for a model`,
        false,
      );
    if (p.missing === n && n > 0 && !schema[p.name])
      add('warning', p.name, 'all_missing', [], `column '${p.name}' has no values at all`, false);
  }
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (!bad[i]) keep.push(i);
  const clean = takeRows(table, keep);
  let missingCells = 0;
  for (const p of profiles) missingCells += p.missing;
  const errors = findings.filter((f) => f.severity === 'error').length;
  return {
    clean,
    report: {
      rows: n,
      columns: table.columns.length,
      cleanRows: keep.length,
      droppedRows: n - keep.length,
      missingShare: n * table.columns.length === 0 ? 0 : missingCells / (n * table.columns.length),
      profiles,
      findings,
      errors,
      warnings: findings.length - errors,
      piiColumns: profiles.filter((p) => p.pii.pii).map((p) => p.name),
    },
  };
}
