/**
 * bench:serve:log — the prediction log's write side alone: CPU per row of buffering single-row predictions and
 * flushing them into a real SQLite store (table `predictions`, migration 5), by rows per flush. The cost the log adds
 * to `cairn serve`'s event loop per logged row, without HTTP around it. Each size runs `--repeat` times; the least CPU
 * is reported (other jobs on the machine only ever add to it).
 *
 *   node --import tsx bench/serve/logWrite.ts [-- --rows 20000 --repeat 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDeployment } from '../../runtime/src/deploy/deployments.js';
import { PredictionLog } from '../../runtime/src/deploy/predictionLog.js';
import type { Rows } from '../../runtime/src/serve/request.js';
import { Store } from '../../runtime/src/store/store.js';
import { arg } from './args.js';

const ROWS = arg('rows', 20_000);
const REPEAT = arg('repeat', 5);

const names = Array.from({ length: 8 }, (_, k) => `x${k}`);
const fieldAt = names.map((_, k) => k);
const prediction = { label: 'yes', probabilities: { no: 0.25, yes: 0.75 } };

function run(batchRows: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-log-'));
  const store = new Store(join(dir, '.cairn', 'cairn.db'));
  try {
    const id = startDeployment(store, { name: 'bench', ref: 'model.onnx', version: null, challenger: null, url: 'http://127.0.0.1:1', pid: process.pid, logSample: 1 });
    const log = new PredictionLog(store, id, { sample: 1, maxRows: 1_000_000, flushMs: 3_600_000, batchRows: 1_000_000, capacity: 1_000_000 });
    const cpu0 = process.cpuUsage();
    for (let r = 0; r < ROWS; r++) {
      const data = [names.map((_, k) => r + k / 10)];
      const cells: Pick<Rows, 'cell'> = { cell: (f, row) => data[row]?.[f] };
      log.add({ requestId: `0123456789ab-${r.toString(36).padStart(10, '0')}`, row: 0, arm: 'champion', version: null, abKey: null, columns: names, fieldAt, cells, prediction, latencyMs: 1.5, at: Date.now() });
      if (log.pending >= batchRows) log.flush();
    }
    log.flush();
    const cpu = process.cpuUsage(cpu0);
    log.close();
    if (log.logged !== ROWS) throw new Error(`wrote ${log.logged} rows of ${ROWS}`);
    return (cpu.user + cpu.system) / ROWS;
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`bench:serve:log — ${ROWS} single-row predictions per run, least CPU of ${REPEAT} runs, node ${process.version}`);
run(250); // warm-up
const sizes = [50, 250, 1000];
const best = sizes.map(() => Infinity);
// Sizes interleaved, so a burst of other work on the machine does not land on one size only.
for (let k = 0; k < REPEAT; k++) sizes.forEach((b, j) => (best[j] = Math.min(best[j] ?? Infinity, run(b))));
sizes.forEach((b, j) => console.log(`${String(b).padStart(5)} rows per flush   cpu ${(best[j] ?? NaN).toFixed(1).padStart(5)} µs/row`));
