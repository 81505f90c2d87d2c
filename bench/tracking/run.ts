/**
 * Tracking benchmarks, each against a baseline measured in the same run (npm run bench:tracking):
 *  1. ingest of 1M metric points through the store's batched writer vs raw better-sqlite3 bulk insert of the same rows
 *     into the same table (target: ≥ 50% of raw speed);
 *  2. listing and serializing 10,000 runs × 50 columns (25 params + 25 metrics) (target: < 300 ms), and the same runs
 *     as one keyset page of a compare table (runtime/runsPage, the RPC path since issue 15; target: < 150 ms warm);
 *  3. a no-op re-run of a fully cached 20-step pipeline, parse to finish, in-process (target: < 300 ms).
 */
import Database from 'better-sqlite3';
import type { ResponseMessage } from 'vscode-jsonrpc';
import type { RunCursor } from '@cairn/protocol';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../runtime/src/executor/engine.js';
import { loadPipeline } from '../../runtime/src/executor/loadPipeline.js';
import { migrate } from '../../runtime/src/store/migrations.js';
import { RawJson, splicingJsonEncoder } from '../../runtime/src/rpc/rawJson.js';
import { Store, type NewRun } from '../../runtime/src/store/store.js';
import { writeBulkRuns } from '../lib/bulkRuns.js';

const POINTS = Number(process.env.CAIRN_BENCH_POINTS ?? 1_000_000);
const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-tracking-'));

/** Wall and CPU milliseconds of `fn` (CPU time is steadier on a shared, loaded machine). */
async function timed<T>(fn: () => T | Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, wall, cpu: (c.user + c.system) / 1000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function rawInsert(file: string): Promise<{ wall: number; cpu: number }> {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  migrate(db);
  const insert = db.prepare(
    'INSERT INTO metrics (run_id, step_run_id, key, step, time, value) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const t = await timed(() =>
    db.transaction(() => {
      for (let i = 0; i < POINTS; i++) insert.run(1, null, 'loss', i, 1_700_000_000_000 + i, Math.sin(i / 1000));
    })(),
  );
  db.close();
  return t;
}

async function storeInsert(file: string): Promise<{ wall: number; cpu: number }> {
  const store = new Store(file);
  const runId = await store.runs.createRun(newRun({}));
  const t = await timed(async () => {
    for (let i = 0; i < POINTS; i++)
      store.writer.add(runId, null, 'loss', i, Math.sin(i / 1000), 1_700_000_000_000 + i);
    await store.writer.flush();
  });
  const n = (store.db.prepare('SELECT count(*) AS n FROM metrics').get() as { n: number }).n;
  if (n !== POINTS) throw new Error(`lost points: ${n} of ${POINTS}`);
  await store.close();
  return t;
}

function newRun(params: Record<string, unknown>): NewRun {
  const full: NewRun['params'] = {};
  for (const [k, v] of Object.entries(params)) full[k] = { value: v, type: 'float', secret: false, overridden: false };
  return {
    pipelineName: 'bench',
    pipelineFile: 'bench.cairn.yaml',
    params: full,
    gitCommit: null,
    gitDirty: null,
    platform: 'bench',
    cairnVersion: 'bench',
    selection: null,
  };
}

async function ingest(): Promise<void> {
  const raw: Array<{ wall: number; cpu: number }> = [];
  const ours: Array<{ wall: number; cpu: number }> = [];
  for (let round = 0; round < 3; round++) {
    raw.push(await rawInsert(path.join(dir, `raw-${round}.db`)));
    ours.push(await storeInsert(path.join(dir, `store-${round}.db`)));
  }
  const best = (xs: Array<{ wall: number; cpu: number }>, k: 'wall' | 'cpu') => Math.min(...xs.map((x) => x[k]));
  console.log(`ingest ${POINTS.toLocaleString('en')} metric points (best of 3), target ≥ 50% of raw speed:`);
  for (const k of ['wall', 'cpu'] as const) {
    const r = best(raw, k);
    const o = best(ours, k);
    console.log(
      `  ${k.padEnd(4)}: raw bulk insert ${r.toFixed(0)} ms, store writer ${o.toFixed(0)} ms → ${((r / o) * 100).toFixed(0)}% of raw speed`,
    );
  }
}

/** A 1M-point history reduced on the server to 2,000 chart points (SQL min/max buckets, then LTTB). */
async function history(): Promise<void> {
  const store = new Store(path.join(dir, 'history.db'));
  const runId = await store.runs.createRun(newRun({}));
  for (let i = 0; i < POINTS; i++)
    store.writer.add(runId, null, 'loss', i, Math.exp(-i / 200_000) + (i === 654_321 ? 5 : 0), 0);
  await store.writer.flush();
  const times: Array<{ wall: number; cpu: number }> = [];
  let points = 0;
  let spike = false;
  for (let i = 0; i < 5; i++) {
    const t = await timed(() => store.metrics.history(runId, 'loss', 2000));
    times.push(t);
    points = t.value.points.length;
    spike = t.value.points.some((p) => p.value > 4);
  }
  console.log(
    `metric history ${POINTS.toLocaleString('en')} points → ${points} points (spike kept: ${spike}): median wall ${median(times.map((t) => t.wall)).toFixed(0)} ms, cpu ${median(times.map((t) => t.cpu)).toFixed(0)} ms`,
  );
  await store.close();
}

async function listing(): Promise<void> {
  const store = new Store(path.join(dir, 'list.db'));
  const latest: Array<[number, Record<string, number>]> = [];
  await store.tx(async (s) => {
    for (let i = 0; i < 10_000; i++) {
      const params: Record<string, unknown> = {};
      for (let p = 0; p < 25; p++) params[`param_${p}`] = (i * 31 + p) / 7;
      const id = await s.runs.createRun(newRun(params));
      const metrics: Record<string, number> = {};
      for (let m = 0; m < 25; m++) metrics[`metric_${m}`] = (i * 17 + m) / 13;
      await s.runs.finishRun(id, 'succeeded');
      latest.push([id, metrics]);
    }
  });
  // The metric writer writes outside that transaction (it batches on its own).
  for (const [id, metrics] of latest) for (const [k, v] of Object.entries(metrics)) store.writer.add(id, null, k, 0, v);
  await store.writer.flush();
  const times: Array<{ wall: number; cpu: number }> = [];
  const direct: Array<{ wall: number; cpu: number }> = [];
  let bytes = 0;
  for (let i = 0; i < 7; i++) {
    const a = await timed(async () => JSON.stringify(await store.runs.list({ limit: 10_000 })));
    times.push(a);
    bytes = a.value.length;
    const b = await timed(() => store.runs.listJson({ limit: 10_000 }));
    direct.push(b);
    if (i === 0 && JSON.stringify(JSON.parse(b.value)) !== a.value)
      throw new Error('listRunsJson differs from listRuns');
  }
  const pageTimes: Array<{ wall: number; cpu: number }> = [];
  let pageBytes = 0;
  for (let i = 0; i < 7; i++) {
    const columns = [
      ...Array.from({ length: 25 }, (_, p) => `param:param_${p}`),
      ...Array.from({ length: 25 }, (_, m) => `metric:metric_${m}`),
    ];
    // The runtime/runsPage handler's work up to the bytes it writes: the store's spliced page, then the JSON-RPC frame.
    const t = await timed(async () =>
      splicingJsonEncoder.encode(
        <ResponseMessage>{
          jsonrpc: '2.0',
          id: 1,
          result: new RawJson(await store.runs.pageJson({ limit: 10_000, columns, withTotal: true })),
        },
        { charset: 'utf-8' },
      ),
    );
    pageTimes.push(t);
    pageBytes = t.value.byteLength;
  }
  const fmt = (xs: Array<{ wall: number; cpu: number }>) =>
    `median wall ${median(xs.map((x) => x.wall)).toFixed(0)} ms, cpu ${median(xs.map((x) => x.cpu)).toFixed(0)} ms (min wall ${Math.min(...xs.map((x) => x.wall)).toFixed(0)} ms)`;
  const sample = (await store.runs.list({ limit: 1 })).runs[0];
  const columns = Object.keys(sample?.params ?? {}).length + Object.keys(sample?.metrics ?? {}).length;
  console.log(
    `list + serialize 10,000 runs × ${columns} columns (${(bytes / 1e6).toFixed(1)} MB JSON), target < 300 ms:`,
  );
  const first = times[0] ?? { wall: NaN, cpu: NaN };
  console.log(
    `  objects + JSON.stringify (RPC path): first (cold) wall ${first.wall.toFixed(0)} ms, cpu ${first.cpu.toFixed(0)} ms; warm ${fmt(times.slice(1))}`,
  );
  console.log(`  spliced JSON (CLI --format json):    ${fmt(direct)}`);
  const pageFirst = pageTimes[0] ?? { wall: NaN, cpu: NaN };
  console.log(
    `  runs page as a table (runtime/runsPage, store + RPC frame, ${(pageBytes / 1e6).toFixed(1)} MB), target < 150 ms warm: ` +
      `first wall ${pageFirst.wall.toFixed(0)} ms; warm ${fmt(pageTimes.slice(1))}`,
  );
  await store.close();
}

/**
 * The runtime's side of the compare view's first screen and of a scroll at team size: 100,000 runs × 50 columns,
 * one page of 200 rows (first page with the total, then a page deep in the list by its cursor) under three sorts.
 * Target (issue 15): first screen < 300 ms after the request, of which this is the store's part.
 */
async function page100k(): Promise<void> {
  const store = new Store(path.join(dir, 'page.db'));
  const N = Number(process.env.CAIRN_BENCH_RUNS ?? 100_000);
  // Rows written in bulk (a fixture: the repository's createRun would take minutes at this count), then their keys.
  const keySeconds = writeBulkRuns(store, N, { params: 25, metrics: 25 });
  const columns = [
    ...Array.from({ length: 25 }, (_, p) => `param:param_${p}`),
    ...Array.from({ length: 25 }, (_, m) => `metric:metric_${m}`),
  ];
  console.log(
    `runs page at ${N.toLocaleString('en')} runs × 50 columns, 200 rows a page (store side of the compare view's first screen, target < 300 ms):`,
  );
  for (const sort of [
    { by: 'startedAt', order: 'desc' },
    { by: 'metric:metric_0', order: 'desc' },
    { by: 'param:param_3', order: 'asc' },
  ] as const) {
    const firsts: number[] = [];
    const deeps: number[] = [];
    let cursor: Parameters<Store['runs']['page']>[0] = {};
    for (let round = 0; round < 5; round++) {
      const first = await timed(() => store.runs.pageJson({ sort, columns, limit: 200, withTotal: true }));
      firsts.push(first.wall);
      if (round === 0) {
        // A cursor half-way down: a scroll far into the list.
        let after: RunCursor | null | undefined;
        for (let seen = 0; seen < N / 2 && after !== null; seen += 10_000) {
          after = (await store.runs.page({ sort, columns: [], limit: 10_000, ...(after ? { after } : {}) })).next;
        }
        cursor = { sort, columns, limit: 200, ...(after ? { after } : {}) };
      }
      deeps.push((await timed(() => store.runs.pageJson(cursor))).wall);
    }
    const filtered = await timed(() =>
      store.runs.pageJson({
        sort,
        columns,
        limit: 200,
        withTotal: true,
        filter: { status: ['failed'], text: 'user1' },
      }),
    );
    // Baseline in the same run: the run list's OFFSET path (json_extract over every run's JSON) for the same page.
    const baseline =
      sort.by === 'startedAt'
        ? ''
        : `; baseline, sorting the stored JSON (runs list --offset 1): ${(await timed(() => store.runs.list({ sort, limit: 200, offset: 1 }))).wall.toFixed(0)} ms`;
    console.log(
      `  sort ${sort.by} ${sort.order}: first page + total median ${median(firsts).toFixed(0)} ms; page at run ${(N / 2).toLocaleString('en')} ` +
        `median ${median(deeps).toFixed(0)} ms; filtered (status + text) first page ${filtered.wall.toFixed(0)} ms${baseline}`,
    );
  }
  console.log(
    `  (sort keys of ${N.toLocaleString('en')} runs × 50 read from their JSON in ${keySeconds.toFixed(1)} s, as migration 11 does)`,
  );
  await store.close();
}

async function noopRerun(): Promise<void> {
  const ws = path.join(dir, 'cached');
  rmSync(ws, { recursive: true, force: true });
  writeFileSync(path.join(dir, 'placeholder'), '');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(ws, { recursive: true });
  writeFileSync(path.join(ws, 'input.csv'), Array.from({ length: 1000 }, (_, i) => `${i},${i * 2}`).join('\n'));
  // 20 steps: a chain of 10 and a fan of 10 reading its middle; each step has a dependency and an output.
  const steps: string[] = [];
  for (let i = 0; i < 20; i++) {
    const input = i === 0 ? 'input.csv' : i < 10 ? `\${steps.s${i - 1}.outputs.out}` : '${steps.s5.outputs.out}';
    steps.push(
      `  s${i}:\n    run: cat ${input} > out${i}.csv\n    outputs: { out: out${i}.csv }\n    deps: [${i === 0 ? 'input.csv' : ''}]\n`.replace(
        '    deps: []\n',
        '',
      ),
    );
  }
  writeFileSync(path.join(ws, 'cairn.yaml'), `version: 1\nname: cached20\nsteps:\n${steps.join('')}`);
  const engine = new Engine(ws);
  const once = async () => {
    const loaded = loadPipeline('cairn.yaml', { cwd: ws, workspace: ws });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded));
    return engine.run(loaded.pipeline);
  };
  const first = await once();
  if (first.status !== 'succeeded') throw new Error(JSON.stringify(first));
  const times: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < 7; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await once();
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
    const hits = Object.values(r.steps).filter((s) => s.cacheHit).length;
    if (hits !== 20) throw new Error(`expected 20 cache hits, got ${hits}`);
  }
  console.log(
    `no-op re-run of a fully cached 20-step pipeline (parse → check → resolve → 20 cache hits, in-process), target < 300 ms: median wall ${median(times).toFixed(0)} ms, cpu ${median(cpus).toFixed(0)} ms (min wall ${Math.min(...times).toFixed(0)} ms)`,
  );
  await engine.close();
}

void (async () => {
  try {
    console.log(
      `cairn bench:tracking — ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}, node ${process.versions.node}, load average ${os.loadavg()[0]?.toFixed(1)}`,
    );
    // CAIRN_BENCH_ONLY=ingest|history|list|page100k|rerun runs one part.
    const only = process.env.CAIRN_BENCH_ONLY;
    if (!only || only === 'ingest') await ingest();
    if (!only || only === 'history') await history();
    if (!only || only === 'list') await listing();
    if (!only || only === 'page100k') await page100k();
    if (!only || only === 'rerun') await noopRerun();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();
