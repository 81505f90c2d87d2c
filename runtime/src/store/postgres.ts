import type pg from 'pg';
import { CairnError } from '../util/errors.js';
import type { SqlDb, SqlValue } from './sql.js';

let pgLoaded: typeof pg | undefined;

/**
 * pg is loaded when a PostgreSQL store is first opened, not with every process that merely can open one: a Slurm job
 * on the SQLite store (dist/stepExec.js) would otherwise load it on the critical path of its chain.
 */
function pgModule(): typeof pg {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy require (esbuild bundles it; loads on call)
  return (pgLoaded ??= require('pg') as typeof pg);
}

/** int8 (count(*), BIGINT columns) and numeric (sum of int8) as JS numbers: ids and ms timestamps fit in 2^53. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pgModule().types.getTypeParser(oid, format) as (value: string) => unknown;
  },
};

/** Serialization failure, deadlock: the transaction is retried (sql.ts: SERIALIZABLE, `fn` may run again). */
const RETRY_CODES = new Set(['40001', '40P01']);
const MAX_TRIES = 30;

/** `?` placeholders → `$1..$n`, outside string literals, quoted identifiers and comments. */
export function toPgPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '?') out += `$${++n}`;
    else out += c;
  }
  return out;
}

/** A URL with its password (if any) replaced, for messages, logs and `cairn store info`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) if (/pass/i.test(key)) u.searchParams.set(key, '***');
    return u.toString();
  } catch {
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
  }
}

/** A message with every occurrence of the secret removed (pg's errors may quote the connection string). */
function scrub(message: string, secrets: readonly string[]): string {
  let m = message;
  for (const s of secrets) if (s) m = m.split(s).join('***');
  return m;
}

/** The store could not be reached or refused us: says which store (password redacted) and what to do. */
export class StoreConnectionError extends CairnError {
  constructor(message: string) {
    super('refused', message);
    this.name = 'StoreConnectionError';
  }
}

/** A write refused because the database role may only read. */
export class ReadOnlyStoreError extends CairnError {
  constructor(message: string) {
    super('refused', message);
    this.name = 'ReadOnlyStoreError';
  }
}

type Queryable = pg.Pool | pg.PoolClient;

/**
 * The PostgreSQL backend: a `pg.Pool` (libpq environment variables, `sslmode` in the URL and ~/.pgpass go through pg).
 * Statements time out after `statementTimeoutMs`; a transaction is SERIALIZABLE and retried on a serialization
 * failure or deadlock. Errors never carry the password.
 */
export class PgDb implements SqlDb {
  readonly dialect = 'postgres' as const;
  readonly pool: pg.Pool;
  private readonly secrets: string[];
  readonly user: string;

  constructor(
    readonly url: string,
    options: { statementTimeoutMs?: number; max?: number } = {},
  ) {
    const password = safeUrl(url)?.password;
    this.secrets = [url, password ? decodeURIComponent(password) : '', password ?? '', process.env.PGPASSWORD ?? ''];
    this.user = decodeURIComponent(safeUrl(url)?.username ?? '') || process.env.PGUSER || process.env.USER || 'unknown';
    this.pool = new (pgModule().Pool)({
      connectionString: url,
      types,
      max: options.max ?? 8,
      statement_timeout: options.statementTimeoutMs ?? 60_000,
      connectionTimeoutMillis: 10_000,
      application_name: 'cairn',
    });
    // An idle client's error (server restart) must not crash the process; the next query reports it.
    this.pool.on('error', () => {});
  }

  /** Checks that the server answers; a clear error otherwise. */
  async connect(): Promise<void> {
    await this.get('SELECT 1 AS one');
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.query<T>(this.pool, sql, params).then((r) => r.rows);
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.query<T>(this.pool, sql, params)).rows[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.query(this.pool, sql, params)).rowCount ?? 0;
  }

  async tx<T>(fn: (db: SqlDb) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((e: unknown) => {
      throw this.wrap(e);
    });
    try {
      for (let attempt = 1; ; attempt++) {
        const handle = new PgTx(this, client);
        try {
          await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
          const result = await fn(handle);
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          const code = (error as { code?: unknown }).code;
          if (typeof code === 'string' && RETRY_CODES.has(code) && attempt < MAX_TRIES) {
            // Jittered backoff: racing writers do not collide again in lockstep.
            await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** attempt)));
            continue;
          }
          // The caller's own errors (no SQLSTATE or socket code: a domain error thrown inside `fn`) keep their class.
          if (typeof code !== 'string') throw error;
          throw this.wrap(error);
        } finally {
          handle.closed = true;
        }
      }
    } finally {
      client.release();
    }
  }

  /** Runs SQL with `$n` placeholders already in place, on one client (migrations, COPY-free bulk paths). */
  async query<T>(
    on: Queryable,
    sql: string,
    params: readonly SqlValue[],
  ): Promise<pg.QueryResult<T & pg.QueryResultRow>> {
    try {
      return await on.query<T & pg.QueryResultRow>(toPgPlaceholders(sql), params as unknown[]);
    } catch (error) {
      throw this.wrap(error);
    }
  }

  /** pg's error → a Cairn error without the password; retryable codes stay on the error for tx(). */
  wrap(error: unknown): Error {
    if (error instanceof CairnError) return error;
    const e = error as { code?: string; message?: string };
    const where = redactUrl(this.url);
    const msg = scrub(e.message ?? String(error), this.secrets);
    let out: Error;
    if (e.code && RETRY_CODES.has(e.code)) return Object.assign(new Error(msg), { code: e.code });
    if (e.code === '42501' || e.code === '25006') {
      out = new ReadOnlyStoreError(
        `this store is read-only for user ${this.user}: ${msg} (ask the store's owner for write access, or point this ` +
          'workspace at a store you may write: --store, CAIRN_STORE_URL or .cairn/config.yaml store.url)',
      );
    } else if (
      e.code === 'ECONNREFUSED' ||
      e.code === 'ENOTFOUND' ||
      e.code === 'EAI_AGAIN' ||
      /timeout|terminated/i.test(msg)
    ) {
      out = new StoreConnectionError(
        `cannot reach the tracking store ${where}: ${msg}; is the server running and the host/port right?`,
      );
    } else if (e.code === '28P01' || e.code === '28000') {
      out = new StoreConnectionError(
        `the tracking store ${where} refused the login of user ${this.user}: ${msg}; check the password (PGPASSWORD, ~/.pgpass ` +
          'or "Cairn: Set Store Password") and the user name',
      );
    } else if (e.code === '3D000') {
      out = new StoreConnectionError(
        `the tracking store ${where} has no such database: ${msg}; create it (createdb) or fix the URL`,
      );
    } else if (e.code && /^(08|57P)/.test(e.code)) {
      out = new StoreConnectionError(
        `lost the connection to the tracking store ${where}: ${msg}; retry when the server is back`,
      );
    } else {
      out = new Error(msg);
      if (e.code) Object.assign(out, { code: e.code });
    }
    return out;
  }

  /**
   * LISTENs on `channel` over a connection of its own (a pooled one would be handed to other queries). `onNotify` gets
   * each payload, and `undefined` after the connection was lost and made again (what was announced meanwhile is
   * gone: look at the store). Resolves once listening; a first connection that fails rejects.
   */
  async listen(channel: string, onNotify: (payload: string | undefined) => void): Promise<{ close(): Promise<void> }> {
    let client: pg.Client | undefined;
    let closed = false;
    let retry: NodeJS.Timeout | undefined;
    let backoffMs = 500;
    const open = async (): Promise<void> => {
      const c = new (pgModule().Client)({ connectionString: this.url, types, application_name: 'cairn-watch' });
      c.on('notification', (n) => {
        if (n.channel === channel) onNotify(n.payload);
      });
      // A lost connection (server restart, network) is made again with a growing pause; the caller is told.
      c.on('error', () => lost(c));
      c.on('end', () => lost(c));
      try {
        await c.connect();
        await c.query(`LISTEN ${channel}`);
        if (closed) throw new Error('closed while connecting');
      } catch (error) {
        c.removeAllListeners('end');
        await c.end().catch(() => {});
        throw this.wrap(error);
      }
      client = c;
      backoffMs = 500;
    };
    const lost = (c: pg.Client): void => {
      if (closed || client !== c) return;
      client = undefined;
      void c.end().catch(() => {});
      const again = (): void => {
        retry = undefined;
        if (closed) return;
        open().then(
          () => onNotify(undefined),
          () => {
            backoffMs = Math.min(backoffMs * 2, 30_000);
            retry = setTimeout(again, backoffMs);
            retry.unref();
          },
        );
      };
      retry = setTimeout(again, backoffMs);
      retry.unref();
    };
    await open();
    return {
      close: async () => {
        closed = true;
        clearTimeout(retry);
        const c = client;
        client = undefined;
        await c?.end().catch(() => {});
      },
    };
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

function safeUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** The handle of one transaction: one client; nested transactions join it. */
class PgTx implements SqlDb {
  readonly dialect = 'postgres' as const;
  closed = false;
  constructor(
    private readonly db: PgDb,
    private readonly client: pg.PoolClient,
  ) {}

  private check(): void {
    if (this.closed) throw new Error('a store handle was used after its transaction ended');
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    this.check();
    return (await this.db.query<T>(this.client, sql, params)).rows;
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    this.check();
    return (await this.db.query<T>(this.client, sql, params)).rows[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    this.check();
    return (await this.db.query(this.client, sql, params)).rowCount ?? 0;
  }

  tx<T>(fn: (db: SqlDb) => Promise<T>): Promise<T> {
    return fn(this);
  }

  close(): Promise<void> {
    return Promise.reject(new Error('a store handle cannot close the store'));
  }
}
