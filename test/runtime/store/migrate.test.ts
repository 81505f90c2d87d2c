import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { storeCommand } from '../../../runtime/src/cli/commands/store.js';
import { moveAlias } from '../../../runtime/src/registry/registry.js';
import { Store, type NewRun } from '../../../runtime/src/store/store.js';
import { postgresCluster, type PgCluster } from '../../lib/postgres.js';

function newRun(pipeline: string): NewRun {
  return {
    pipelineName: pipeline,
    pipelineFile: `${pipeline}.cairn.yaml`,
    gitCommit: 'abc',
    gitDirty: true,
    platform: 'test',
    cairnVersion: '0',
    selection: null,
    params: {
      lr: { value: 0.1, type: 'float', secret: false, overridden: true },
      token: { value: 'hunter2', type: 'string', secret: true, overridden: false },
    },
    user: 'ana@example.com',
    host: 'box-1',
  };
}

let ws: string;
let cluster: PgCluster;
let lite: Store;
let runIds: number[];

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await storeCommand.run(args, { stdout: (t) => (out += t), stderr: () => {}, cwd: ws, isTty: false });
  return { code, out };
}

before(async () => {
  cluster = await postgresCluster();
  ws = mkdtempSync(path.join(os.tmpdir(), 'cairn-migrate-'));
  lite = new Store(path.join(ws, '.cairn', 'cairn.db'));
  runIds = [];
  // One of every kind of row: runs, params, tags, steps, metrics, artifacts, step io, cache, lineage, registry with
  // alias history, a deployment, a monitoring report and an alert.
  for (let k = 0; k < 3; k++) {
    const id = await lite.runs.createRun(newRun(`p${k % 2}`));
    await lite.runs.setTag(id, 'team', `t${k}`);
    const steps = await lite.runs.createStepRuns(id, ['train', 'eval']);
    const train = steps.get('train') ?? -1;
    await lite.runs.startStep(train, `key-${k}`, null);
    for (let i = 0; i < 500; i++) lite.writer.add(id, train, 'loss', i, 1 / (i + 1));
    await lite.artifacts.recordIo(train, 'in', 'data', 'data.csv', `in-${k}`);
    await lite.artifacts.commitStepOutputs(train, `key-${k}`, {
      model: { path: `m${k}.bin`, hash: `h${k}`, kind: 'file', size: 10 },
    });
    await lite.artifacts.addEdge(`artifact:h${k}`, `model:m@${k + 1}`, id);
    await lite.runs.finishRun(id, 'succeeded');
    runIds.push(id);
  }
  const now = Date.now();
  await lite.tx(async (s) => {
    await s.registry.touchModel('m', now);
    for (const version of [1, 2, 3]) {
      await s.registry.insertVersion({
        name: 'm',
        version,
        runId: runIds[version - 1] ?? null,
        stepRunId: null,
        step: 'train',
        artifactHash: `h${version - 1}`,
        artifactKind: 'file',
        path: 'm.bin',
        cardPath: null,
        cardHash: null,
        metrics: { acc: version / 10 },
        createdAt: now,
      });
    }
    for (const version of [1, 2, 3])
      await moveAlias(s, {
        name: 'm',
        alias: 'prod',
        version,
        action: 'set',
        undoes: null,
        actor: 'ana',
        reason: `v${version}`,
      });
  });
  const dep = await lite.deployments.start({
    name: 'm',
    ref: 'm@prod',
    version: 3,
    challenger: null,
    url: 'http://127.0.0.1:1',
    pid: 1,
    logSample: 1,
  });
  await lite.monitor.insertAlert({
    name: 'm',
    version: 3,
    deploymentId: dep,
    kind: 'drift',
    message: 'drifted',
    reportId: null,
  });
  await lite.writer.flush();
});

after(async () => {
  await lite.close();
  rmSync(ws, { recursive: true, force: true });
});

test('store migrate copies every table, verified; a second run writes nothing; the copy reads as the original', async () => {
  const url = await cluster.createDatabase('migrate');
  const first = await cli(['migrate', '--to', url, '--format', 'json']);
  assert.equal(first.code, 0);
  const report = JSON.parse(first.out) as {
    to: string;
    tables: Array<{ table: string; rows: number; written: number }>;
  };
  assert.ok(!first.out.includes(cluster.password), 'password redacted');
  const rows = Object.fromEntries(report.tables.map((t) => [t.table, t]));
  for (const t of [
    'runs',
    'params',
    'tags',
    'step_runs',
    'metrics',
    'artifacts',
    'step_io',
    'cache_entries',
    'lineage_edges',
    'registered_models',
    'model_versions',
    'model_aliases',
    'model_alias_history',
    'deployments',
    'alerts',
  ]) {
    assert.ok((rows[t]?.rows ?? 0) > 0, `${t} has rows to copy`);
    assert.equal(rows[t]?.written, rows[t]?.rows, `${t}: every row written the first time`);
  }
  assert.equal(rows.metrics?.rows, 1500);
  const again = JSON.parse((await cli(['migrate', '--to', url, '--format', 'json'])).out) as typeof report;
  for (const t of again.tables)
    if (t.table !== 'metrics' && t.table !== 'step_io')
      assert.equal(t.written, 0, `${t.table}: nothing new the second time`);
  const pg = await Store.postgres(url);
  try {
    assert.deepEqual(await pg.tableCounts(), await lite.tableCounts(), 'no duplicates after two copies');
    assert.deepEqual(await pg.runs.list({ limit: 100 }), await lite.runs.list({ limit: 100 }));
    assert.deepEqual(await pg.registry.history('m', 'prod'), await lite.registry.history('m', 'prod'));
    assert.deepEqual(
      await pg.metrics.history(runIds[0] ?? -1, 'loss'),
      await lite.metrics.history(runIds[0] ?? -1, 'loss'),
    );
    // New rows on the target get ids after the copied ones.
    const next = await pg.runs.createRun(newRun('after'));
    assert.ok(next > Math.max(...runIds));
  } finally {
    await pg.close();
  }
});

test('a target that holds other data is refused and left exactly as it was', async () => {
  const url = await cluster.createDatabase('busy');
  const other = await Store.postgres(url);
  try {
    await other.runs.createRun(newRun('someone-else'));
    const before = await other.tableCounts();
    await assert.rejects(
      cli(['migrate', '--to', url]),
      /table \w+ differs after the copy .*Nothing was written; migrate into an empty database/,
    );
    assert.deepEqual(await other.tableCounts(), before);
  } finally {
    await other.close();
  }
});
