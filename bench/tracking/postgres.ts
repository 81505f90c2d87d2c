/**
 * Tracking on PostgreSQL, each against a baseline measured in the same run (npm run bench:tracking:pg), on a
 * throwaway local cluster (test/lib/postgres.ts: fsync off, so absolute numbers are optimistic; ratios are the point):
 *  1. metric ingest through the store's writer vs a raw `pg` multi-row INSERT of the same rows into the same table
 *     (target: ≥ 50% of raw speed);
 *  2. listing and serializing 10,000 runs × 50 columns (25 params + 25 metrics), warm (target: < 500 ms);
 *  3. 8 concurrent writers (separate connections) × 100k metric points each: rows lost, errors, throughput;
 *  4. the compare view's first page at 100,000 runs × 50 columns sorted by startedAt, a metric and a param (target:
 *     within 2× of SQLite's, bench:tracking), against the run list's OFFSET path sorting the stored JSON.
 * CAIRN_BENCH_PG_ONLY=page100k runs part 4 alone.
 */
import pg from 'pg';
import { noStatementTimeoutSql, rebuildSortKeysSql } from '../../runtime/src/store/repos/runSortKeys.js';
import { Store, type NewRun } from '../../runtime/src/store/store.js';
import { postgresCluster } from '../../test/lib/postgres.js';
import { newRun } from '../../test/lib/stores.js';

const POINTS = Number(process.env.CAIRN_BENCH_POINTS ?? 500_000);
const WRITER_POINTS = Number(process.env.CAIRN_BENCH_WRITER_POINTS ?? 100_000);

function benchRun(pipeline = 'bench'): NewRun {
  return newRun(pipeline, { gitDirty: null, platform: 'bench', cairnVersion: 'bench' });
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; wall: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, wall: performance.now() - t0 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** The raw baseline: 5,000-row INSERTs (30,000 parameters), one transaction, straight through one pg client. */
async function rawInsert(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const rows = 5000;
  const sql = `INSERT INTO metrics (run_id, step_run_id, key, step, time, value) VALUES ${Array.from({ length: rows }, (_, i) => `($${i * 6 + 1}, $${i * 6 + 2}, $${i * 6 + 3}, $${i * 6 + 4}, $${i * 6 + 5}, $${i * 6 + 6})`).join(', ')}`;
  const t = await timed(async () => {
    await c.query('BEGIN');
    for (let i = 0; i < POINTS; i += rows) {
      const values: unknown[] = [];
      for (let j = i; j < i + rows; j++) values.push(1, null, 'loss', j, 1_700_000_000_000 + j, Math.sin(j / 1000));
      await c.query(sql, values);
    }
    await c.query('COMMIT');
  });
  await c.end();
  return t.wall;
}

async function storeInsert(url: string): Promise<number> {
  const store = await Store.postgres(url);
  const runId = await store.runs.createRun(benchRun());
  const t = await timed(async () => {
    for (let i = 0; i < POINTS; i++)
      store.writer.add(runId, null, 'loss', i, Math.sin(i / 1000), 1_700_000_000_000 + i);
    await store.writer.flush();
  });
  const n = (await store.sqlDb.get<{ n: number }>('SELECT count(*) AS n FROM metrics WHERE run_id = ?', [runId]))?.n;
  if (n !== POINTS) throw new Error(`lost points: ${n} of ${POINTS}`);
  await store.close();
  return t.wall;
}

async function main(): Promise<void> {
  const cluster = await postgresCluster();
  const fresh = async () => {
    const url = await cluster.createDatabase('bench');
    await (await Store.postgres(url)).close();
    return url;
  };

  if (process.env.CAIRN_BENCH_PG_ONLY === 'page100k') return page100k(await fresh());
  const raw: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < 3; round++) {
    raw.push(await rawInsert(await fresh()));
    ours.push(await storeInsert(await fresh()));
  }
  const r = Math.min(...raw);
  const o = Math.min(...ours);
  console.log(`pg ingest ${POINTS.toLocaleString('en')} metric points (best of 3), target ≥ 50% of raw speed:`);
  console.log(
    `  raw multi-row INSERT ${r.toFixed(0)} ms, store writer ${o.toFixed(0)} ms → ${((r / o) * 100).toFixed(0)}% of raw speed`,
  );

  // 10k runs × 25 params + 25 metrics, seeded in bulk (the listing is what is measured).
  const listUrl = await fresh();
  const store = await Store.postgres(listUrl);
  const first = await store.runs.createRun(benchRun('list'));
  await store.runs.finishRun(first, 'succeeded');
  const template = await store.sqlDb.get<{ pipeline_id: number }>('SELECT pipeline_id FROM runs WHERE id = ?', [first]);
  const batch = 1000;
  for (let i = 1; i < 10_000; i += batch) {
    const values: Array<string | number> = [];
    const tuples: string[] = [];
    for (let k = i; k < Math.min(10_000, i + batch); k++) {
      const params: Record<string, number> = {};
      const metrics: Record<string, number> = {};
      for (let p = 0; p < 25; p++) params[`param_${p}`] = (k * 31 + p) / 7;
      for (let m = 0; m < 25; m++) metrics[`metric_${m}`] = (k * 17 + m) / 13;
      tuples.push("(?, 'succeeded', ?, ?, 'bench', 'bench', ?, ?)");
      values.push(template?.pipeline_id ?? 1, k, k + 1000, JSON.stringify(params), JSON.stringify(metrics));
    }
    await store.sqlDb.run(
      `INSERT INTO runs (pipeline_id, status, started_at, ended_at, platform, cairn_version, params_json, metrics_json) VALUES ${tuples.join(', ')}`,
      values,
    );
  }
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 7; i++) {
    const t = await timed(() => store.runs.listJson({ limit: 10_000 }));
    bytes = t.value.length;
    times.push(t.wall);
  }
  console.log(
    `pg list + serialize 10,000 runs × 50 columns (${(bytes / 1e6).toFixed(1)} MB JSON), target < 500 ms warm: median ${median(times.slice(1)).toFixed(0)} ms (first ${times[0]?.toFixed(0)} ms)`,
  );
  await store.close();

  // 8 writers, each its own connection pool and run.
  const url = await fresh();
  const writers = await Promise.all(Array.from({ length: 8 }, () => Store.postgres(url)));
  let errors = 0;
  const t = await timed(() =>
    Promise.all(
      writers.map(async (w, k) => {
        try {
          const id = await w.runs.createRun(benchRun(`writer-${k}`));
          for (let i = 0; i < WRITER_POINTS; i++) {
            w.writer.add(id, null, 'loss', i, i);
            // Yield now and then, as a training loop does between batches: the flush timer gets to run.
            if (i % 10_000 === 9_999) await new Promise((resolve) => setImmediate(resolve));
          }
          await w.writer.flush();
          await w.runs.finishRun(id, 'succeeded');
        } catch {
          errors++;
        }
      }),
    ),
  );
  const check = await Store.postgres(url);
  const n = (await check.sqlDb.get<{ n: number }>('SELECT count(*) AS n FROM metrics'))?.n ?? 0;
  await check.close();
  await Promise.all(writers.map((w) => w.close()));
  const total = 8 * WRITER_POINTS;
  console.log(
    `pg 8 concurrent writers × ${WRITER_POINTS.toLocaleString('en')} points: ${total - n} lost, ${errors} errors, ` +
      `${(total / (t.wall / 1000)).toFixed(0)} points/s (${t.wall.toFixed(0)} ms)`,
  );
}

async function page100k(url: string): Promise<void> {
  const N = Number(process.env.CAIRN_BENCH_RUNS ?? 100_000);
  const store = await Store.postgres(url);
  const first = await store.runs.createRun(benchRun('page'));
  const template = await store.sqlDb.get<{ pipeline_id: number }>('SELECT pipeline_id FROM runs WHERE id = ?', [first]);
  for (let i = 1; i < N; i += 1000) {
    const values: Array<string | number> = [];
    const tuples: string[] = [];
    for (let k = i; k < Math.min(N, i + 1000); k++) {
      const params: Record<string, number> = {};
      for (let p = 0; p < 25; p++) params[`param_${p}`] = ((k * 31 + p) % 97) / 7;
      const metrics: Record<string, number> = {};
      for (let m = k % 10 === 0 ? 1 : 0; m < 25; m++) metrics[`metric_${m}`] = ((k * 17 + m) % 1009) / 13;
      const t = 1_700_000_000_000 + k * 1000;
      tuples.push("(?, ?, ?, ?, 'bench', 'bench', ?, ?)");
      values.push(template?.pipeline_id ?? 1, k % 7 === 0 ? 'failed' : 'succeeded', t, t + (k % 300) * 1000);
      values.push(JSON.stringify(params), JSON.stringify(metrics));
    }
    await store.sqlDb.run(
      `INSERT INTO runs (pipeline_id, status, started_at, ended_at, platform, cairn_version, params_json, metrics_json) VALUES ${tuples.join(', ')}`,
      values,
    );
  }
  // The sort keys the store keeps on write, read from the JSON as migration 11 does; then fresh planner statistics.
  const keys = await timed(() =>
    store.sqlDb.tx(async (t) => {
      await t.run(noStatementTimeoutSql);
      return t.run(rebuildSortKeysSql.postgres);
    }),
  );
  await store.sqlDb.run('ANALYZE');
  const columns = [
    ...Array.from({ length: 25 }, (_, p) => `param:param_${p}`),
    ...Array.from({ length: 25 }, (_, m) => `metric:metric_${m}`),
  ];
  console.log(
    `pg runs page at ${N.toLocaleString('en')} runs × 50 columns, 200 rows (sort keys read in ${(keys.wall / 1000).toFixed(1)} s), target within 2× of SQLite:`,
  );
  for (const sort of [
    { by: 'startedAt', order: 'desc' },
    { by: 'metric:metric_0', order: 'desc' },
    { by: 'param:param_3', order: 'asc' },
  ] as const) {
    const firsts: number[] = [];
    let next = null as Awaited<ReturnType<Store['runs']['page']>>['next'];
    for (let round = 0; round < 5; round++) {
      const t = await timed(() => store.runs.page({ sort, columns, limit: 200, withTotal: true }));
      firsts.push(t.wall);
      next = t.value.next;
    }
    const second = await timed(() => store.runs.page({ sort, columns, limit: 200, ...(next ? { after: next } : {}) }));
    const baseline =
      sort.by === 'startedAt'
        ? ''
        : `; baseline, sorting the stored JSON (runs list --offset 1): ${(await timed(() => store.runs.list({ sort, limit: 200, offset: 1 }))).wall.toFixed(0)} ms`;
    console.log(
      `  sort ${sort.by} ${sort.order}: first page + total median ${median(firsts).toFixed(0)} ms; next page ${second.wall.toFixed(0)} ms${baseline}`,
    );
  }
  await store.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
