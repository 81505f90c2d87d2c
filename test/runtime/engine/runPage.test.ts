import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  runPageSchema,
  runSummariesToTable,
  type RunCursor,
  type RunListQuery,
  type RunPageQuery,
  type RunSort,
  type RunSummary,
} from '@cairn/protocol';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { allMigrations, migrate } from '../../../runtime/src/store/migrations.js';
import { Store, type NewRun } from '../../../runtime/src/store/store.js';
import { forEachBackend, newRun } from '../../lib/stores.js';

function runOf(i: number, pipeline: string, user: string | null): NewRun {
  // lr takes 4 values (ties); every fifth run has no lr at all (a NULL key).
  const params: NewRun['params'] = {};
  if (i % 5 !== 0)
    params.lr = { value: [0.1, 0.01, 0.001, 0.1][i % 4], type: 'float', secret: false, overridden: false };
  return newRun(pipeline, { params, gitDirty: null, cairnVersion: '0.0.0', user, host: `host-${i % 2}` });
}

/** Every page of a query, following the cursors; fails on a cursor that does not advance. */
async function allPages(
  store: Store,
  query: RunPageQuery,
  between?: (page: number) => Promise<void>,
): Promise<number[]> {
  const ids: number[] = [];
  let after: RunCursor | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await store.runs.page({ ...query, ...(after ? { after } : {}) });
    ids.push(...result.table.rows.map((r) => r.id));
    if (result.next === null) return ids;
    assert.notDeepEqual(result.next, after, 'the cursor advances');
    after = result.next;
    await between?.(page);
  }
  throw new Error('more than 1000 pages');
}

function sortValue(r: RunSummary, by: string): number | string | null {
  if (by === 'id') return r.id;
  if (by === 'startedAt') return r.startedAt;
  if (by === 'durationMs') return r.durationMs;
  if (by === 'status') return r.status;
  if (by === 'pipeline') return r.pipeline;
  if (by === 'param:lr') return (r.params.lr as number | undefined) ?? null;
  return r.metrics[by.slice('metric:'.length)] ?? null;
}

/** The order the runtime promises: by key (missing keys last), ties by id, both in the sort's direction. */
function expected(runs: RunSummary[], sort: RunSort): number[] {
  const sign = sort.order === 'asc' ? 1 : -1;
  return [...runs]
    .sort((a, b) => {
      const x = sortValue(a, sort.by);
      const y = sortValue(b, sort.by);
      if (x === null || y === null) return x === y ? sign * (a.id - b.id) : x === null ? 1 : -1;
      if (x !== y) return sign * (x < y ? -1 : 1);
      return sign * (a.id - b.id);
    })
    .map((r) => r.id);
}

forEachBackend('run pages (keyset)', (backend) => {
  let store: Store;
  let runs: RunSummary[];
  before(async () => {
    store = await backend.open();
    for (let i = 0; i < 53; i++) {
      const id = await store.runs.createRun(
        runOf(i, i % 3 === 0 ? 'train' : 'eval_100%', i % 4 === 0 ? null : `user${i % 3}`),
      );
      // auc has ties (7 values) and is missing on every third run; a third of the runs are still running.
      if (i % 3 !== 1) store.writer.add(id, null, 'auc', 0, (i % 7) / 10);
      if (i % 3 !== 2) await store.runs.finishRun(id, i % 2 === 0 ? 'succeeded' : 'failed');
      if (i % 6 === 0) await store.runs.setTag(id, 'owner', i % 12 === 0 ? 'Ada' : 'bob');
    }
    // Values of every kind, and keys that need escapes, for the spliced encoding.
    const odd = runOf(99, 'train', 'u');
    const p = (value: unknown) => ({ value, type: 'string' as const, secret: false, overridden: false });
    odd.params = {
      opt: p('say "hi"\\ é\u2028'),
      flag: p(true),
      layers: p([64, { a: [1, 'x'] }]),
      'we"ird\\key': p(-1.5e-7),
    };
    await store.runs.createRun(odd);
    await store.writer.flush();
    runs = (await store.runs.list({ limit: 1000 })).runs;
  });
  after(async () => {
    await store.close();
  });

  const sorts = ['id', 'startedAt', 'durationMs', 'status', 'pipeline', 'param:lr', 'metric:auc', 'metric:absent'];
  for (const by of sorts) {
    for (const order of ['asc', 'desc'] as const) {
      test(`every run exactly once, in order, sorted by ${by} ${order}`, async () => {
        const want = expected(runs, { by, order });
        for (const limit of [1, 7, 100]) {
          const ids = await allPages(store, { sort: { by, order }, limit, columns: [] });
          assert.deepEqual(ids, want, `pages of ${limit}`);
        }
      });
    }
  }

  test('skip seeks by keyset: from the start and from a cursor, under every sort and a filter; past the end is empty', async () => {
    for (const by of sorts) {
      for (const order of ['asc', 'desc'] as const) {
        const want = expected(runs, { by, order });
        const ids = async (q: RunPageQuery) => (await store.runs.page(q)).table.rows.map((r) => r.id);
        const sort = { by, order };
        assert.deepEqual(await ids({ sort, skip: 10, limit: 5, columns: [] }), want.slice(10, 15), `${by} ${order}`);
        const first = await store.runs.page({ sort, limit: 7, columns: [] });
        assert.ok(first.next);
        const from = await ids({ sort, after: first.next, skip: 20, limit: 6, columns: [] });
        assert.deepEqual(from, want.slice(27, 33), `${by} ${order} after a cursor`);
        const past = await store.runs.page({ sort, skip: want.length, limit: 5, columns: [] });
        assert.deepEqual([past.table.rows.length, past.next], [0, null], `${by} ${order} past the end`);
      }
    }
    const filter = { status: ['failed' as const] };
    const failed = expected(
      runs.filter((r) => r.status === 'failed'),
      { by: 'id', order: 'desc' },
    );
    const page = await store.runs.page({ filter, skip: 3, limit: 4, columns: [], withTotal: true });
    assert.deepEqual(
      page.table.rows.map((r) => r.id),
      failed.slice(3, 7),
    );
    assert.equal(page.total, failed.length);
  });

  test('runs inserted between pages neither repeat nor hide the runs before the cursor', async () => {
    const scratch = new Store(':memory:');
    try {
      for (let i = 0; i < 30; i++) {
        const id = await scratch.runs.createRun(runOf(i, 'train', 'u'));
        scratch.writer.add(id, null, 'auc', 0, (i % 4) / 10);
        await scratch.runs.finishRun(id, 'succeeded');
      }
      const before = new Set((await scratch.runs.list({ limit: 100 })).runs.map((r) => r.id));
      let inserted = 0;
      const insert = async (): Promise<void> => {
        for (let k = 0; k < 3; k++) {
          const id = await scratch.runs.createRun(runOf(100 + inserted++, 'train', 'u'));
          scratch.writer.add(id, null, 'auc', 0, (inserted % 5) / 10);
          await scratch.runs.finishRun(id, 'succeeded');
        }
      };
      for (const sort of [
        { by: 'id', order: 'desc' },
        { by: 'metric:auc', order: 'asc' },
        { by: 'startedAt', order: 'desc' },
      ] as const) {
        const ids = await allPages(scratch, { sort, limit: 4, columns: [] }, insert);
        assert.equal(new Set(ids).size, ids.length, `${sort.by}: no run twice`);
        for (const id of before) assert.ok(ids.includes(id), `${sort.by}: run ${id} is on a page`);
        // Newest first: runs inserted after the first page sort before its cursor, so none shows up.
        if (sort.by === 'id') assert.deepEqual(new Set(ids), before);
      }
      assert.ok(inserted > 0);
    } finally {
      await scratch.close();
    }
  });

  test('filters: status, user, pipeline, text (case-insensitive, % literal), with the total', async () => {
    const check = async (filter: RunPageQuery['filter'], want: (r: RunSummary) => boolean): Promise<void> => {
      const expectIds = runs.filter(want).map((r) => r.id);
      const first = await store.runs.page({ filter, limit: 5, withTotal: true, columns: [] });
      assert.equal(first.total, expectIds.length, JSON.stringify(filter));
      assert.deepEqual(await allPages(store, { filter, limit: 5, columns: [] }), expectIds, JSON.stringify(filter));
    };
    await check({ status: ['failed', 'running'] }, (r) => r.status === 'failed' || r.status === 'running');
    await check({ user: 'user1' }, (r) => r.user === 'user1');
    await check({ pipeline: 'train' }, (r) => r.pipeline === 'train');
    await check(
      { pipeline: 'train.cairn.yaml', status: ['succeeded'] },
      (r) => r.pipeline === 'train' && r.status === 'succeeded',
    );
    await check({ text: 'ADA' }, (r) => r.tags.owner === 'Ada');
    await check({ text: '100%' }, (r) => r.pipeline === 'eval_100%');
    await check({ text: '_1' }, (r) => r.pipeline.includes('_1'));
    await check({ text: 'host-1' }, (r) => r.host === 'host-1');
    await check({ text: 'zzz%' }, () => false);
    assert.equal((await store.runs.page({ columns: [] })).total, undefined, 'no count unless asked');
  });

  test('only the asked columns, in the asked order; absent: the columns the page has', async () => {
    const page = await store.runs.page({
      sort: { by: 'id', order: 'asc' },
      limit: 3,
      columns: ['metric:auc', 'param:lr', 'tag:none'],
    });
    assert.deepEqual(
      page.table.columns.map((c) => c.key),
      ['metric:auc', 'param:lr', 'tag:none'],
    );
    const byId = new Map(runs.map((r) => [r.id, r]));
    for (const row of page.table.rows) {
      const r = byId.get(row.id);
      assert.deepEqual(row.values, [r?.metrics.auc ?? null, r?.params.lr ?? null, null]);
    }
    // The spliced encoding says what the general conversion says, kinds included.
    const keys = [
      'param:lr',
      'metric:auc',
      'tag:owner',
      'param:constructor',
      'param:opt',
      'param:flag',
      'param:layers',
    ];
    keys.push('param:we"ird\\key');
    const spliced = await store.runs.page({ sort: { by: 'id', order: 'desc' }, limit: 1000, columns: keys });
    assert.deepEqual(runPageSchema.parse(spliced).table, runSummariesToTable(runs, keys));
    const all = await store.runs.page({ limit: 10 });
    assert.deepEqual(
      all.table.columns.map((c) => c.key),
      ['param:flag', 'param:layers', 'param:lr', 'param:opt', 'param:we"ird\\key', 'metric:auc', 'tag:owner'],
    );
  });

  test('the run list pages by cursor too (the Experiments tree): every run once, in order, under its conditions', async () => {
    const filter: RunListQuery['filter'] = { params: [{ key: 'lr', op: '>=', value: 0.01 }], pipeline: 'train' };
    const matching = runs.filter(
      (r) => r.pipeline === 'train' && typeof r.params.lr === 'number' && r.params.lr >= 0.01,
    );
    assert.ok(matching.length > 4);
    for (const sort of [
      { by: 'metric:auc', order: 'asc' },
      { by: 'startedAt', order: 'desc' },
    ] as const) {
      const ids: number[] = [];
      let page = await store.runs.list({ filter, sort, limit: 4 });
      for (;;) {
        ids.push(...page.runs.map((r) => r.id));
        assert.equal(page.total, matching.length);
        if (!page.next) break;
        page = await store.runs.list({ filter, sort, limit: 4, after: page.next });
      }
      assert.equal(page.next, null, 'the last page says so');
      assert.deepEqual(ids, expected(matching, sort), sort.by);
    }
    await assert.rejects(store.runs.list({ offset: 4, after: { key: null, id: 1 } }), /either offset or after/);
  });

  test('bad queries are refused with what is wrong', async () => {
    await assert.rejects(store.runs.page({ columns: ['lr'] }), /param:<name>, metric:<key> or tag:<key>/);
    await assert.rejects(store.runs.page({ limit: 0 }), /limit/);
  });
});

forEachBackend('run pages by a param or metric (run_sort_keys)', (backend) => {
  let store: Store;
  before(async () => {
    store = await backend.open();
  });
  after(async () => {
    await store.close();
  });

  /**
   * Every page's ids, and the same sort through the run list's OFFSET path (json_extract / jsonb on the stored JSON,
   * not run_sort_keys) from the second run on; the first run, which that path skips, is the one the pages start with.
   */
  const bothOrders = async (sort: RunSort, filter?: RunListQuery['filter']): Promise<[number[], number[]]> => {
    const paged = await allPages(store, {
      sort,
      limit: 2,
      columns: [],
      ...(filter ? { filter: pageFilter(filter) } : {}),
    });
    const rest = (await store.runs.list({ sort, limit: 1000, offset: 1, ...(filter ? { filter } : {}) })).runs;
    return [paged, [...paged.slice(0, 1), ...rest.map((r) => r.id)]];
  };
  const pageFilter = (f: NonNullable<RunListQuery['filter']>): RunPageQuery['filter'] => ({
    ...(f.status ? { status: f.status } : {}),
    ...(f.pipeline ? { pipeline: f.pipeline } : {}),
  });

  test('values of every type sort as the stored JSON does; a later metric value moves its run; a deleted run goes', async () => {
    const p = (value: unknown) => ({ value, type: 'string' as const, secret: false, overridden: false });
    const mixed: unknown[] = [3, 'abc', true, 1.5, '10', false, -2, 'Abc', 3, undefined, 0];
    const ids: number[] = [];
    for (const [i, value] of mixed.entries()) {
      const run = runOf(i, 'mixed', 'u');
      run.params = value === undefined ? {} : { m: p(value), secret: { ...p(i), secret: true } };
      const id = await store.runs.createRun(run);
      ids.push(id);
      store.writer.add(id, null, 'score', 0, i % 4);
      await store.runs.finishRun(id, 'succeeded');
    }
    for (const by of ['param:m', 'param:secret', 'metric:score', 'metric:none']) {
      for (const order of ['asc', 'desc'] as const) {
        const [paged, listed] = await bothOrders({ by, order });
        assert.deepEqual(paged, listed, `${by} ${order}`);
      }
    }
    // A metric reported again: its latest value is its key (through the writer and through a cache hit's merge).
    const [first, second] = ids;
    store.writer.add(first ?? -1, null, 'score', 1, 100);
    await store.writer.flush();
    await store.writer.mergeLatest(second ?? -1, [{ key: 'score', value: 50 }]);
    const top = await store.runs.page({ sort: { by: 'metric:score', order: 'desc' }, limit: 2, columns: [] });
    assert.deepEqual(
      top.table.rows.map((r) => r.id),
      [first, second],
    );
    const [paged, listed] = await bothOrders({ by: 'metric:score', order: 'asc' });
    assert.deepEqual(paged, listed);
    assert.ok(await store.runs.deleteRun(first ?? -1));
    assert.ok(
      !(await allPages(store, { sort: { by: 'metric:score', order: 'desc' }, limit: 5, columns: [] })).includes(
        first ?? -1,
      ),
    );
  });

  test('filters apply to the runs with a value and to those without', async () => {
    const filter = { status: ['succeeded' as const], pipeline: 'mixed' };
    for (const by of ['param:m', 'metric:score']) {
      const [paged, listed] = await bothOrders({ by, order: 'desc' }, filter);
      assert.deepEqual(paged, listed, by);
      const page = await store.runs.page({
        sort: { by, order: 'desc' },
        filter,
        limit: 3,
        withTotal: true,
        columns: [],
      });
      assert.equal(page.total, paged.length);
    }
  });

  test('a JSON null is no value: it sorts with the runs that lack the key, by id', async () => {
    const run = runOf(0, 'mixed', 'u');
    run.params = { m: { value: null, type: 'string', secret: false, overridden: false } };
    const id = await store.runs.createRun(run);
    const all = (await store.runs.list({ limit: 1000 })).runs;
    const lacking = all.filter((r) => r.params.m === undefined || r.params.m === null).map((r) => r.id);
    assert.ok(lacking.includes(id) && lacking.length > 1);
    const ids = await allPages(store, { sort: { by: 'param:m', order: 'asc' }, limit: 4, columns: [] });
    assert.deepEqual(
      ids.slice(-lacking.length),
      [...lacking].sort((a, b) => a - b),
    );
  });
});

test('the migration that adds the sort keys reads them from the runs already stored', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-sortkeys-'));
  try {
    const file = path.join(dir, 'cairn.db');
    const db = new Database(file);
    migrate(
      db,
      allMigrations().filter((m) => m.version <= 10),
    );
    db.prepare("INSERT INTO pipelines (id, name, file, created_at) VALUES (1, 'old', 'old.cairn.yaml', 0)").run();
    const insert = db.prepare(
      `INSERT INTO runs (id, pipeline_id, status, started_at, platform, cairn_version, selection, params_json, metrics_json)
       VALUES (?, 1, 'succeeded', 0, 't', 't', 'null', ?, ?)`,
    );
    insert.run(1, '{"lr":0.1,"opt":"adam"}', '{"auc":0.7}');
    insert.run(2, '{"lr":0.01,"opt":null}', '{}');
    insert.run(3, '{"opt":"sgd"}', '{"auc":0.9}');
    db.close();
    const store = new Store(file);
    await store.ready;
    try {
      const order = async (by: string, order: 'asc' | 'desc') =>
        (await store.runs.page({ sort: { by, order }, limit: 1, columns: [] })).table.rows.map((r) => r.id);
      assert.deepEqual(
        await allPages(store, { sort: { by: 'param:lr', order: 'asc' }, limit: 1, columns: [] }),
        [2, 1, 3],
      );
      assert.deepEqual(
        await allPages(store, { sort: { by: 'param:opt', order: 'desc' }, limit: 1, columns: [] }),
        [3, 1, 2],
      );
      assert.deepEqual(await order('metric:auc', 'desc'), [3]);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
