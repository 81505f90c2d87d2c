import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CTL, buildHistogram, type HistogramInputs } from './gbdtHistogram.js';
import { TrainingError } from './loop.js';

/**
 * Builds gradient / hessian histograms for the tree grower, on the training thread alone or split by feature blocks
 * across worker threads. The workers share the binned matrix, the row order, the gradients and one target histogram
 * through SharedArrayBuffers; a build is one Atomics round trip (no messages, no copies of the data), and the
 * training thread works on its own block meanwhile. Histograms handed to the grower come from a free list.
 */
export interface PoolData {
  bins: Uint8Array;
  offsets: Uint32Array;
}

/** Data a histogram worker receives once, at start. */
export interface WorkerData {
  bins: SharedArrayBuffer;
  offsets: SharedArrayBuffer;
  rows: SharedArrayBuffer;
  grad: SharedArrayBuffer;
  hess: SharedArrayBuffer;
  target: SharedArrayBuffer;
  features: SharedArrayBuffer;
  control: SharedArrayBuffer;
  width: number;
  index: number;
  threads: number;
}

function shared<T extends Float64Array | Uint32Array | Uint8Array>(make: (b: SharedArrayBuffer) => T, bytes: number): T {
  return make(new SharedArrayBuffer(Math.max(bytes, 8)));
}

function startWorker(data: WorkerData): Worker {
  const bundled = path.join(__dirname, 'gbdtWorker.js');
  if (existsSync(bundled)) return new Worker(bundled, { workerData: data });
  // From source (tests, benchmarks under tsx): the thread needs tsx's require hook too.
  const source = path.join(__dirname, 'gbdtWorker.ts');
  const hook = createRequire(__filename).resolve('tsx/cjs');
  if (!existsSync(source)) throw new TrainingError(`threads: neither ${bundled} nor ${source} exists; set threads: 1`);
  return new Worker(`require(${JSON.stringify(hook)}); require(${JSON.stringify(source)});`, { eval: true, workerData: data });
}

export class HistogramPool {
  readonly rows: Uint32Array;
  readonly grad: Float64Array;
  readonly hess: Float64Array;
  private readonly free: Float64Array[] = [];
  private readonly size: number;
  private readonly inputs: HistogramInputs;

  private constructor(
    data: PoolData,
    width: number,
    private readonly workers: Worker[],
    private readonly threaded: { target: Float64Array; features: Uint32Array; control: Int32Array } | undefined,
    buffers: { rows: Uint32Array; grad: Float64Array; hess: Float64Array; bins: Uint8Array; offsets: Uint32Array },
  ) {
    this.size = 3 * (data.offsets[width] ?? 0);
    this.rows = buffers.rows;
    this.grad = buffers.grad;
    this.hess = buffers.hess;
    this.inputs = { bins: buffers.bins, width, offsets: buffers.offsets, rows: this.rows, grad: this.grad, hess: this.hess };
  }

  /** `threads` ≤ 1: no workers. Otherwise threads − 1 workers beside the training thread. */
  static async create(data: PoolData, width: number, rowCount: number, threads: number): Promise<HistogramPool> {
    const slots = 3 * (data.offsets[width] ?? 0);
    if (threads <= 1) {
      const buffers = { rows: new Uint32Array(rowCount), grad: new Float64Array(rowCount), hess: new Float64Array(rowCount), bins: data.bins, offsets: data.offsets };
      return new HistogramPool(data, width, [], undefined, buffers);
    }
    const bins = shared((b) => new Uint8Array(b), data.bins.length);
    bins.set(data.bins);
    const offsets = shared((b) => new Uint32Array(b), data.offsets.byteLength);
    offsets.set(data.offsets);
    const rows = shared((b) => new Uint32Array(b), 4 * rowCount);
    const grad = shared((b) => new Float64Array(b), 8 * rowCount);
    const hess = shared((b) => new Float64Array(b), 8 * rowCount);
    const target = shared((b) => new Float64Array(b), 8 * slots);
    const features = shared((b) => new Uint32Array(b), 4 * width);
    const control = new Int32Array(new SharedArrayBuffer(4 * CTL.size));
    const workers: Worker[] = [];
    const ready: Array<Promise<void>> = [];
    for (let w = 1; w < threads; w++) {
      const worker = startWorker({
        bins: bins.buffer as SharedArrayBuffer,
        offsets: offsets.buffer as SharedArrayBuffer,
        rows: rows.buffer as SharedArrayBuffer,
        grad: grad.buffer as SharedArrayBuffer,
        hess: hess.buffer as SharedArrayBuffer,
        target: target.buffer as SharedArrayBuffer,
        features: features.buffer as SharedArrayBuffer,
        control: control.buffer as SharedArrayBuffer,
        width,
        index: w,
        threads,
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
    await Promise.all(ready);
    return new HistogramPool(data, width, workers, { target, features, control }, { rows, grad, hess, bins, offsets });
  }

  private take(): Float64Array {
    return this.free.pop() ?? new Float64Array(this.size);
  }

  release(h: Float64Array): void {
    this.free.push(h);
  }

  /** The histogram of rows[start, end) over `features`; slots of other features are left as they were. */
  build(start: number, end: number, features: Uint32Array): Float64Array {
    const out = this.take();
    const t = this.threaded;
    if (!t) {
      buildHistogram(this.inputs, out, start, end, features, 0, features.length);
      return out;
    }
    const threads = this.workers.length + 1;
    t.features.set(features);
    const c = t.control;
    Atomics.store(c, CTL.start, start);
    Atomics.store(c, CTL.end, end);
    Atomics.store(c, CTL.features, features.length);
    Atomics.store(c, CTL.done, 0);
    Atomics.add(c, CTL.generation, 1);
    Atomics.notify(c, CTL.generation);
    // The training thread takes block 0 into the shared target, then waits for the workers' blocks.
    buildHistogram(this.inputs, t.target, start, end, t.features, 0, Math.floor(features.length / threads));
    for (let d = Atomics.load(c, CTL.done); d < this.workers.length; d = Atomics.load(c, CTL.done)) Atomics.wait(c, CTL.done, d);
    for (const f of features) {
      const from = 3 * (this.inputs.offsets[f] ?? 0);
      const to = 3 * (this.inputs.offsets[f + 1] ?? 0);
      out.set(t.target.subarray(from, to), from);
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
