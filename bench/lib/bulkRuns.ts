import { rebuildSortKeysSql } from '../../runtime/src/store/repos/runSortKeys.js';
import type { Store } from '../../runtime/src/store/store.js';

export interface BulkRunsShape {
  params: number;
  metrics: number;
  tags?: number;
}

/**
 * Writes `n` runs of one pipeline ('bench') straight into a SQLite store, then their sort keys as the migration reads
 * them: a fixture for benchmarks at team size (the repository's createRun would take minutes at 100,000 runs).
 * Values are a function of the run's index: param_p = ((i·31 + p) mod 97) / 7, metric_m = ((i·17 + m) mod 1009) / 13,
 * metric_0 missing on every tenth run (NULL keys sort last), tag_t = v<(i + t) mod 5>; every seventh run failed;
 * user<i mod 20>; started one second apart, newest last. Returns the seconds the sort keys took.
 */
export function writeBulkRuns(store: Store, n: number, shape: BulkRunsShape): number {
  const db = store.db;
  db.prepare("INSERT INTO pipelines (id, name, file, created_at) VALUES (1, 'bench', 'bench.cairn.yaml', 0)").run();
  const insert = db.prepare(
    `INSERT INTO runs (pipeline_id, status, started_at, ended_at, platform, cairn_version, selection, params_json, metrics_json,
       tags_json, user_name) VALUES (1, ?, ?, ?, 'bench', 'bench', 'null', ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const params: Record<string, number> = {};
      for (let p = 0; p < shape.params; p++) params[`param_${p}`] = ((i * 31 + p) % 97) / 7;
      const metrics: Record<string, number> = {};
      for (let m = i % 10 === 0 ? 1 : 0; m < shape.metrics; m++) metrics[`metric_${m}`] = ((i * 17 + m) % 1009) / 13;
      const tags: Record<string, string> = {};
      for (let t = 0; t < (shape.tags ?? 0); t++) tags[`tag_${t}`] = `v${(i + t) % 5}`;
      const t = 1_700_000_000_000 + i * 1000;
      insert.run(
        i % 7 === 0 ? 'failed' : 'succeeded',
        t,
        t + (i % 300) * 1000,
        JSON.stringify(params),
        JSON.stringify(metrics),
        JSON.stringify(tags),
        `user${i % 20}`,
      );
    }
  })();
  const t0 = performance.now();
  db.exec(rebuildSortKeysSql.sqlite);
  return (performance.now() - t0) / 1000;
}
