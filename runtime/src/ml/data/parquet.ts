import type { Table } from '../types.js';
import { DataError, inferColumn } from './table.js';

/**
 * Parquet through hyparquet (pure JavaScript, MIT, no dependencies; snappy and uncompressed pages — the pandas /
 * pyarrow default). Values become text cells and go through the same type inference as CSV: numbers and 64-bit
 * integers as decimal text, booleans as true/false, dates as ISO timestamps, nested values as JSON.
 */
function cell(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x));
}

export async function readParquet(file: string): Promise<Table> {
  // hyparquet is an ES module; the runtime is CommonJS, so it loads through import().
  const hp = await import('hyparquet');
  try {
    const buffer = await hp.asyncBufferFromFile(file);
    const metadata = await hp.parquetMetadataAsync(buffer);
    const names = hp.parquetSchema(metadata).children.map((c) => c.element.name);
    const rows = await hp.parquetReadObjects({ file: buffer, metadata });
    const cells = names.map(() => new Array<string | null>(rows.length));
    rows.forEach((row, i) => {
      names.forEach((n, j) => {
        (cells[j] as Array<string | null>)[i] = cell(row[n]);
      });
    });
    return { rowCount: rows.length, columns: names.map((n, j) => inferColumn(n, cells[j] ?? [])) };
  } catch (error) {
    if (error instanceof DataError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code
      ? `cannot read the file (${code})`
      : `not a readable Parquet file (${error instanceof Error ? error.message : String(error)})`;
    throw new DataError(
      `${why}; Parquet with snappy or no compression is supported, else export CSV or JSON lines`,
      file,
    );
  }
}
