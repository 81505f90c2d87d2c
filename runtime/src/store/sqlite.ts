import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { SqlDb, SqlValue } from './sql.js';

/**
 * The embedded backend: one better-sqlite3 connection (WAL, busy timeout, foreign keys). Every call completes
 * synchronously and returns a settled promise, so a transaction — whose body only awaits these — finishes within one
 * turn of the event loop: timers and I/O callbacks (the metric writer's flush) never run inside it. Calls from other
 * async flows made while a transaction is open wait for it to end instead of joining it.
 */
export class SqliteDb implements SqlDb {
  readonly dialect = 'sqlite' as const;
  readonly raw: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private open: Promise<void> | undefined;

  constructor(
    readonly file: string,
    options: { busyTimeoutMs?: number; readonly?: boolean } = {},
  ) {
    if (file !== ':memory:' && !options.readonly) mkdirSync(path.dirname(file), { recursive: true });
    this.raw = new Database(file, options.readonly ? { readonly: true, fileMustExist: true } : {});
    if (!options.readonly) this.raw.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is safe against process crashes (SIGKILL); only an OS crash may lose the last commits.
    this.raw.pragma('synchronous = NORMAL');
    this.raw.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    this.raw.pragma('foreign_keys = ON');
  }

  /** A cached prepared statement (the repositories' SQL is fixed text, so the cache stays small). */
  statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.raw.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.when(() => this.statement(sql).all(...params) as T[]);
  }

  get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.when(() => this.statement(sql).get(...params) as T | undefined);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.when(() => this.statement(sql).run(...params).changes);
  }

  tx<T>(fn: (db: SqlDb) => Promise<T>): Promise<T> {
    return this.exclusive((d) => d.tx(fn));
  }

  /**
   * Runs `fn` with this connection to itself: other callers wait until it is done. What the store does on open
   * (marking runs of dead processes) goes through here, so no caller reads before it is finished.
   */
  async exclusive<T>(fn: (db: SqlDb) => Promise<T>): Promise<T> {
    while (this.open) await this.open;
    let release = () => {};
    this.open = new Promise<void>((resolve) => (release = resolve));
    const direct = new Direct(this);
    try {
      return await fn(direct);
    } finally {
      direct.closed = true;
      this.open = undefined;
      release();
    }
  }

  /**
   * SQLite's change counter for this connection: it moves when another connection (process) committed since the last
   * read, never for this connection's own writes. One read costs a few microseconds (docs/team.md).
   */
  dataVersion(): number {
    return Number(this.statement('PRAGMA data_version').pluck().get());
  }

  close(): Promise<void> {
    this.raw.close();
    return Promise.resolve();
  }

  private when<T>(op: () => T): Promise<T> {
    if (this.open) return this.open.then(() => this.when(op));
    // Runs now; a throw becomes the promise's rejection.
    return new Promise<T>((resolve) => resolve(op()));
  }
}

/** The handle of the one caller holding the connection: runs at once; its transactions nest into one. */
class Direct implements SqlDb {
  readonly dialect = 'sqlite' as const;
  closed = false;
  private depth = 0;
  constructor(private readonly db: SqliteDb) {}

  private now<T>(op: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error('a store handle was used after its turn ended'));
    return new Promise<T>((resolve) => resolve(op()));
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.now(() => this.db.statement(sql).all(...params) as T[]);
  }

  get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.now(() => this.db.statement(sql).get(...params) as T | undefined);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.now(() => this.db.statement(sql).run(...params).changes);
  }

  async tx<T>(fn: (db: SqlDb) => Promise<T>): Promise<T> {
    // Nested: part of the enclosing transaction.
    if (this.depth > 0) return fn(this);
    const raw = this.db.raw;
    raw.prepare('BEGIN IMMEDIATE').run();
    this.depth++;
    try {
      const result = await fn(this);
      raw.prepare('COMMIT').run();
      return result;
    } catch (error) {
      if (raw.inTransaction) raw.prepare('ROLLBACK').run();
      throw error;
    } finally {
      this.depth--;
    }
  }

  close(): Promise<void> {
    return Promise.reject(new Error('a store handle cannot close the store'));
  }
}
