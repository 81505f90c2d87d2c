/**
 * What watching a store for other processes' runs costs (rpc/runWatcher.ts; docs/team.md), on both backends:
 * `node --import tsx bench/tracking/runWatch.ts`.
 *  1. SQLite: one `PRAGMA data_version` read (the poll while nothing changes), and one look when it moved (the
 *     runs after the highest id seen, plus the unfinished ones of others: primary-key reads), on a store of 5,000 runs;
 *  2. PostgreSQL (a throwaway local cluster, test/lib/postgres.ts): one look, and how long from a run's insert by
 *     another connection until the watcher has announced it (NOTIFY → look), median of 50.
 * No targets: numbers for the docs, measured on the machine at hand.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { watchOtherRuns } from '../../runtime/src/rpc/runWatcher.js';
import { Store, type NewRun } from '../../runtime/src/store/store.js';
import { postgresCluster } from '../../test/lib/postgres.js';
import { newRun } from '../../test/lib/stores.js';

const benchRun: NewRun = newRun('bench', {
  gitDirty: null,
  platform: 'bench',
  cairnVersion: 'bench',
  host: 'teammate',
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function fill(store: Store, runs: number): Promise<void> {
  for (let i = 0; i < runs; i++) await store.runs.finishRun(await store.runs.createRun(benchRun), 'succeeded');
}

async function lookCost(store: Store): Promise<number> {
  const max = await store.runs.maxId();
  const open = (await store.runs.running()).map((r) => r.id);
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await store.runs.changes(max, open);
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Insert → announced, through a second handle (another connection, as another process would write). */
async function latency(reader: Store, writer: Store, samples: number): Promise<number> {
  const announced = new Map<number, () => void>();
  const watch = watchOtherRuns(
    reader,
    (p) => {
      if (p.status === 'running') announced.get(p.runId)?.();
    },
    { self: { host: 'me', pid: -1 } },
  );
  await watch.ready;
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    // The next id: nothing else writes this database.
    const next = (await writer.runs.maxId()) + 1;
    const seen = new Promise<void>((resolve) => announced.set(next, resolve));
    const id = await writer.runs.createRun(benchRun);
    if (id !== next) throw new Error(`run ${id} is not the expected ${next}`);
    await seen;
    times.push(performance.now() - t0);
    await writer.runs.finishRun(id, 'succeeded');
  }
  await watch.dispose();
  return median(times);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-watch-'));
  try {
    const file = path.join(dir, 'cairn.db');
    const store = new Store(file);
    await store.ready;
    await fill(store, 5000);
    const sqlite = store.sqlDb as unknown as { dataVersion(): number };
    const n = 100_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sqlite.dataVersion();
    const perRead = ((performance.now() - t0) * 1000) / n;
    console.log(`sqlite: PRAGMA data_version ${perRead.toFixed(2)} µs per read (${n} reads)`);
    console.log(`sqlite: one look at 5,000 runs ${(1000 * (await lookCost(store))).toFixed(1)} µs (median of 200)`);
    await store.close();

    const cluster = await postgresCluster();
    const url = await cluster.createDatabase('watch');
    const [reader, writer] = await Promise.all([Store.postgres(url), Store.postgres(url)]);
    await fill(writer, 1000);
    console.log(`postgres: one look at 1,000 runs ${(await lookCost(reader)).toFixed(2)} ms (median of 200)`);
    console.log(`postgres: insert → announced ${(await latency(reader, writer, 50)).toFixed(1)} ms (median of 50)`);
    await Promise.all([reader.close(), writer.close()]);
    cluster.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
