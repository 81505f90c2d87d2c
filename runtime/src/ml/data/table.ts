import type { Column, ColumnType, NumericColumn, StringColumn, Table } from '../types.js';
import { CairnError } from '../../util/errors.js';

/** Bad data the user can fix: the message names the file and line and says what to do. */
export class DataError extends CairnError {
  override name = 'DataError';
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super('invalid', file !== undefined ? `${file}${line !== undefined ? `:${line}` : ''}: ${message}` : message);
  }
}

/** Cells read as missing (besides the empty cell), as pandas' default na_values do for the common spellings. */
export const MISSING_TOKENS: ReadonlySet<string> = new Set([
  '',
  'NA',
  'N/A',
  'NaN',
  'nan',
  'null',
  'NULL',
  'None',
  '#N/A',
]);

const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const TRUE_TOKENS = new Set(['true', 'True', 'TRUE']);
const FALSE_TOKENS = new Set(['false', 'False', 'FALSE']);

/** Epoch milliseconds of an ISO 8601 date or date-time; date-times without a zone are read as UTC. */
export function parseTimestamp(text: string): number {
  let t = text.replace(' ', 'T');
  if (t.length > 10 && !/(?:Z|[+-]\d{2}:?\d{2})$/.test(t)) t += 'Z';
  return Date.parse(t);
}

const INT = 1;
const FLOAT = 2;
const BOOL = 4;
const TIME = 8;

/** The types a present cell could be (bit set), by one scan of its characters; regexes only for timestamps. */
function cellTypes(c: string): number {
  const n = c.length;
  let i = 0;
  let ch = c.charCodeAt(0);
  if (ch === 43 || ch === 45) ch = c.charCodeAt(++i); // sign
  let digits = 0;
  while (i < n && ch >= 48 && ch <= 57) {
    digits++;
    ch = c.charCodeAt(++i);
  }
  // Integers beyond 2^53 (long ids) stay text: as numbers they would silently lose digits.
  if (i === n && digits > 0) return digits < 16 || Number.isSafeInteger(Number(c)) ? INT | FLOAT : 0;
  if (ch === 45 && digits === 4 && n >= 10 && TIMESTAMP_RE.test(c) && Number.isFinite(parseTimestamp(c))) return TIME;
  if (ch === 116 || ch === 84 || ch === 102 || ch === 70) return TRUE_TOKENS.has(c) || FALSE_TOKENS.has(c) ? BOOL : 0;
  return FLOAT_RE.test(c) ? FLOAT : 0;
}

/**
 * Infers a column's type from its text cells (null = missing): bool (true/false), int, float, timestamp (ISO 8601),
 * else string. The narrowest type every present cell fits wins; a column with no present cell is a string column.
 */
export function inferColumn(name: string, cells: Array<string | null>): Column {
  let mask = INT | FLOAT | BOOL | TIME;
  let present = 0;
  for (const c of cells) {
    if (c === null) continue;
    present++;
    mask &= cellTypes(c);
    if (mask === 0) break;
  }
  if (present === 0 || mask === 0) return { name, type: 'string', values: cells.slice() };
  const type: ColumnType = mask & BOOL ? 'bool' : mask & INT ? 'int' : mask & FLOAT ? 'float' : 'timestamp';
  const n = cells.length;
  const values = new Float64Array(n);
  let missing: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    const c = cells[i] ?? null;
    if (c === null) {
      missing ??= new Uint8Array(n);
      missing[i] = 1;
      values[i] = Number.NaN;
      continue;
    }
    values[i] = type === 'bool' ? (TRUE_TOKENS.has(c) ? 1 : 0) : type === 'timestamp' ? parseTimestamp(c) : Number(c);
  }
  return { name, type, values, missing };
}

export function isMissing(col: Column, i: number): boolean {
  if (col.type === 'string') return col.values[i] === null;
  return (col.missing !== null && col.missing[i] === 1) || Number.isNaN(col.values[i]);
}

/** A cell as text, as the CSV writer writes it (missing → null). */
export function cellText(col: Column, i: number): string | null {
  if (col.type === 'string') return col.values[i] ?? null;
  if (isMissing(col, i)) return null;
  const v = col.values[i] as number;
  switch (col.type) {
    case 'bool':
      return v ? 'true' : 'false';
    case 'timestamp':
      return new Date(v).toISOString();
    default:
      return String(v);
  }
}

/** A cell as a JSON-able value: number, boolean, string (timestamps as ISO), or null. */
export function cellValue(col: Column, i: number): string | number | boolean | null {
  if (col.type === 'string') return col.values[i] ?? null;
  if (isMissing(col, i)) return null;
  const v = col.values[i] as number;
  if (col.type === 'bool') return v !== 0;
  if (col.type === 'timestamp') return new Date(v).toISOString();
  return v;
}

export function getColumn(table: Table, name: string, file?: string): Column {
  const col = table.columns.find((c) => c.name === name);
  if (!col) throw new DataError(`no column '${name}' (columns: ${table.columns.map((c) => c.name).join(', ')})`, file);
  return col;
}

export function selectColumns(table: Table, names: string[], file?: string): Table {
  return { rowCount: table.rowCount, columns: names.map((n) => getColumn(table, n, file)) };
}

/** The rows at `indices`, in that order. */
export function takeRows(table: Table, indices: ArrayLike<number>): Table {
  const n = indices.length;
  const columns = table.columns.map((col): Column => {
    if (col.type === 'string') {
      const values = new Array<string | null>(n);
      for (let k = 0; k < n; k++) values[k] = col.values[indices[k] as number] ?? null;
      return { name: col.name, type: 'string', values } satisfies StringColumn;
    }
    const values = new Float64Array(n);
    let missing: Uint8Array | null = null;
    for (let k = 0; k < n; k++) {
      const i = indices[k] as number;
      values[k] = col.values[i] as number;
      if (col.missing && col.missing[i] === 1) {
        missing ??= new Uint8Array(n);
        missing[k] = 1;
      }
    }
    return { name: col.name, type: col.type, values, missing } satisfies NumericColumn;
  });
  return { rowCount: n, columns };
}

export function numericColumn(
  name: string,
  values: Float64Array,
  type: NumericColumn['type'] = 'float',
): NumericColumn {
  let missing: Uint8Array | null = null;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) {
      missing ??= new Uint8Array(values.length);
      missing[i] = 1;
    }
  }
  return { name, type, values, missing };
}
