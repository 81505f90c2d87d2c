import type { Column, Table } from '../ml/types.js';
import type { Loaded, Prediction } from './served.js';

/** Adaptive batching settings (docs/cli.md, "Batching"). */
export interface BatchOptions {
  /** Longest a queued request waits for the model's running call before a call of its own starts. */
  windowMs: number;
  /** Most rows one coalesced model call carries. */
  maxRows: number;
}

/** Counters for /metrics: model calls made, and how many of them answered more than one request. */
export interface BatchCounters {
  calls: number;
  batches: number;
  batchedRequests: number;
  /** Batched calls that failed and were retried request by request. */
  fallbacks: number;
}

interface Waiting {
  table: Table;
  resolve: (p: Prediction[]) => void;
  reject: (e: unknown) => void;
}

/** Columns are concatenated only when every request's table has the same names and column kinds. */
function signature(t: Table): string {
  let s = '';
  for (const c of t.columns) s += `${c.name}\u0000${c.type === 'string' ? 's' : 'n'}\u0001`;
  return s;
}

function concat(tables: Table[]): Table {
  if (tables.length === 1) return tables[0] as Table;
  let n = 0;
  for (const t of tables) n += t.rowCount;
  const first = tables[0] as Table;
  const columns: Column[] = first.columns.map((c0, j) => {
    if (c0.type === 'string') {
      const values: Array<string | null> = [];
      for (const t of tables) for (const v of (t.columns[j] as Column).values) values.push(v as string | null);
      return { name: c0.name, type: 'string', values };
    }
    const values = new Float64Array(n);
    let missing: Uint8Array | null = null;
    let at = 0;
    for (const t of tables) {
      const c = t.columns[j] as Column;
      if (c.type !== 'string') {
        values.set(c.values, at);
        if (c.missing) (missing ??= new Uint8Array(n)).set(c.missing, at);
      }
      at += t.rowCount;
    }
    return { name: c0.name, type: c0.type, values, missing };
  });
  return { rowCount: n, columns };
}

/**
 * Coalesces concurrent requests for one model into one model call. Adaptive: a request that finds the model idle is
 * run at once (a lone client waits for nothing); requests that arrive while a call runs queue, and the queue goes as
 * one call when that call ends, when it holds `maxRows`, or after `windowMs`. A batched call that fails is retried
 * request by request, so a row the model rejects fails only its own request.
 */
export class Batcher {
  private running = 0;
  private queue: Waiting[] = [];
  private queuedRows = 0;
  private queuedSig = '';
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly model: Loaded,
    private readonly opts: BatchOptions,
    private readonly counters: BatchCounters,
  ) {}

  /** The model with `predict` going through this batcher (top-k requests bypass it: each is its own scan). */
  loaded(): Loaded {
    return { ...this.model, predict: (t) => this.predict(t) };
  }

  predict(table: Table): Promise<Prediction[]> {
    if (this.running === 0 && this.queue.length === 0) return this.call(table);
    const sig = signature(table);
    if (table.rowCount >= this.opts.maxRows) return this.call(table);
    if (this.queue.length > 0 && (sig !== this.queuedSig || this.queuedRows + table.rowCount > this.opts.maxRows))
      this.flush();
    return new Promise<Prediction[]>((resolve, reject) => {
      if (this.queue.length === 0) {
        this.queuedSig = sig;
        this.timer = setTimeout(() => this.flush(), this.opts.windowMs);
      }
      this.queue.push({ table, resolve, reject });
      this.queuedRows += table.rowCount;
      if (this.queuedRows >= this.opts.maxRows) this.flush();
    });
  }

  private async call(table: Table): Promise<Prediction[]> {
    this.running++;
    this.counters.calls++;
    try {
      return await this.model.predict(table);
    } finally {
      this.running--;
      if (this.running === 0 && this.queue.length > 0) this.flush();
    }
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.queue;
    this.queue = [];
    this.queuedRows = 0;
    if (batch.length === 0) return;
    if (batch.length === 1) {
      const w = batch[0] as Waiting;
      this.call(w.table).then(w.resolve, w.reject);
      return;
    }
    this.counters.batches++;
    this.counters.batchedRequests += batch.length;
    this.call(concat(batch.map((w) => w.table))).then(
      (all) => {
        let at = 0;
        for (const w of batch) {
          w.resolve(all.slice(at, at + w.table.rowCount));
          at += w.table.rowCount;
        }
      },
      () => {
        // One bad row must not fail its neighbours: each request gets its own call and its own answer or error.
        this.counters.fallbacks++;
        for (const w of batch) this.call(w.table).then(w.resolve, w.reject);
      },
    );
  }
}
