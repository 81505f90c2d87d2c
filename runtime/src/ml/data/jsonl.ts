import { readFile } from 'node:fs/promises';
import type { Table } from '../types.js';
import { DataError, inferColumn } from './table.js';

/**
 * JSON lines: one JSON object per line (blank lines skipped). Columns are the union of keys in first-seen order; a
 * key absent from a row, or null, is missing. Values become text cells and go through the same type inference as
 * CSV; nested objects and arrays are kept as their JSON text.
 */
export function parseJsonl(text: string, file = '<jsonl>'): Table {
  const names: string[] = [];
  const index = new Map<string, number>();
  const cells: Array<Array<string | null>> = [];
  let rows = 0;
  const lines = text.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const raw = (lines[ln] as string).replace(/\r$/, '');
    const trimmed = ln === 0 ? raw.replace(/^\uFEFF/, '').trim() : raw.trim();
    if (trimmed === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(trimmed);
    } catch (error) {
      throw new DataError(
        `not valid JSON (${error instanceof Error ? error.message : String(error)}); each line must be one JSON object`,
        file,
        ln + 1,
      );
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new DataError('each line must be a JSON object like {"column": value}', file, ln + 1);
    }
    for (const [key, value] of Object.entries(obj as Record<string, unknown>)) {
      let j = index.get(key);
      if (j === undefined) {
        j = names.length;
        index.set(key, j);
        names.push(key);
        cells.push(new Array<string | null>(rows).fill(null));
      }
      const col = cells[j] as Array<string | null>;
      while (col.length < rows) col.push(null);
      col.push(
        value === null || value === undefined
          ? null
          : typeof value === 'object'
            ? JSON.stringify(value)
            : typeof value === 'string'
              ? value
              : JSON.stringify(value),
      );
    }
    rows++;
    for (const col of cells) while (col.length < rows) col.push(null);
  }
  if (rows === 0) throw new DataError('the file has no rows; write one JSON object per line', file);
  return { rowCount: rows, columns: names.map((n, j) => inferColumn(n, cells[j] ?? [])) };
}

export async function readJsonl(file: string): Promise<Table> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new DataError(`cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, file);
  }
  return parseJsonl(text, file);
}
