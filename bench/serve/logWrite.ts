/**
 * bench:serve:log — the prediction log's write side alone: CPU per row of queueing single-row predictions and
 * flushing them into a real SQLite store (table `predictions`, migration 5), by rows per flush, with the writer thread
 * (the default) and on the serving thread. "serving thread" is the cost the log adds to `cairn serve`'s event loop per
 * logged row, without HTTP around it (Linux: read from /proc for the main thread; elsewhere the process total);
 * "process" adds the writer thread's own work. Each case runs `--repeat` times; the least CPU is reported (other jobs
 * on the machine only ever add to it).
 *
 *   node --import tsx bench/serve/logWrite.ts [-- --rows 20000 --repeat 5]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PredictionLog } from '../../runtime/src/deploy/predictionLog.js';
import type { Rows } from '../../runtime/src/serve/request.js';
import { Store } from '../../runtime/src/store/store.js';
import { arg } from './args.js';

const ROWS = arg('rows', 20_000);
const REPEAT = arg('repeat', 5);

const names = Array.from({ length: 8 }, (_, k) => `x${k}`);
const fieldAt = names.map((_, k) => k);
const prediction = { label: 'yes', probabilities: { no: 0.25, yes: 0.75 } };

/** CPU seconds×1e6 of this process's main thread (Linux), else of the whole process. */
function mainThreadCpuUs(): number {
  try {
    const st = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / 100;
  } catch {
    const c = process.cpuUsage();
    return c.user + c.system;
  }
}

async function run(batchRows: number, thread: boolean): Promise<{ process: number; main: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-log-'));
  const store = new Store(join(dir, '.cairn', 'cairn.db'));
  try {
    const id = await store.deployments.start({
      name: 'bench',
      ref: 'model.onnx',
      version: null,
      challenger: null,
      url: 'http://127.0.0.1:1',
      pid: process.pid,
      logSample: 1,
    });
    const log = new PredictionLog(store, id, {
      sample: 1,
      maxRows: 1_000_000,
      flushMs: 3_600_000,
      batchRows: 1_000_000,
      capacity: 1_000_000,
      thread,
    });
    const main0 = mainThreadCpuUs();
    const cpu0 = process.cpuUsage();
    for (let r = 0; r < ROWS; r++) {
      const data = [names.map((_, k) => r + k / 10)];
      const cells: Pick<Rows, 'cell'> = { cell: (f, row) => data[row]?.[f] };
      log.add({
        requestId: `0123456789ab-${r.toString(36).padStart(10, '0')}`,
        row: 0,
        arm: 'champion',
        version: null,
        abKey: null,
        columns: names,
        fieldAt,
        cells,
        prediction,
        latencyMs: 1.5,
        at: Date.now(),
      });
      if (log.pending >= batchRows) log.flush();
    }
    log.flush();
    const cpu = process.cpuUsage(cpu0);
    const main = mainThreadCpuUs() - main0;
    if (log.threaded !== thread) throw new Error(`asked for thread: ${thread}, got ${log.threaded}`);
    await log.close();
    if (log.logged !== ROWS) throw new Error(`wrote ${log.logged} rows of ${ROWS}`);
    return { process: (cpu.user + cpu.system) / ROWS, main: main / ROWS };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `bench:serve:log — ${ROWS} single-row predictions per run, least CPU of ${REPEAT} runs, node ${process.version}`,
);
void (async () => {
  await run(250, true); // warm-up
  await run(250, false);
  const cases = [50, 250, 1000].flatMap((b) => [true, false].map((thread) => ({ b, thread })));
  const best = cases.map(() => ({ process: Infinity, main: Infinity }));
  // Cases interleaved, so a burst of other work on the machine does not land on one case only.
  for (let k = 0; k < REPEAT; k++) {
    for (const [j, c] of cases.entries()) {
      const r = await run(c.b, c.thread);
      const m = best[j] as { process: number; main: number };
      m.process = Math.min(m.process, r.process);
      m.main = Math.min(m.main, r.main);
    }
  }
  cases.forEach((c, j) => {
    const m = best[j] as { process: number; main: number };
    console.log(
      `${String(c.b).padStart(5)} rows per flush  ${c.thread ? 'writer thread ' : 'serving thread'}   serving thread ${m.main.toFixed(1).padStart(5)} µs/row   process ${m.process.toFixed(1).padStart(5)} µs/row`,
    );
  });
})();
