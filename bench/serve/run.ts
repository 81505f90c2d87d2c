/**
 * bench:serve — single-row predictions through `cairn serve`'s full handler stack (token check, route, content type,
 * body limit, zod body check, input validation, the saved transform, ORT, metrics, request id and arm headers) with
 * the prediction log on at sample 1 (a deployment in a temp workspace store, rows flushed to SQLite every 100 ms),
 * against a bare node:http server that only parses the body and calls session.run on the same ONNX model; the same
 * server without the log is measured too, to show the log's cost. Same process, same loopback load generator
 * (keep-alive node:http Agent, 16 connections), bounded in requests and time; all traffic to 127.0.0.1. Each round
 * interleaves the three in slices of 1,000 requests; `npm run bench:serve` runs the esbuild bundle, as `cairn serve`
 * runs (bench/lib/runBundled.mjs).
 *
 *   npm run bench:serve [-- --requests 10000 --connections 16 --rounds 5 --batch-rounds 3 --models-only]
 *
 * Target (issue 6): cairn ≥ 75% of the bare server's req/s, p99 < 5 ms (those servers run with --no-batch).
 * Then adaptive batching (issue 15): bare vs cairn batched vs cairn unbatched (no log) in the same rounds, at 64
 * connections (target: batched ≥ 2× bare req/s, p99 ≤ bare p99 + 1 ms) and at 1 connection (p50 ≤ bare + 0.2 ms),
 * first for the bench model, then for each model Cairn produces (./models.ts: credit logistic regression, MLP,
 * gradient boosting, a wide MLP, a 1,000-tree ensemble, the MF recommender), each against a bare server on its own ONNX file; one table row per model.
 * Per-call costs of those models: bench/serve/calls.ts.
 */
import * as http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TabularModel } from '../../runtime/src/ml/models/artifact.js';
import { tabularToOnnx } from '../../runtime/src/ml/onnx/export.js';
import { PredictionLog } from '../../runtime/src/deploy/predictionLog.js';
import { ModelServer } from '../../runtime/src/serve/index.js';
import { Store } from '../../runtime/src/store/store.js';
import { arg } from './args.js';
import { bareServer, load, TOKEN, type BareInputs, type Slice, type Target } from './load.js';
import { benchModels } from './models.js';

const REQUESTS = arg('requests', 10_000);
const CONNECTIONS = arg('connections', 16);
const ROUNDS = arg('rounds', 5);
const BATCH_ROUNDS = arg('batch-rounds', 3);
/** Only the models Cairn produces (the issue 6 comparison and the bench model's batching are skipped). */
const MODELS_ONLY = process.argv.includes('--models-only');
/** Slices per round (each server gets total/SLICES requests per slice). */
const SLICES = 10;

// A small classifier: 8 numeric features, standardized by a saved transform, logistic layer (2 classes).
const F = 8;
const names = Array.from({ length: F }, (_, i) => `x${i}`);
const model: TabularModel = {
  format: 'cairn-model',
  formatVersion: 1,
  backend: 'bench',
  seed: 1,
  metrics: {},
  kind: 'tabular',
  algorithm: 'logistic-regression',
  task: 'classification',
  target: 'y',
  classes: ['no', 'yes'],
  inputColumns: names,
  transform: {
    format: 'cairn.transform',
    version: 1,
    steps: names.map((column, i) => ({ kind: 'standardize' as const, column, mean: i, std: 1 + i / 10 })),
    target: null,
    outputs: names,
  },
  encoding: { columns: names.map((name) => ({ name, kind: 'numeric' as const, mean: 0, std: 1 })), width: F },
  layers: [
    { inputs: F, units: 1, weights: names.map((_, i) => (i % 2 ? 0.3 : -0.2)), bias: [0.05], activation: 'linear' },
  ],
};
const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-serve-'));
const file = join(dir, 'model.onnx');
writeFileSync(file, tabularToOnnx(model));
const row = names.map((_, i) => i + 0.5);
const body = JSON.stringify({ dataframe_split: { columns: names, data: [row] } });
const at = (s: { url: string }, b = body): Target => ({ url: s.url, body: b });

interface Result {
  rps: number;
  /** Process CPU time (client + server, user + system) per request: steadier than req/s on a shared machine. */
  cpuUs: number;
  p50: number;
  p99: number;
  failed: number;
}

/** One server's slices of a round, as one result. */
function summarize(slices: Slice[]): Result {
  const done = slices.reduce((a, s) => a + s.done, 0);
  const secs = slices.reduce((a, s) => a + s.secs, 0);
  const sorted = new Float64Array(done);
  let o = 0;
  for (const s of slices) {
    sorted.set(s.lat, o);
    o += s.lat.length;
  }
  sorted.sort();
  const q = (p: number): number => sorted[Math.min(done - 1, Math.floor(p * done))] ?? NaN;
  return {
    rps: done / secs,
    cpuUs: slices.reduce((a, s) => a + s.cpuUs, 0) / done,
    p50: q(0.5),
    p99: q(0.99),
    failed: slices.reduce((a, s) => a + s.failed, 0),
  };
}

/**
 * One round: `total` requests to each server, in SLICES interleaved slices (bare, no log, all on, bare, …), so a
 * change in the machine's speed during the round (other jobs; this VM's host) lands on the three alike.
 */
async function round(urls: Target[], total: number, connections: number): Promise<Result[]> {
  const agents = urls.map(() => new http.Agent({ keepAlive: true, maxSockets: connections }));
  const slices: Slice[][] = urls.map(() => []);
  const per = Math.max(1, Math.floor(total / SLICES));
  for (let k = 0; k < SLICES; k++)
    for (let j = 0; j < urls.length; j++)
      slices[j]?.push(
        await load(
          urls[j] as Target,
          k === SLICES - 1 ? total - per * (SLICES - 1) : per,
          connections,
          agents[j] as http.Agent,
        ),
      );
  for (const a of agents) a.destroy();
  return slices.map(summarize);
}

const fmt = (r: Result): string =>
  `${r.rps.toFixed(0).padStart(7)} req/s   cpu ${r.cpuUs.toFixed(0).padStart(4)} µs/req   p50 ${r.p50.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms   failed ${r.failed}`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  return s.length % 2 ? (s[Math.floor(mid)] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** Batching at 64 and 1 connections: median ×bare req/s and ms over bare per connection count. */
interface BatchingSummary {
  speedup64: number;
  p99Over64: number;
  p50Over1: number;
  /** Process CPU µs per request at 64 connections (client and server together), bare and batched. */
  cpuBare64: number;
  cpuBatched64: number;
  /** The bare server without its model call, ×bare at 64 connections (NaN when not measured). */
  ceiling64: number;
  failed: number;
}

/** bare vs cairn batched vs cairn unbatched, BATCH_ROUNDS rounds at 64 then 1 connection(s). */
async function batching(
  label: string,
  targets: [Target, Target, Target] | [Target, Target, Target, Target],
): Promise<BatchingSummary> {
  const out: BatchingSummary = {
    speedup64: NaN,
    p99Over64: NaN,
    p50Over1: NaN,
    cpuBare64: NaN,
    cpuBatched64: NaN,
    ceiling64: NaN,
    failed: 0,
  };
  for (const connections of [64, 1]) {
    const total = connections === 1 ? Math.min(REQUESTS, 4000) : REQUESTS;
    await round(targets, 1000, connections);
    const speedups: number[] = [];
    const p99d: number[] = [];
    const p50d: number[] = [];
    const cpu: [number[], number[]] = [[], []];
    const ceilings: number[] = [];
    for (let r = 1; r <= BATCH_ROUNDS; r++) {
      const [b, x, u, f] = (await round(targets, total, connections)) as [Result, Result, Result, Result?];
      cpu[0].push(b.cpuUs);
      cpu[1].push(x.cpuUs);
      speedups.push(x.rps / b.rps);
      p99d.push(x.p99 - b.p99);
      p50d.push(x.p50 - b.p50);
      out.failed += b.failed + x.failed + u.failed + (f?.failed ?? 0);
      if (f) ceilings.push(f.rps / b.rps);
      const d = (v: Result): string =>
        `×${(v.rps / b.rps).toFixed(2)} bare   p50 ${signed(v.p50 - b.p50)} ms   p99 ${signed(v.p99 - b.p99)} ms`;
      console.log(`${label}, ${connections} conn round ${r}  bare              ${fmt(b)}`);
      console.log(`${label}, ${connections} conn round ${r}  cairn, batched    ${fmt(x)}   ${d(x)}`);
      console.log(`${label}, ${connections} conn round ${r}  cairn, unbatched  ${fmt(u)}   ${d(u)}`);
      if (f) console.log(`${label}, ${connections} conn round ${r}  bare, no model   ${fmt(f)}   ${d(f)}`);
    }
    const target = connections === 1 ? 'target: p50 ≤ bare + 0.2 ms' : 'target: ≥ 2× bare, p99 ≤ bare + 1 ms';
    console.log(
      `${label}: batching at ${connections} connection(s): median throughput ×${median(speedups).toFixed(2)} bare, p50 ${signed(median(p50d))} ms, p99 ${signed(median(p99d))} ms over bare (${target})`,
    );
    if (connections === 64) {
      out.speedup64 = median(speedups);
      out.p99Over64 = median(p99d);
      out.cpuBare64 = median(cpu[0]);
      out.cpuBatched64 = median(cpu[1]);
      if (ceilings.length > 0) out.ceiling64 = median(ceilings);
    } else out.p50Over1 = median(p50d);
  }
  return out;
}

const signed = (v: number): string => (v >= 0 ? '+' : '') + v.toFixed(2);

/**
 * The models Cairn produces (./models.ts), each against its own bare server (session.run on the encoded row the
 * client would otherwise have to compute), batched and unbatched, in the same rounds; one table row per model.
 */
async function realModels(): Promise<number> {
  const rows: Array<{ name: string; s: BatchingSummary }> = [];
  let failed = 0;
  for (const m of await benchModels()) {
    const inputs: BareInputs = {};
    const cells: number[] = [];
    for (const [name, f] of Object.entries(m.bare)) {
      inputs[name] = { type: f.type, width: f.width };
      cells.push(...f.data);
    }
    const bare = await bareServer(m.onnx, inputs);
    const floor = await bareServer(m.onnx, inputs, false);
    const batched = await ModelServer.start({ model: m.onnx, port: 0, token: TOKEN });
    const plain = await ModelServer.start({ model: m.onnx, port: 0, token: TOKEN, batch: null });
    const cairnBody = JSON.stringify({ dataframe_split: { columns: m.columns, data: [m.row] } });
    const bareBody = JSON.stringify({ dataframe_split: { data: [cells] } });
    const s = await batching(m.name, [
      at(bare, bareBody),
      at(batched, cairnBody),
      at(plain, cairnBody),
      at(floor, bareBody),
    ]);
    const c = batched.metrics.batch;
    console.log(
      `${m.name}: batched server ${c.calls} model calls, ${c.batches} coalesced calls answering ${c.batchedRequests} requests`,
    );
    rows.push({ name: m.name, s });
    failed += s.failed;
    await batched.close(0);
    await plain.close(0);
    await bare.close();
    await floor.close();
  }
  console.log(
    '\nmodel                                  64 conn ×bare   64 conn p99 over bare   CPU µs/req bare → batched   bare without session.run ×bare   1 conn p50 over bare   ≥ 2×, p99 ≤ +1 ms',
  );
  for (const { name, s } of rows)
    console.log(
      `${name.padEnd(38)} ${('×' + s.speedup64.toFixed(2)).padStart(13)}   ${(signed(s.p99Over64) + ' ms').padStart(21)}   ${`${s.cpuBare64.toFixed(0)} → ${s.cpuBatched64.toFixed(0)}`.padStart(25)}   ${('×' + s.ceiling64.toFixed(2)).padStart(30)}   ${(signed(s.p50Over1) + ' ms').padStart(20)}   ${s.speedup64 >= 2 && s.p99Over64 <= 1 ? 'met' : 'not met'}`,
    );
  return failed;
}

async function main(): Promise<void> {
  if (MODELS_ONLY) {
    console.log(`bench:serve --models-only — ${REQUESTS} requests per server per round, node ${process.version}`);
    console.log(`real models: failed ${await realModels()}`);
    return;
  }
  const bare = await bareServer(file, { features: { type: 'float32', width: F } });
  const plain = await ModelServer.start({ model: file, port: 0, token: TOKEN, batch: null });
  const full = await ModelServer.start({ model: file, port: 0, token: TOKEN, batch: null });
  const batched = await ModelServer.start({ model: file, port: 0, token: TOKEN });
  const store = new Store(join(dir, '.cairn', 'cairn.db'));
  const deployment = await store.deployments.start({
    name: 'bench',
    ref: file,
    version: null,
    challenger: null,
    url: full.url,
    pid: process.pid,
    logSample: 1,
  });
  store.db.pragma('busy_timeout = 20');
  const log = new PredictionLog(store, deployment, { sample: 1, maxRows: 100_000 });
  full.attachDeployment(deployment, log);
  console.log(
    `bench:serve — ${REQUESTS} single-row requests per server per round in ${SLICES} interleaved slices, ${CONNECTIONS} keep-alive connections, ${ROUNDS} round(s), node ${process.version}`,
  );
  // Warm all three (JIT, ORT arenas) before measuring.
  await round([at(bare), at(plain), at(full)], 2000, CONNECTIONS);
  const ratios: number[] = [];
  const plainRatios: number[] = [];
  const cpuRatios: number[] = [];
  let worstP99 = 0;
  const p99Over: number[] = [];
  let failed = 0;
  for (let r = 1; r <= ROUNDS; r++) {
    const [b, p, c] = (await round([at(bare), at(plain), at(full)], REQUESTS, CONNECTIONS)) as [Result, Result, Result];
    ratios.push(c.rps / b.rps);
    plainRatios.push(p.rps / b.rps);
    cpuRatios.push(b.cpuUs / c.cpuUs);
    worstP99 = Math.max(worstP99, c.p99);
    p99Over.push(c.p99 - b.p99);
    failed += b.failed + p.failed + c.failed;
    console.log(`round ${r}  bare            ${fmt(b)}`);
    console.log(`round ${r}  cairn, no log   ${fmt(p)}   ratio ${((100 * p.rps) / b.rps).toFixed(1)}%`);
    console.log(`round ${r}  cairn, all on   ${fmt(c)}   ratio ${((100 * c.rps) / b.rps).toFixed(1)}%`);
  }
  const synthetic = await batching('bench model', [at(bare), at(batched), at(plain)]);
  failed += synthetic.failed;
  const calls = batched.metrics.batch;
  console.log(
    `batched server: ${calls.calls} model calls, ${calls.batches} coalesced calls answering ${calls.batchedRequests} requests`,
  );
  log.flush();
  const rows =
    store.db
      .prepare<[number], { n: number }>('SELECT count(*) AS n FROM predictions WHERE deployment_id = ?')
      .get(deployment)?.n ?? 0;
  console.log(`prediction log: ${log.logged} rows written (${rows} kept, bound 100000), ${log.dropped} dropped`);
  console.log(
    `median throughput ratio, every feature on ${(100 * median(ratios)).toFixed(1)}% (target ≥ 75%; without the log ${(100 * median(plainRatios)).toFixed(1)}%), median CPU-cost ratio bare/cairn ${(100 * median(cpuRatios)).toFixed(1)}%, cairn worst p99 ${worstP99.toFixed(2)} ms (target < 5 ms; median over the bare server's own p99 in the same round +${median(p99Over).toFixed(2)} ms), failed ${failed}`,
  );
  await full.close(0);
  await plain.close(0);
  await batched.close(0);
  await log.close();
  await store.close();
  await bare.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`real models: failed ${await realModels()}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
