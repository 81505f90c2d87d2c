import { readFile, writeFile, rename } from 'node:fs/promises';
import * as path from 'node:path';
import type { Table } from '../types.js';
import { cellText, DataError, inferColumn, MISSING_TOKENS } from './table.js';

/**
 * CSV as RFC 4180 writes it: comma-separated, fields with commas, quotes or line breaks in double quotes, a quote
 * inside doubled; LF or CRLF line ends; a UTF-8 byte-order mark is skipped. The first record is the header.
 * Every record must have the header's field count: a ragged row is an error naming its line.
 */
export function parseCsv(text: string, file = '<csv>'): Table {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const len = text.length;
  let line = 1;
  let header: string[] | null = null;
  let cells: Array<Array<string | null>> = [];
  let record: Array<string | null> = [];
  let recordLine = 1;
  let rows = 0;

  const finishRecord = (): void => {
    if (header === null) {
      header = record.map((h) => h ?? '');
      const seen = new Set<string>();
      header.forEach((h, i) => {
        if (h.trim() === '')
          throw new DataError(`header column ${i + 1} has no name; give every column a name`, file, recordLine);
        if (seen.has(h))
          throw new DataError(`header names column '${h}' twice; column names must be unique`, file, recordLine);
        seen.add(h);
      });
      cells = header.map(() => []);
    } else {
      // A blank line (one empty field) is skipped, as pandas does.
      if (record.length === 1 && record[0] === null && header.length > 1) return;
      if (record.length !== header.length) {
        throw new DataError(
          `row has ${record.length} field${record.length === 1 ? '' : 's'} but the header has ${header.length}; ` +
            'quote values that contain commas, or fix the row',
          file,
          recordLine,
        );
      }
      for (let j = 0; j < record.length; j++) {
        (cells[j] as Array<string | null>).push(record[j] ?? null);
      }
      rows++;
    }
  };

  while (pos < len) {
    recordLine = line;
    record = [];
    // One record.
    for (;;) {
      let value: string | null;
      if (text.charCodeAt(pos) === 34 /* " */) {
        const fieldLine = line;
        pos++;
        let out = '';
        let start = pos;
        for (;;) {
          const q = text.indexOf('"', pos);
          if (q < 0)
            throw new DataError('a quoted field is never closed; close it with a double quote', file, fieldLine);
          for (let k = pos; k < q; k++) if (text.charCodeAt(k) === 10) line++;
          if (text.charCodeAt(q + 1) === 34) {
            out += text.slice(start, q + 1);
            pos = q + 2;
            start = pos;
            continue;
          }
          out += text.slice(start, q);
          pos = q + 1;
          break;
        }
        // A quoted cell is text as written, except the empty one, which is missing.
        value = out === '' ? null : out;
        const c = text.charCodeAt(pos);
        if (pos < len && c !== 44 && c !== 10 && c !== 13) {
          throw new DataError(
            'text after a closing quote; a quote inside a quoted field must be doubled ("")',
            file,
            line,
          );
        }
      } else {
        const start = pos;
        while (pos < len) {
          const c = text.charCodeAt(pos);
          if (c === 44 || c === 10 || c === 13) break;
          pos++;
        }
        const raw = text.slice(start, pos);
        // Every missing token is at most 4 characters: skip the set lookup for longer cells.
        value = raw.length <= 4 && MISSING_TOKENS.has(raw) ? null : raw;
      }
      record.push(value);
      const c = text.charCodeAt(pos);
      if (c === 44) {
        pos++;
        continue;
      }
      if (c === 13) pos++;
      if (text.charCodeAt(pos) === 10) pos++;
      line++;
      break;
    }
    finishRecord();
  }
  if (header === null) throw new DataError('the file is empty; a CSV needs a header row naming its columns', file);
  const names: string[] = header;
  return { rowCount: rows, columns: names.map((name, j) => inferColumn(name, cells[j] ?? [])) };
}

export async function readCsv(file: string): Promise<Table> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new DataError(`cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, file);
  }
  return parseCsv(text, file);
}

function quote(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The table as CSV text: header, then one line per row (LF); missing cells empty. */
export function formatCsv(table: Table): string {
  const parts: string[] = [table.columns.map((c) => quote(c.name)).join(',')];
  for (let i = 0; i < table.rowCount; i++) {
    parts.push(
      table.columns
        .map((c) => {
          const t = cellText(c, i);
          // A string cell that reads as a missing token is quoted so it survives the round trip as text.
          return t === null ? '' : c.type === 'string' && MISSING_TOKENS.has(t) ? `"${t}"` : quote(t);
        })
        .join(','),
    );
  }
  return parts.join('\n') + '\n';
}

/** Writes the table to a temporary file and renames it, so a reader never sees half a file. */
export async function writeCsv(table: Table, file: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await writeFile(tmp, formatCsv(table));
  await rename(tmp, file);
}
