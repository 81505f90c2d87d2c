/**
 * bench:serve:log:pg — the prediction log's write side on a PostgreSQL store (a throwaway local cluster,
 * test/lib/postgres.ts: fsync off, so absolute numbers are optimistic; the ratio is the point): single-row predictions
 * queued into PredictionLog and written in its batches (SqlRowWriter: 250-row INSERTs, one transaction per batch), against
 * a raw `pg` multi-row INSERT of the same rows' values into the same table in the same run. Prints rows/s of each, their
 * ratio, and the serving thread's CPU per row (what the log adds to `cairn serve`'s event loop).
 *
 *   node --import tsx bench/serve/logWritePg.ts [-- --rows 20000 --repeat 3]
 */
import pg from 'pg';
import { PredictionLog } from '../../runtime/src/deploy/predictionLog.js';
import type { Rows } from '../../runtime/src/serve/request.js';
import { Store } from '../../runtime/src/store/store.js';
import { postgresCluster } from '../../test/lib/postgres.js';
import { arg } from './args.js';

const ROWS = arg('rows', 20_000);
const REPEAT = arg('repeat', 3);

const names = Array.from({ length: 8 }, (_, k) => `x${k}`);
const fieldAt = names.map((_, k) => k);
const prediction = { label: 'yes', probabilities: { no: 0.25, yes: 0.75 } };
const requestId = (r: number, run: number) =>
  `${run.toString(16).padStart(12, '0')}-${r.toString(36).padStart(10, '0')}`;

async function deployment(store: Store): Promise<number> {
  return store.deployments.start({
    name: 'bench',
    ref: 'model.onnx',
    version: null,
    challenger: null,
    url: 'http://127.0.0.1:1',
    pid: process.pid,
    logSample: 1,
  });
}

/** The log as cairn serve uses it: rows added one by one, batches sent by its timer and size trigger. */
async function viaLog(store: Store, run: number): Promise<{ seconds: number; cpuPerRow: number }> {
  const id = await deployment(store);
  const log = new PredictionLog(store, id, { sample: 1, maxRows: 10_000_000, capacity: 10_000_000 });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < ROWS; r++) {
    const data = [names.map((_, k) => r + k / 10)];
    const cells: Pick<Rows, 'cell'> = { cell: (f, row) => data[row]?.[f] };
    log.add({
      requestId: requestId(r, run),
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
    // Requests arrive over time: yield now and then, as the event loop between requests would.
    if (r % 250 === 249) await new Promise((resolve) => setImmediate(resolve));
  }
  await log.close();
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  if (log.logged !== ROWS) throw new Error(`wrote ${log.logged} rows of ${ROWS}`);
  return { seconds, cpuPerRow: (cpu.user + cpu.system) / ROWS };
}

/** The baseline: the same values, JSON made up front, 250-row INSERTs through one pg client, one transaction each. */
async function raw(client: pg.Client, store: Store, run: number): Promise<number> {
  const id = await deployment(store);
  const values: unknown[][] = [];
  for (let r = 0; r < ROWS; r++) {
    const inputs = JSON.stringify(Object.fromEntries(names.map((n, k) => [n, r + k / 10])));
    values.push([
      id,
      requestId(r, run),
      0,
      'champion',
      null,
      null,
      inputs,
      JSON.stringify(prediction),
      1.5,
      Date.now(),
    ]);
  }
  const t0 = performance.now();
  for (let i = 0; i < values.length; i += 250) {
    const chunk = values.slice(i, i + 250);
    const params = chunk.flat();
    const tuples = chunk.map((_, j) => `(${Array.from({ length: 10 }, (_, k) => `$${j * 10 + k + 1}`).join(',')})`);
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO predictions (deployment_id, request_id, row, arm, version, ab_key, inputs_json, prediction_json, latency_ms, at) VALUES ${tuples.join(',')}`,
      params,
    );
    await client.query('COMMIT');
  }
  return (performance.now() - t0) / 1000;
}

void (async () => {
  const cluster = await postgresCluster();
  const url = await cluster.createDatabase('bench_log');
  const store = await Store.postgres(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  console.log(
    `bench:serve:log:pg — ${ROWS} single-row predictions per run, best of ${REPEAT}, node ${process.version}`,
  );
  let best = { log: Infinity, raw: Infinity, cpu: Infinity };
  for (let k = 0; k < REPEAT; k++) {
    const l = await viaLog(store, 2 * k);
    const r = await raw(client, store, 2 * k + 1);
    best = { log: Math.min(best.log, l.seconds), raw: Math.min(best.raw, r), cpu: Math.min(best.cpu, l.cpuPerRow) };
  }
  const rate = (s: number) => Math.round(ROWS / s).toLocaleString('en-US');
  console.log(`prediction log  ${rate(best.log)} rows/s   (process CPU ${best.cpu.toFixed(1)} µs/row)`);
  console.log(`raw pg INSERT   ${rate(best.raw)} rows/s`);
  console.log(`ratio log/raw   ${(best.raw / best.log).toFixed(2)}`);
  await client.end();
  await store.close();
})();
