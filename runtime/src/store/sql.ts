import { CairnError } from '../util/errors.js';

/**
 * The one query interface the repositories speak (runtime/src/store/repos/): SQL with `?` placeholders, bound values
 * only, async so that a networked backend (PostgreSQL) implements it as well as the embedded one (SQLite). Nothing
 * outside runtime/src/store/ sees it; callers get domain objects from the repositories.
 */
export type SqlValue = string | number | null | bigint | Buffer;

export type Dialect = 'sqlite' | 'postgres';

export interface SqlDb {
  readonly dialect: Dialect;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Runs `fn` in one write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: SERIALIZABLE, retried on a serialization
   * failure, so `fn` must do nothing but database work and may run more than once). Inside, use only the handle given.
   */
  tx<T>(fn: (db: SqlDb) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A write refused because the alias (or another row read before the write) changed meanwhile. */
export class ConflictError extends CairnError {
  constructor(message: string) {
    super('refused', message);
    this.name = 'ConflictError';
  }
}

/** Scalar SQL that the two dialects spell differently. */
export const dialects = {
  sqlite: {
    greatest: (a: string, b: string) => `max(${a}, ${b})`,
    /** A JSON object's value at one key (`path` is bound: see jsonKeyPath). */
    jsonValue: (column: string) => `json_extract(${column}, ?)`,
    /** Insertion order of a table without a key of its own (metrics, step_io). */
    rowOrder: 'rowid',
  },
  postgres: {
    greatest: (a: string, b: string) => `greatest(${a}, ${b})`,
    jsonValue: (column: string) => `(${column}::jsonb -> ?)`,
    rowOrder: 'seq',
  },
} as const satisfies Record<Dialect, unknown>;
