import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { allMigrations, migrate, migratePostgres, orderMigrations } from '../../../runtime/src/store/migrations.js';
import { PgDb } from '../../../runtime/src/store/postgres.js';
import { Store, type NewRun } from '../../../runtime/src/store/store.js';
import { forEachBackend } from '../../lib/stores.js';

function newRun(params: Record<string, unknown>, pipeline = 'p'): NewRun {
  const full: NewRun['params'] = {};
  for (const [k, v] of Object.entries(params))
    full[k] = { value: v, type: typeof v === 'number' ? 'float' : 'string', secret: k === 'token', overridden: false };
  return {
    pipelineName: pipeline,
    pipelineFile: `${pipeline}.cairn.yaml`,
    params: full,
    gitCommit: 'abc',
    gitDirty: false,
    platform: 'test',
    cairnVersion: '0.0.0',
    selection: null,
  };
}

forEachBackend('tracking store', (b) => {
  let store: Store;
  before(async () => {
    store = await b.open();
  });
  after(async () => {
    await store.close();
  });

  test('opens with every migration applied; reopening applies nothing', async () => {
    assert.equal(await store.schemaVersion(), allMigrations().at(-1)?.version);
    if (b.name === 'sqlite') {
      assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.deepEqual(migrate(store.db), []);
    } else {
      const db = new PgDb(await b.location());
      try {
        assert.deepEqual(await migratePostgres(db), []);
      } finally {
        await db.close();
      }
    }
  });

  test('a registered migration is applied once, in order; a newer schema and a duplicate version are refused', async () => {
    const list = [...allMigrations(), { version: 1000, name: 'test table', up: 'CREATE TABLE extra (x INTEGER)' }];
    const newer = /this store was written by a newer Cairn \(schema 1000 > \d+\): upgrade Cairn/;
    if (b.name === 'sqlite') {
      const scratch = new Store(':memory:');
      try {
        assert.deepEqual(migrate(scratch.db, list), [1000]);
        assert.deepEqual(migrate(scratch.db, list), []);
        scratch.db.prepare('INSERT INTO extra (x) VALUES (1)').run();
        assert.throws(() => migrate(scratch.db, allMigrations()), newer);
      } finally {
        await scratch.close();
      }
    } else {
      const { postgresCluster } = await import('../../lib/postgres.js');
      const db = new PgDb(await (await postgresCluster()).createDatabase('scratch'));
      try {
        assert.deepEqual(
          await migratePostgres(db, list),
          list.map((m) => m.version),
        );
        assert.deepEqual(await migratePostgres(db, list), []);
        await db.run('INSERT INTO extra (x) VALUES (?)', [1]);
        await assert.rejects(migratePostgres(db, allMigrations()), newer);
        await assert.rejects(Store.postgres(db.url), newer);
      } finally {
        await db.close();
      }
    }
    assert.throws(
      () => orderMigrations([...allMigrations(), { version: 1, name: 'clash', up: '' }]),
      /two store migrations have version 1/,
    );
  });

  test('runs left running by a dead process become interrupted on open', async () => {
    const id = await store.runs.createRun(newRun({ lr: 1 }));
    const steps = await store.runs.createStepRuns(id, ['a']);
    await store.runs.startStep(steps.get('a') ?? -1, null, null);
    await store.sqlDb.run('UPDATE runs SET pid = 999999999 WHERE id = ?', [id]);
    const live = await store.runs.createRun(newRun({ lr: 2 }));
    const reopened = await b.open();
    try {
      assert.equal((await reopened.runs.detail(id))?.status, 'interrupted');
      assert.equal((await reopened.runs.detail(id))?.steps[0]?.status, 'interrupted');
      assert.equal((await reopened.runs.detail(live))?.status, 'running', 'a run of a live process is left alone');
    } finally {
      await reopened.close();
    }
    await store.runs.finishRun(live, 'succeeded');
  });

  test('lists, filters, sorts and pages runs; secrets never stored', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) {
      const id = await store.runs.createRun(
        newRun({ lr: i / 100, opt: i % 2 === 0 ? 'adam' : 'sgd', token: 'hunter2' }, i < 20 ? 'list' : 'other'),
      );
      store.writer.add(id, null, 'acc', 0, i / 30);
      await store.runs.setTag(id, 'team', i % 3 === 0 ? 'red' : 'blue');
      await store.runs.finishRun(id, i === 5 ? 'failed' : 'succeeded');
      ids.push(id);
    }
    const all = await store.runs.list({ filter: { pipeline: 'list' }, limit: 100 });
    assert.equal(all.total, 20);
    assert.equal(all.runs[0]?.id, ids[19], 'newest first by default');
    assert.equal(all.runs[0]?.params.token, '***');
    assert.equal(
      (await store.sqlDb.get<{ n: number }>("SELECT count(*) AS n FROM params WHERE value LIKE '%hunter2%'"))?.n,
      0,
    );
    assert.equal(
      (await store.sqlDb.get<{ n: number }>("SELECT count(*) AS n FROM params WHERE name = 'token'"))?.n,
      30,
    );
    const page = await store.runs.list({
      filter: { pipeline: 'list' },
      sort: { by: 'metric:acc', order: 'asc' },
      offset: 5,
      limit: 5,
    });
    assert.deepEqual(
      page.runs.map((r) => r.id),
      ids.slice(5, 10),
    );
    const filtered = await store.runs.list({
      filter: {
        pipeline: 'list',
        status: ['succeeded'],
        params: [{ key: 'opt', op: '=', value: 'adam' }],
        metrics: [{ key: 'acc', op: '>=', value: 0.3 }],
        tags: { team: 'red' },
      },
      limit: 100,
    });
    assert.deepEqual(
      filtered.runs.map((r) => r.id).sort((a, b) => a - b),
      ids.filter((_, i) => i < 20 && i % 2 === 0 && i / 30 >= 0.3 && i % 3 === 0),
    );
    assert.equal((await store.runs.list({ filter: { status: ['failed'] } })).runs[0]?.id, ids[5]);
    const byParam = await store.runs.list({
      filter: { pipeline: 'other' },
      sort: { by: 'param:lr', order: 'desc' },
      limit: 2,
    });
    assert.deepEqual(
      byParam.runs.map((r) => r.params.lr),
      [0.29, 0.28],
    );
  });

  test('runs record who started them and where; the list filters by user', async () => {
    const mine = await store.runs.createRun({ ...newRun({}, 'who'), user: 'ana@example.com', host: 'box-1' });
    const theirs = await store.runs.createRun({ ...newRun({}, 'who'), user: 'bob@example.com', host: 'box-2' });
    const list = await store.runs.list({ filter: { pipeline: 'who', user: 'ana@example.com' } });
    assert.deepEqual(
      list.runs.map((r) => [r.id, r.user, r.host]),
      [[mine, 'ana@example.com', 'box-1']],
    );
    const json = JSON.parse(await store.runs.listJson({ filter: { pipeline: 'who' } })) as {
      runs: Array<{ id: number; user: string }>;
    };
    assert.deepEqual(
      json.runs.map((r) => [r.id, r.user]),
      [
        [theirs, 'bob@example.com'],
        [mine, 'ana@example.com'],
      ],
    );
    await store.runs.finishRun(mine, 'succeeded');
    await store.runs.finishRun(theirs, 'succeeded');
  });

  test('compare shows only params that differ, and every metric', async () => {
    const a = await store.runs.createRun(newRun({ lr: 0.1, epochs: 10, seed: 1 }, 'cmp'));
    const b = await store.runs.createRun(newRun({ lr: 0.2, epochs: 10, seed: 1, extra: 'x' }, 'cmp'));
    store.writer.add(a, null, 'acc', 0, 0.8);
    store.writer.add(b, null, 'loss', 0, 0.3);
    await store.writer.flush();
    const c = await store.runs.compare([a, b]);
    assert.deepEqual(c.params, { extra: [null, 'x'], lr: [0.1, 0.2] });
    assert.deepEqual(c.metrics, { acc: [0.8, null], loss: [null, 0.3] });
    await assert.rejects(store.runs.compare([a, 424242]), /run 424242 does not exist/);
  });

  test('a long metric history is downsampled on the server and keeps its shape', async () => {
    const id = await store.runs.createRun(newRun({}, 'history'));
    const n = 200_000;
    // A slow sine with one sharp spike and one sharp dip: averaging or striding would lose both.
    for (let i = 0; i < n; i++) {
      let y = Math.sin(i / 20_000);
      if (i === 123_457) y = 25;
      if (i === 50_001) y = -25;
      store.writer.add(id, null, 'loss', i, y, 0);
    }
    const h = await store.metrics.history(id, 'loss', 1000);
    assert.equal(h.total, n);
    assert.equal(h.downsampled, true);
    assert.ok(h.points.length <= 1000 && h.points.length >= 900, `got ${h.points.length} points`);
    assert.equal(h.points[0]?.step, 0);
    assert.equal(h.points.at(-1)?.step, n - 1);
    assert.ok(
      h.points.some((p) => p.step === 123_457 && p.value === 25),
      'spike kept',
    );
    assert.ok(
      h.points.some((p) => p.step === 50_001 && p.value === -25),
      'dip kept',
    );
    for (let i = 1; i < h.points.length; i++)
      assert.ok((h.points[i]?.step ?? 0) > (h.points[i - 1]?.step ?? 0), 'points in x order');
    // The shape: each returned point lies on the curve it came from.
    for (const p of h.points)
      if (p.value !== 25 && p.value !== -25) assert.ok(Math.abs(p.value - Math.sin(p.step / 20_000)) < 1e-9);
    // Every 100th x-bucket's extreme is represented within tolerance: max |curve - interpolated| stays small.
    const small = await store.metrics.history(id, 'loss', 5_000_000);
    assert.equal(small.points.length, n);
    assert.equal(small.downsampled, false);
  });
});
