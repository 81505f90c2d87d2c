import type { CompareCell, CompareColumn, CompareRow, RunTable } from '@cairn/protocol/webviews/compare.js';

/**
 * The compare table's pure logic: filter, sort and "only what differs" over row indexes, so the table can work on
 * 10,000 runs without copying rows. Fixed columns (run, pipeline, status, started) come before the table's columns.
 */

export const fixedColumns: CompareColumn[] = [
  { key: 'run:id', name: 'run', group: 'param', kind: 'number' },
  { key: 'run:pipeline', name: 'pipeline', group: 'param', kind: 'string' },
  { key: 'run:status', name: 'status', group: 'param', kind: 'string' },
  { key: 'run:startedAt', name: 'started', group: 'param', kind: 'number' },
];

export function fixedValue(row: CompareRow, key: string): CompareCell {
  switch (key) {
    case 'run:id':
      return row.id;
    case 'run:pipeline':
      return row.pipeline;
    case 'run:status':
      return row.status;
    case 'run:startedAt':
      return row.startedAt;
    default:
      return null;
  }
}

/** Value of a column (fixed or table column) for a row. */
export function cellValue(columnIndex: Map<string, number>, row: CompareRow, key: string): CompareCell {
  const i = columnIndex.get(key);
  return i === undefined ? fixedValue(row, key) : (row.values[i] ?? null);
}

export type Condition = { column: string; op: '=' | '!=' | '<' | '<=' | '>' | '>='; value: string };
export interface ParsedFilter {
  terms: string[];
  conditions: Condition[];
}

/**
 * Filter syntax: words match anywhere in a row (run id, pipeline, status, any value); `name<op>value` compares a
 * column by name (`lr>=0.01`, `status=failed`, `model!=mlp`). All parts must hold.
 */
export function parseFilter(text: string): ParsedFilter {
  const terms: string[] = [];
  const conditions: Condition[] = [];
  for (const token of text.trim().split(/\s+/)) {
    if (token === '') continue;
    const m = /^([^<>=!]+)(<=|>=|!=|=|<|>)(.+)$/.exec(token);
    if (m?.[1] && m[2] && m[3] !== undefined)
      conditions.push({ column: m[1], op: m[2] as Condition['op'], value: m[3] });
    else terms.push(token.toLowerCase());
  }
  return { terms, conditions };
}

function compareCells(a: CompareCell, b: CompareCell): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function holds(v: CompareCell, c: Condition): boolean {
  if (v === null) return c.op === '!=';
  const target = typeof v === 'number' ? Number(c.value) : c.value;
  const d =
    typeof v === 'number' && Number.isFinite(target) ? v - (target as number) : compareCells(String(v), c.value);
  switch (c.op) {
    case '=':
      return d === 0;
    case '!=':
      return d !== 0;
    case '<':
      return d < 0;
    case '<=':
      return d <= 0;
    case '>':
      return d > 0;
    case '>=':
      return d >= 0;
  }
}

/** Finds a column by its key, or by its name (first match: params, then metrics, then tags). */
export function resolveColumn(table: RunTable, name: string): string | undefined {
  const all = [...fixedColumns, ...table.columns];
  return (
    all.find((c) => c.key === name) ??
    all.find((c) => c.name === name) ??
    all.find((c) => c.name === name.replace(/^run\./, ''))
  )?.key;
}

export interface FilterResult {
  rows: number[];
  /** Column names in conditions that match no column: shown to the user rather than silently matching nothing. */
  unknownColumns: string[];
}

export function filterRows(table: RunTable, text: string): FilterResult {
  const { terms, conditions } = parseFilter(text);
  const index = columnIndexOf(table);
  const unknownColumns: string[] = [];
  const resolved: Array<Condition & { key: string }> = [];
  for (const c of conditions) {
    const key = resolveColumn(table, c.column);
    if (key === undefined) unknownColumns.push(c.column);
    else resolved.push({ ...c, key });
  }
  // A condition on a column that does not exist matches nothing (and is shown), rather than being ignored.
  if (unknownColumns.length > 0) return { rows: [], unknownColumns };
  const rows: number[] = [];
  table.rows.forEach((row, i) => {
    for (const c of resolved) if (!holds(cellValue(index, row, c.key), c)) return;
    if (terms.length > 0) {
      const text = `${row.id} ${row.pipeline} ${row.status} ${row.values.join(' ')}`.toLowerCase();
      for (const t of terms) if (!text.includes(t)) return;
    }
    rows.push(i);
  });
  return { rows, unknownColumns };
}

export function columnIndexOf(table: RunTable): Map<string, number> {
  return new Map(table.columns.map((c, i) => [c.key, i]));
}

/** Sorts row indexes by a column; missing values go last in both directions. Stable. */
export function sortRows(table: RunTable, rows: number[], key: string, dir: 'asc' | 'desc'): number[] {
  const index = columnIndexOf(table);
  const sign = dir === 'asc' ? 1 : -1;
  const keyed = rows.map((r) => {
    const row = table.rows[r];
    return { r, v: row ? cellValue(index, row, key) : null };
  });
  keyed.sort((a, b) => {
    if (a.v === null || b.v === null) return a.v === b.v ? a.r - b.r : a.v === null ? 1 : -1;
    return sign * compareCells(a.v, b.v) || a.r - b.r;
  });
  return keyed.map((k) => k.r);
}

/** Indexes of the table columns whose values are not all the same over `rows` (missing counts as a value). */
export function differingColumns(table: RunTable, rows: readonly number[]): number[] {
  const out: number[] = [];
  table.columns.forEach((_c, ci) => {
    let first: CompareCell | undefined;
    for (const r of rows) {
      const v = table.rows[r]?.values[ci] ?? null;
      if (first === undefined) first = v;
      else if (v !== first) {
        out.push(ci);
        return;
      }
    }
  });
  return out;
}

/** Numeric columns usable as chart axes (at least one number in the table). */
export function numericColumns(table: RunTable): CompareColumn[] {
  return table.columns.filter((c) => c.kind === 'number');
}

/** Applies a patch: rows with a known id are replaced, others appended; columns are merged by key. */
export function mergeTables(base: RunTable, patch: RunTable): RunTable {
  const columns = [...base.columns];
  const index = columnIndexOf(base);
  for (const c of patch.columns) if (!index.has(c.key)) index.set(c.key, columns.push(c) - 1);
  const widen = (row: CompareRow, from: RunTable): CompareRow => {
    const values: CompareCell[] = new Array<CompareCell>(columns.length).fill(null);
    from.columns.forEach((c, i) => {
      const at = index.get(c.key);
      if (at !== undefined) values[at] = row.values[i] ?? null;
    });
    return { ...row, values };
  };
  const rows = base.columns.length === columns.length ? [...base.rows] : base.rows.map((r) => widen(r, base));
  const byId = new Map(rows.map((r, i) => [r.id, i]));
  for (const r of patch.rows) {
    const wide = widen(r, patch);
    const at = byId.get(r.id);
    if (at === undefined) byId.set(r.id, rows.push(wide) - 1);
    else rows[at] = wide;
  }
  return { columns, rows };
}
