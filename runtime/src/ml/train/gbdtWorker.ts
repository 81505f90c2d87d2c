import { parentPort, workerData } from 'node:worker_threads';
import { CTL, accumulate } from './gbdtHistogram.js';
import type { WorkerData } from './gbdtThreads.js';

/**
 * A histogram worker of gradient boosting (gbdtThreads.ts): waits on the shared control word, adds its block of
 * features into the shared target histogram, counts itself done, and waits again until told to stop.
 */
const d = workerData as WorkerData;
const control = new Int32Array(d.control);
const target = new Float64Array(d.target);
const block = { rowStart: new Uint32Array(d.rowStart), slots: new Uint32Array(d.slots) };
const inputs = { rows: new Uint32Array(d.rows), grad: new Float64Array(d.grad), hess: new Float64Array(d.hess) };
let generation = Atomics.load(control, CTL.generation);
parentPort?.postMessage('ready');
for (;;) {
  Atomics.wait(control, CTL.generation, generation);
  generation = Atomics.load(control, CTL.generation);
  if (Atomics.load(control, CTL.stop) === 1) break;
  accumulate(inputs, block, target, Atomics.load(control, CTL.start), Atomics.load(control, CTL.end));
  Atomics.add(control, CTL.done, 1);
  Atomics.notify(control, CTL.done);
}
