import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CTL, accumulate, fillDefaults, type HistogramInputs, type SparseBlock } from './gbdtHistogram.js';
import { TrainingError } from './loop.js';

/**
 * Builds gradient / hessian histograms for the tree grower, on the training thread alone or split by feature blocks
 * across worker threads (one block each; the training thread takes block 0). The workers share the row order, the
 * gradients, their block's rows and one target histogram through SharedArrayBuffers; a build is one Atomics round
 * trip — no messages, no copies of the data. Histograms handed to the grower come from a free list.
 */
export interface PoolData {
  blocks: SparseBlock[];
  /** First slot of each feature; offsets[width] = total slots. */
  offsets: Uint32Array;
  /** Default (most frequent) slot of each feature. */
  defaults: Uint32Array;
}

/** Data a histogram worker receives once, at start. */
export interface WorkerData {
  rowStart: SharedArrayBuffer;
  slots: SharedArrayBuffer;
  rows: SharedArrayBuffer;
  grad: SharedArrayBuffer;
  hess: SharedArrayBuffer;
  target: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

function sharedCopy(a: Uint32Array): Uint32Array<SharedArrayBuffer> {
  const out = new Uint32Array(new SharedArrayBuffer(Math.max(4, a.byteLength)));
  out.set(a);
  return out;
}

function startWorker(data: WorkerData): Worker {
  const bundled = path.join(__dirname, 'gbdtWorker.js');
  if (existsSync(bundled)) return new Worker(bundled, { workerData: data });
  // From source (tests, benchmarks under tsx): the thread needs tsx's require hook too.
  const source = path.join(__dirname, 'gbdtWorker.ts');
  if (!existsSync(source)) throw new TrainingError(`threads: neither ${bundled} nor ${source} exists; set threads: 1`);
  const hook = createRequire(__filename).resolve('tsx/cjs');
  return new Worker(`require(${JSON.stringify(hook)}); require(${JSON.stringify(source)});`, {
    eval: true,
    workerData: data,
  });
}

/** Fewest sparse entries a histogram must sum before the workers are woken for it (measured: bench/ml/gbdt.ts). */
export const THREADED_ENTRIES = 200_000;

export class HistogramPool {
  readonly rows: Uint32Array;
  readonly grad: Float64Array;
  readonly hess: Float64Array;
  /** Mean sparse entries per row: what building a histogram costs per row. */
  readonly entriesPerRow: number;
  private readonly free: Float64Array[] = [];
  private readonly size: number;
  private readonly inputs: HistogramInputs;

  private constructor(
    private readonly data: PoolData,
    width: number,
    private readonly minEntries: number,
    private readonly workers: Worker[],
    private readonly threaded: { target: Float64Array; control: Int32Array } | undefined,
    buffers: HistogramInputs,
  ) {
    this.size = 3 * (data.offsets[width] ?? 0);
    this.rows = buffers.rows;
    this.grad = buffers.grad;
    this.hess = buffers.hess;
    this.inputs = buffers;
    const entries = data.blocks.reduce((a, b) => a + b.slots.length, 0);
    this.entriesPerRow = entries / Math.max(1, (data.blocks[0]?.rowStart.length ?? 1) - 1);
  }

  /** One block: the training thread alone. More: a worker per block after the first. */
  static async create(
    data: PoolData,
    width: number,
    rowCount: number,
    minEntries = THREADED_ENTRIES,
  ): Promise<HistogramPool> {
    if (data.blocks.length <= 1) {
      return new HistogramPool(data, width, minEntries, [], undefined, {
        rows: new Uint32Array(rowCount),
        grad: new Float64Array(rowCount),
        hess: new Float64Array(rowCount),
      });
    }
    const rows = new Uint32Array(new SharedArrayBuffer(4 * rowCount));
    const grad = new Float64Array(new SharedArrayBuffer(8 * rowCount));
    const hess = new Float64Array(new SharedArrayBuffer(8 * rowCount));
    const target = new Float64Array(new SharedArrayBuffer(8 * 3 * (data.offsets[width] ?? 0)));
    const control = new Int32Array(new SharedArrayBuffer(4 * CTL.size));
    const workers: Worker[] = [];
    const ready: Array<Promise<void>> = [];
    for (const block of data.blocks.slice(1)) {
      const worker = startWorker({
        rowStart: sharedCopy(block.rowStart).buffer,
        slots: sharedCopy(block.slots).buffer,
        rows: rows.buffer,
        grad: grad.buffer,
        hess: hess.buffer,
        target: target.buffer,
        control: control.buffer,
      });
      workers.push(worker);
      // The worker says 'ready' once it waits on the control word, so the first build cannot be missed.
      ready.push(
        new Promise((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
        }),
      );
    }
    const pool = new HistogramPool(data, width, minEntries, workers, { target, control }, { rows, grad, hess });
    try {
      await Promise.all(ready);
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  private take(): Float64Array {
    return this.free.pop() ?? new Float64Array(this.size);
  }

  release(h: Float64Array): void {
    this.free.push(h);
  }

  private zero(hist: Float64Array, features: Uint32Array): void {
    const { offsets } = this.data;
    for (let j = 0; j < features.length; j++) {
      const f = features[j]!;
      hist.fill(0, 3 * offsets[f]!, 3 * offsets[f + 1]!);
    }
  }

  /**
   * The histogram of rows[start, end) over `features`, whose totals are g, h and count; slots of other features hold
   * nothing meaningful.
   */
  build(start: number, end: number, features: Uint32Array, g: number, h: number, count: number): Float64Array {
    const out = this.take();
    const { offsets, defaults, blocks } = this.data;
    const t = this.threaded;
    // A small node is summed here: waking the workers costs more than its rows (the sums are the same either way).
    if (!t || (end - start) * this.entriesPerRow < this.minEntries) {
      this.zero(out, features);
      for (const b of blocks) accumulate(this.inputs, b, out, start, end);
      fillDefaults(out, features, offsets, defaults, g, h, count);
      return out;
    }
    const c = t.control;
    t.target.fill(0);
    Atomics.store(c, CTL.start, start);
    Atomics.store(c, CTL.end, end);
    Atomics.store(c, CTL.done, 0);
    Atomics.add(c, CTL.generation, 1);
    Atomics.notify(c, CTL.generation);
    // The training thread sums block 0 meanwhile, then waits for the workers' blocks.
    accumulate(this.inputs, blocks[0]!, t.target, start, end);
    for (let d = Atomics.load(c, CTL.done); d < this.workers.length; d = Atomics.load(c, CTL.done))
      Atomics.wait(c, CTL.done, d);
    fillDefaults(t.target, features, offsets, defaults, g, h, count);
    for (let j = 0; j < features.length; j++) {
      const f = features[j]!;
      out.set(t.target.subarray(3 * offsets[f]!, 3 * offsets[f + 1]!), 3 * offsets[f]!);
    }
    return out;
  }

  async close(): Promise<void> {
    const t = this.threaded;
    if (!t) return;
    Atomics.store(t.control, CTL.stop, 1);
    Atomics.add(t.control, CTL.generation, 1);
    Atomics.notify(t.control, CTL.generation);
    await Promise.all(this.workers.map((w) => new Promise((resolve) => w.once('exit', resolve))));
  }
}
