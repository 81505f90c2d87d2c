import {
  conformsToInvocationFormat,
  invocationFormatSchemas,
  type InvocationRequest,
  type ServeCell,
  type ServeInputField,
} from '@cairn/protocol';
import type { Column, Table } from '../ml/types.js';

/** A client mistake: answered with `status` and a message that says what to change; never a stack trace. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** Most rows one request may carry: bounds the work a single request can cause (the body limit bounds bytes). */
export const MAX_ROWS = 10_000;

const FORMATS = 'dataframe_split, dataframe_records, instances or inputs';

/** Cell getter per input column, by row: each body format reads its own layout without copying it first. */
export interface Rows {
  count: number;
  /** undefined = the column is absent from that row. */
  cell(field: number, row: number): ServeCell | undefined;
}

function fromRecords(records: Array<Record<string, ServeCell>>, fields: ServeInputField[]): Rows {
  return { count: records.length, cell: (f, r) => records[r]?.[fields[f]?.name ?? ''] };
}

function fromMatrix(columns: string[], data: ServeCell[][], fields: ServeInputField[], what: string): Rows {
  const at = fields.map((f) => columns.indexOf(f.name));
  const missing = at.findIndex((i) => i < 0);
  if (missing >= 0)
    throw new RequestError(
      400,
      'missing_column',
      `${what}: column "${fields[missing]?.name ?? ''}" is missing; the model needs ${fields.map((f) => f.name).join(', ')}`,
    );
  data.forEach((row, r) => {
    if (row.length !== columns.length)
      throw new RequestError(
        400,
        'bad_row',
        `${what}: row ${r + 1} has ${row.length} values but there are ${columns.length} columns`,
      );
  });
  return { count: data.length, cell: (f, r) => data[r]?.[at[f] ?? -1] };
}

interface Issue {
  path: PropertyKey[];
  message: string;
  errors?: Issue[][];
}

function deepest(issues: readonly Issue[], prefix: PropertyKey[] = []): Issue | undefined {
  let best: Issue | undefined;
  for (const i of issues) {
    const full = { ...i, path: [...prefix, ...i.path] };
    const nested = (i.errors ?? [])
      .map((branch) => deepest(branch, full.path))
      .filter((x): x is Issue => x !== undefined);
    for (const c of [full, ...nested]) if (!best || c.path.length > best.path.length) best = c;
  }
  return best;
}

function isRowList(v: unknown[]): v is ServeCell[][] {
  return v.length > 0 && Array.isArray(v[0]);
}

function rowsOf(body: unknown, fields: ServeInputField[]): Rows {
  const keys = body !== null && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
  const key = keys[0];
  if (
    keys.length !== 1 ||
    !(key === 'dataframe_split' || key === 'dataframe_records' || key === 'instances' || key === 'inputs')
  ) {
    throw new RequestError(
      400,
      'bad_body',
      `the body must be a JSON object with exactly one of ${FORMATS} (MLflow's scoring format)`,
    );
  }
  // Well-formed bodies skip zod's walk and copy (conformsToInvocationFormat accepts only what the schema accepts).
  const parsed = conformsToInvocationFormat(key, body as Record<string, unknown>)
    ? { success: true as const, data: body as InvocationRequest }
    : invocationFormatSchemas[key].safeParse(body);
  if (!parsed.success) {
    // The deepest issue names the offending cell (a union reports its branches' issues nested).
    const issue = deepest(parsed.error.issues);
    const where = issue ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') : '';
    throw new RequestError(
      400,
      'bad_body',
      `body${where}: ${issue?.message ?? 'invalid'} (cells are numbers, strings, booleans or null)`,
    );
  }
  const b: InvocationRequest = parsed.data;
  const names = fields.map((f) => f.name);
  if ('dataframe_split' in b)
    return fromMatrix(b.dataframe_split.columns, b.dataframe_split.data, fields, 'dataframe_split');
  if ('dataframe_records' in b) return fromRecords(b.dataframe_records, fields);
  const v = 'instances' in b ? b.instances : b.inputs;
  const what = 'instances' in b ? 'instances' : 'inputs';
  if (!Array.isArray(v)) {
    // Columnar inputs: every column the same length.
    const lengths = names.map((n) => v[n]?.length);
    const absent = lengths.findIndex((l) => l === undefined);
    if (absent >= 0)
      throw new RequestError(
        400,
        'missing_column',
        `inputs: column "${names[absent] ?? ''}" is missing; the model needs ${names.join(', ')}`,
      );
    const count = lengths[0] ?? 0;
    const bad = lengths.findIndex((l) => l !== count);
    if (bad >= 0)
      throw new RequestError(
        400,
        'bad_row',
        `inputs: column "${names[bad] ?? ''}" has ${lengths[bad] ?? 0} values but "${names[0] ?? ''}" has ${count}`,
      );
    return { count, cell: (f, r) => v[names[f] ?? '']?.[r] };
  }
  if (isRowList(v))
    return fromMatrix(names, v, fields, `${what} (rows in the model's column order: ${names.join(', ')})`);
  return fromRecords(v, fields);
}

/**
 * Reads a parsed JSON body's rows for `fields` (every one must be present; extra columns are ignored, as MLflow does,
 * so clients can send whole records). Types are checked when a table is built from the rows (`tableFrom`).
 */
export function requestRows(body: unknown, fields: ServeInputField[]): Rows {
  const rows = rowsOf(body, fields);
  const n = rows.count;
  if (n === 0) throw new RequestError(400, 'empty', 'the request has no rows; send at least one');
  if (n > MAX_ROWS)
    throw new RequestError(413, 'too_many_rows', `the request has ${n} rows; send at most ${MAX_ROWS} per request`);
  return rows;
}

/**
 * The model's input table from request rows, checking each column's type. `at[f]` is the index in `rows` of
 * `fields[f]` (rows may have been read for a wider field list, e.g. both arms of an A/B split); `subset` picks rows.
 */
export function tableFrom(
  rows: Rows,
  fields: ServeInputField[],
  at?: ArrayLike<number>,
  subset?: ArrayLike<number>,
): Table {
  const n = subset ? subset.length : rows.count;
  const rowAt = (i: number): number => (subset ? (subset[i] ?? 0) : i);
  const columns: Column[] = fields.map((field, fi) => {
    const f = at ? (at[fi] ?? fi) : fi;
    let numeric = field.type === 'number';
    if (field.type === 'any') {
      // Untyped (one-hot) columns: numbers stay numbers so "3" and 3 encode alike through the column's text.
      numeric = true;
      for (let i = 0; i < n && numeric; i++) {
        const c = rows.cell(f, rowAt(i));
        if (typeof c === 'string') numeric = false;
      }
    }
    if (numeric) {
      const values = new Float64Array(n);
      let missing: Uint8Array | null = null;
      for (let i = 0; i < n; i++) {
        const r = rowAt(i);
        const c = rows.cell(f, r);
        if (c === undefined)
          throw new RequestError(
            400,
            'missing_column',
            `row ${r + 1}: column "${field.name}" is missing; the model needs ${fields.map((x) => x.name).join(', ')}`,
          );
        if (typeof c === 'number') values[i] = c;
        else if (typeof c === 'boolean') values[i] = c ? 1 : 0;
        else if (c === null) (missing ??= new Uint8Array(n))[i] = 1;
        else
          throw new RequestError(
            400,
            'bad_type',
            `row ${r + 1}: column "${field.name}" must be a number (or null for missing), not the text ${JSON.stringify(c.length > 40 ? c.slice(0, 40) + '…' : c)}`,
          );
      }
      return { name: field.name, type: 'float', values, missing };
    }
    const values: Array<string | null> = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      const r = rowAt(i);
      const c = rows.cell(f, r);
      if (c === undefined)
        throw new RequestError(
          400,
          'missing_column',
          `row ${r + 1}: column "${field.name}" is missing; the model needs ${fields.map((x) => x.name).join(', ')}`,
        );
      values[i] = c === null ? null : String(c);
    }
    return { name: field.name, type: 'string', values };
  });
  return { rowCount: n, columns };
}

/** Turns a parsed JSON body into the model's input table, checking every input column's presence and type. */
export function requestTable(body: unknown, fields: ServeInputField[]): Table {
  return tableFrom(requestRows(body, fields), fields);
}
