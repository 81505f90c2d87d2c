import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { DeploymentArm } from '@cairn/protocol';
import { keyShare } from '../serve/keyShare.js';
import type { Rows } from '../serve/request.js';
import { StoreConnectionError } from '../store/postgres.js';
import type { Store } from '../store/store.js';
import {
  busyTimeout,
  isBusy,
  LABEL_AT,
  LABEL_JSON,
  labelRows,
  REQUEST_ID,
  ROW,
  ROW_VALUES,
  RowWriter,
  setBusyTimeout,
  type SqlRowWriter,
  type WriterData,
  type WriterReply,
  type WriterRequest,
} from '../store/predictionRows.js';

/**
 * The write side of the prediction log (store table `predictions`, migration 5): sampled, bounded, and written off
 * the request path and off the serving thread. Answered rows are copied into an in-memory queue (a flat array: no
 * object per row, nothing of the request kept); a timer (every `flushMs`, or as soon as `batchRows` are waiting) hands a batch to a writer thread
 * (logWriter.worker.ts) that owns its own SQLite connection, so the inserts, commits and WAL work do not hold the event
 * loop that answers requests. One batch is with the thread at a time and stays here until the thread answers: a busy
 * database hands it back (kept in front, still able to take a label), a dead thread is replaced by writing on this
 * thread. A full buffer drops rows (counted), so a slow or locked database never blocks a request. `flush()` waits for
 * the thread synchronously (feedback and close need every row on disk). bench/serve/logWrite.ts measures the write
 * side alone, bench/serve/run.ts the whole server.
 *
 * On a PostgreSQL store the same queue and batches go to the store's asynchronous writer (SqlRowWriter: multi-row
 * INSERTs, one transaction per batch) on this thread: the wait is network I/O, which does not hold the event loop. A
 * server that cannot be reached hands the batch back like a busy SQLite file; `flushed()` (feedback, close) waits for
 * the rows asynchronously, as a synchronous wait on the network is not possible.
 */

/**
 * One predicted row, as the server hands it over (after the answer is sent): plain data and shared references, read
 * once by `add`, which serializes the inputs (through `cells`) and the prediction into the queue and keeps nothing else.
 */
export interface PredictionRow {
  requestId: string;
  row: number;
  arm: DeploymentArm;
  version: number | null;
  abKey: string | null;
  /** The input column names (one array per arm, shared by its rows); `fieldAt[i]` is the field of `columns[i]` in `cells`, read at request row `row`. */
  columns: readonly string[];
  fieldAt: readonly number[];
  /** The request's parsed rows, read without copying them. */
  cells: Pick<Rows, 'cell'>;
  prediction: unknown;
  latencyMs: number;
  at: number;
}

export interface PredictionLogOptions {
  /** Fraction of requests logged (0..1), chosen by a hash of the request id: stable for a given id. */
  sample: number;
  /** Rows kept per deployment; the oldest are deleted beyond it. */
  maxRows: number;
  flushMs?: number;
  batchRows?: number;
  /** Rows the buffer holds before it drops. */
  capacity?: number;
  /** false: write on the serving thread instead of a writer thread (the default for an in-memory store). */
  thread?: boolean;
  /** Where write failures are reported (the server log). */
  log?: (line: string) => void;
}

export interface FeedbackItem {
  requestId: string;
  row: number;
  label: number | string | boolean;
}

/** How long a synchronous flush waits for the writer thread beyond the busy timeout before writing on this thread instead. */
const WRITER_GRACE_MS = 30_000;

/** The writer thread and its reply channel. */
interface Thread {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
}

/**
 * Starts the writer thread: dist/logWriter.js beside the bundle, or from source under tsx (tests, benchmarks), where
 * the .ts entry needs tsx's require hook in the thread too. undefined when neither can be started.
 */
function startThread(data: Omit<WriterData, 'signal'>): Thread | undefined {
  const signal = new SharedArrayBuffer(4);
  const channel = new MessageChannel();
  const options = { workerData: { ...data, signal, port: channel.port2 }, transferList: [channel.port2] };
  const bundled = path.join(__dirname, 'logWriter.js');
  let worker: Worker;
  if (existsSync(bundled)) worker = new Worker(bundled, options);
  else {
    const source = path.join(__dirname, 'logWriter.worker.ts');
    let hook: string;
    try {
      hook = createRequire(__filename).resolve('tsx/cjs');
    } catch {
      return undefined;
    }
    if (!existsSync(source)) return undefined;
    worker = new Worker(`require(${JSON.stringify(hook)}); require(${JSON.stringify(source)});`, {
      ...options,
      eval: true,
    });
  }
  worker.unref();
  channel.port1.unref();
  return { worker, port: channel.port1, signal: new Int32Array(signal) };
}

export class PredictionLog {
  readonly sample: number;
  readonly maxRows: number;
  /**
   * Rows not yet sent, in order, ROW_VALUES values per row (store/predictionRows.ts): copied as they arrive (cells, prediction), so
   * a queued row holds its own values rather than its request's parsed body. Rows handed back by a busy database go in
   * front.
   */
  private queue: unknown[] = [];
  /** The one batch the writer thread has and has not answered yet. */
  private inflight: { seq: number; values: unknown[] } | undefined;
  private seq = 0;
  private readonly flushMs: number;
  private readonly batchRows: number;
  private readonly capacity: number;
  private readonly log: (line: string) => void;
  private readonly timer: NodeJS.Timeout;
  private soon: NodeJS.Immediate | undefined;
  private closed = false;
  /** Rows written to the store, and rows dropped (buffer full, or a write that failed). */
  logged = 0;
  dropped = 0;
  /** Where rows are written: the writer thread, or (when it cannot run) this thread's connection. */
  private thread: Thread | undefined;
  private inline: RowWriter | undefined;
  /** A networked store's writer (PostgreSQL): batches written asynchronously on this thread. */
  private readonly remote: SqlRowWriter | undefined;
  /** Settles when the networked writer has answered the batch in flight. */
  private remoteDone: Promise<void> | undefined;
  private sawBusy = false;

  constructor(
    readonly store: Store,
    readonly deploymentId: number,
    opts: PredictionLogOptions,
  ) {
    this.sample = opts.sample;
    this.maxRows = opts.maxRows;
    this.flushMs = opts.flushMs ?? 100;
    this.batchRows = opts.batchRows ?? 250;
    this.capacity = opts.capacity ?? 50_000;
    this.log = opts.log ?? (() => undefined);
    if (store.dialect === 'postgres') this.remote = store.predictionWriter(deploymentId, opts.maxRows);
    else if (opts.thread !== false && store.file !== ':memory:') {
      try {
        this.thread = startThread({ file: store.file, deploymentId, maxRows: opts.maxRows });
      } catch (e) {
        this.log(
          `prediction log: no writer thread (${e instanceof Error ? e.message : String(e)}); writing on the serving thread`,
        );
      }
    }
    if (this.thread) {
      const t = this.thread;
      t.port.on('message', (r: WriterReply) => this.onReply(r));
      t.worker.on('error', (e) => this.abandon(t, `the writer thread failed: ${e.message}`));
      t.worker.on('exit', (code) => this.abandon(t, `the writer thread stopped (exit code ${code})`));
    } else if (!this.remote) this.inline = new RowWriter(store.db, deploymentId, opts.maxRows);
    this.timer = setInterval(() => this.flushQuietly(), this.flushMs);
    this.timer.unref();
  }

  /** Whether rows go through the writer thread (false: written on the serving thread, e.g. an in-memory store). */
  get threaded(): boolean {
    return this.thread !== undefined;
  }

  /** Whether a request is logged: a hash of its id under the sample rate, so a retried id gets the same answer. */
  sampled(requestId: string): boolean {
    return this.sample >= 1 || (this.sample > 0 && keyShare(requestId) < this.sample);
  }

  /** Buffers a row; false (and counted) when the buffer is full. Never touches the database. */
  add(row: PredictionRow): boolean {
    if (this.closed || this.pending >= this.capacity) {
      this.dropped++;
      return false;
    }
    pushRow(this.queue, row);
    if (!this.soon && !this.inflight && this.queue.length >= this.batchRows * ROW_VALUES)
      this.soon = setImmediate(() => this.flushQuietly());
    return true;
  }

  /** Rows not yet written: queued, handed back by a busy database, or with the writer thread. */
  get pending(): number {
    return (this.queue.length + (this.inflight?.values.length ?? 0)) / ROW_VALUES;
  }

  /**
   * Writes every pending row before returning (feedback and close need them on disk), waiting for the writer thread;
   * stops early, keeping the rows, when the database stays busy past its busy timeout. On a networked store it only
   * sends the next batch: await `flushed()` there.
   */
  flush(): void {
    if (this.remote) {
      this.send(Infinity, 0);
      return;
    }
    this.sawBusy = false;
    const t0 = Date.now();
    const busyMs = this.busyMs();
    for (;;) {
      this.drain();
      if (this.sawBusy) return;
      const t = this.thread;
      if (this.inflight && t) {
        const seen = Atomics.load(t.signal, 0);
        this.drain();
        if (!this.inflight) continue;
        const left = t0 + busyMs + WRITER_GRACE_MS - Date.now();
        if (left <= 0 || Atomics.wait(t.signal, 0, seen, left) === 'timed-out')
          this.abandon(t, `the writer thread did not answer within ${busyMs + WRITER_GRACE_MS} ms`);
        continue;
      }
      if (this.pending === 0 || !this.send(Infinity, busyMs)) return;
    }
  }

  /**
   * Every pending row written, on either kind of store; stops early, keeping the rows, when the store is busy or out
   * of reach.
   */
  async flushed(): Promise<void> {
    if (!this.remote) {
      this.flush();
      return;
    }
    this.sawBusy = false;
    for (;;) {
      if (this.remoteDone) await this.remoteDone;
      else if (this.sawBusy || this.pending === 0 || !this.send(Infinity, 0)) return;
    }
  }

  /** Replies already waiting on the channel, handled now (a synchronous flush cannot wait for the event loop). */
  private drain(): void {
    const t = this.thread;
    if (!t) return;
    for (let m = receiveMessageOnPort(t.port); m; m = receiveMessageOnPort(t.port))
      this.onReply(m.message as WriterReply);
  }

  private onReply(r: WriterReply): void {
    if ('startError' in r) {
      if (this.thread) this.abandon(this.thread, `the writer thread could not open the store: ${r.startError}`);
      return;
    }
    const batch = this.inflight;
    if (!batch || batch.seq !== r.seq) return;
    this.inflight = undefined;
    const rows = batch.values.length / ROW_VALUES;
    if ('inserted' in r) this.logged += r.inserted;
    else if ('busy' in r) this.handBack(batch.values);
    else {
      this.dropped += rows;
      this.log(`prediction log: ${rows} rows not written: ${r.error}`);
    }
    if (!this.closed && this.queue.length >= this.batchRows * ROW_VALUES && !this.soon)
      this.soon = setImmediate(() => this.flushQuietly());
  }

  /** Rows the database was too busy to take: kept in front of the rest (within the capacity), or dropped once closed. */
  private handBack(values: unknown[]): void {
    this.sawBusy = true;
    const rows = values.length / ROW_VALUES;
    if (this.closed) {
      this.dropped += rows;
      this.log(`prediction log: ${rows} rows not written: the store stayed locked`);
      return;
    }
    const keep = Math.min(rows, Math.max(0, this.capacity - this.queue.length / ROW_VALUES));
    this.queue = (keep === rows ? values : values.slice(0, keep * ROW_VALUES)).concat(this.queue);
    this.dropped += rows - keep;
  }

  /** The writer thread is gone: its batch is sent again, and rows are written on this thread from now on. */
  private abandon(t: Thread, why: string): void {
    if (this.thread !== t) return;
    this.thread = undefined;
    t.port.close();
    void t.worker.terminate();
    if (!this.closed) this.log(`prediction log: ${why}; writing on the serving thread`);
    this.inline = new RowWriter(this.store.db, this.deploymentId, this.maxRows);
    const batch = this.inflight;
    this.inflight = undefined;
    if (batch) this.queue = batch.values.concat(this.queue);
  }

  /** The store's busy timeout: the writer thread waits as long for a lock as this thread would. */
  private busyMs(): number {
    return this.remote ? 0 : busyTimeout(this.store.db);
  }

  /**
   * Sends up to `limit` queued rows to the writer thread, or writes them here; false when nothing was sent or the
   * database was busy (the rows stay queued).
   */
  private send(limit: number, busyMs: number): boolean {
    if (this.soon) clearImmediate(this.soon);
    this.soon = undefined;
    if (this.inflight || this.queue.length === 0) return false;
    let values = this.queue;
    if (values.length <= limit * ROW_VALUES) this.queue = [];
    else {
      values = this.queue.slice(0, limit * ROW_VALUES);
      this.queue = this.queue.slice(limit * ROW_VALUES);
    }
    if (this.remote) {
      const seq = ++this.seq;
      this.inflight = { seq, values };
      const done = this.remote.write(values).then(
        (inserted) => this.onReply({ seq, inserted }),
        (e: unknown) =>
          // Out of reach (server down, restarting): kept for the next flush, as a busy SQLite file's rows are.
          this.onReply(
            e instanceof StoreConnectionError
              ? { seq, busy: true }
              : { seq, error: e instanceof Error ? e.message : String(e) },
          ),
      );
      this.remoteDone = done;
      void done.finally(() => {
        if (this.remoteDone === done) this.remoteDone = undefined;
      });
      return true;
    }
    if (this.thread) {
      this.inflight = { seq: ++this.seq, values };
      const m: WriterRequest = { kind: 'write', seq: this.inflight.seq, values, busyMs };
      this.thread.worker.postMessage(m);
      return true;
    }
    try {
      this.logged += (this.inline as RowWriter).write(values);
      return true;
    } catch (e) {
      if (isBusy(e)) {
        this.handBack(values);
        return false;
      }
      this.dropped += values.length / ROW_VALUES;
      this.log(
        `prediction log: ${values.length / ROW_VALUES} rows not written: ${e instanceof Error ? e.message : String(e)}`,
      );
      return true;
    }
  }

  /**
   * Stores labels for logged rows. Pending rows are written first (a label may arrive before the flush), and if the
   * database is busy the label is attached to the pending row instead, so no label is lost to the race.
   */
  async feedback(items: FeedbackItem[]): Promise<{ updated: number; unknown: number }> {
    await this.flushed();
    const at = Date.now();
    let updated = 0;
    // Rows still queued (the database stayed busy): the label goes into the row, written with it.
    const q = this.queue;
    const queued = new Map<string, number>();
    for (let o = 0; o < q.length; o += ROW_VALUES)
      queued.set(`${String(q[o + ROW])}\u0000${String(q[o + REQUEST_ID])}`, o);
    const stored: FeedbackItem[] = [];
    for (const f of items) {
      const o = queued.get(`${f.row}\u0000${f.requestId}`);
      if (o === undefined) stored.push(f);
      else {
        q[o + LABEL_JSON] = JSON.stringify(f.label);
        q[o + LABEL_AT] = at;
        updated++;
      }
    }
    updated += this.remote
      ? await this.remote.label(stored, at)
      : labelRows(this.store.db, this.deploymentId, stored, at);
    return { updated, unknown: items.length - updated };
  }

  /**
   * Writes what is pending (waiting up to `busyMs` for a lock), stops the timer and the writer thread; later rows are
   * dropped. On SQLite all of it is done when this returns; on a networked store when the promise resolves.
   */
  close(busyMs = 5_000): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    clearInterval(this.timer);
    if (this.soon) clearImmediate(this.soon);
    if (this.remote) return this.flushed();
    setBusyTimeout(this.store.db, busyMs);
    this.flush();
    const t = this.thread;
    if (t) {
      this.thread = undefined;
      const m: WriterRequest = { kind: 'close' };
      t.worker.postMessage(m);
      t.port.close();
    }
    return Promise.resolve();
  }

  /** The timer's and the batch trigger's flush: sends one batch if none is with the writer thread. */
  private flushQuietly(): void {
    try {
      this.drain();
      this.send(this.batchRows, this.busyMs());
    } catch (e) {
      this.log(`prediction log: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/**
 * Appends a row's ROW_VALUES values to a batch (the layout of store/predictionRows.ts): its input cells copied out of the request
 * (the request itself is not kept), the column list shared (copied once per batch between threads), no label yet.
 * The JSON text is made where the rows are written, so the serving thread only copies values.
 */
function pushRow(v: unknown[], p: PredictionRow): void {
  const n = p.columns.length;
  const cells = new Array<unknown>(n);
  for (let i = 0; i < n; i++) cells[i] = p.cells.cell(p.fieldAt[i] ?? -1, p.row) ?? null;
  v.push(p.requestId, p.row, p.arm, p.version, p.abKey, p.columns, cells, p.prediction, p.latencyMs, p.at, null, null);
}
