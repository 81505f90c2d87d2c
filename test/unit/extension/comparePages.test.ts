import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CompareToView, RunPageRequest, RunTable } from '@cairn/protocol';
import { FIRST_PAGE, WINDOW_PAGE, postRunPages, toRunSort } from '../../../extension/src/webviews/comparePages.js';
import { Store, type NewRun } from '../../../runtime/src/store/store.js';
import { mergeTables } from '../../../webviews/src/compare/model.js';

/** What the compare view holds after the messages: the first table, patches merged as the view merges them. */
function viewTable(messages: CompareToView[]): RunTable {
  let table: RunTable = { columns: [], rows: [] };
  for (const m of messages) {
    if (m.type === 'runs') table = m.payload.table;
    else if (m.type === 'patch') table = mergeTables(table, m.payload.table);
  }
  return table;
}

describe('compare view fed by run pages (runtime/runsPage)', () => {
  const store = new Store(':memory:');
  const n = FIRST_PAGE + 300;
  before(async () => {
    await store.tx(async (s) => {
      for (let i = 0; i < n; i++) {
        // The oldest runs have a param the newest do not: a later page brings a new column.
        const params: NewRun['params'] =
          i < 100 ? { old: { value: i, type: 'int' as const, secret: false, overridden: false } } : {};
        await s.runs.createRun({
          pipelineName: i % 2 ? 'a' : 'b',
          pipelineFile: i % 2 ? 'a.yaml' : 'b.yaml',
          params,
          gitCommit: null,
          gitDirty: null,
          platform: 't',
          cairnVersion: '0',
          selection: null,
        });
      }
    });
  });
  after(async () => {
    await store.close();
  });

  test('first page as `runs`, the rest as patches; every run once, new columns merged, pending counts down to 0', async () => {
    const messages: CompareToView[] = [];
    await postRunPages(
      (p) => store.runs.page(p),
      {},
      (m) => messages.push(m),
      10_000,
    );
    const [first, ...rest] = messages;
    assert.equal(first?.type, 'runs');
    if (first?.type !== 'runs') return;
    assert.equal(first.payload.table.rows.length, FIRST_PAGE);
    assert.equal(first.payload.total, n);
    assert.equal(first.payload.pending, n - FIRST_PAGE);
    assert.ok(rest.length > 0 && rest.every((m) => m.type === 'patch'));
    assert.equal(rest.at(-1)?.type === 'patch' ? rest.at(-1)?.payload.pending : -1, 0);
    const table = viewTable(messages);
    const ids = table.rows.map((r) => r.id);
    assert.equal(new Set(ids).size, n);
    const old = table.columns.findIndex((c) => c.key === 'param:old');
    assert.ok(old >= 0, 'the column only old runs have arrived');
    assert.equal(table.rows.filter((r) => r.values[old] !== null).length, 100);
  });

  /** The run ids of a whole query in the runtime's order, to compare pages with. */
  async function order(query: RunPageRequest.Params): Promise<number[]> {
    return (await store.runs.page({ ...query, columns: [], limit: 10_000 })).table.rows.map((r) => r.id);
  }
  const newest = { by: 'startedAt', order: 'desc' } as const;

  test('over `max` runs the view is windowed: the first page only, then the pages it asks for, each its own rows', async () => {
    const messages: CompareToView[] = [];
    const pager = await postRunPages(
      (p) => store.runs.page(p),
      {},
      (m) => messages.push(m),
      FIRST_PAGE,
    );
    assert.ok(pager, 'a pager for the pages');
    assert.equal(messages.length, 1);
    const first = messages[0];
    assert.ok(first?.type === 'runs');
    assert.deepEqual(first.payload.window, { pageSize: WINDOW_PAGE });
    assert.equal(first.payload.total, n);
    assert.equal(first.payload.table.rows.length, FIRST_PAGE);
    const all = await order({ sort: newest });
    // Page 5 is after the first page's cursor (page 4): one page skipped. Page 2 is reached from the first row.
    await pager.want({ generation: 0, pages: [5, 2], columns: ['param:old'] });
    assert.deepEqual(pager.reads, [
      { generation: 0, page: 5, skip: WINDOW_PAGE },
      { generation: 0, page: 2, skip: 2 * WINDOW_PAGE },
    ]);
    const pages = messages.slice(1);
    assert.deepEqual(
      pages.map((m) => (m.type === 'rowsPage' ? [m.payload.page, m.payload.total] : m.type)),
      [
        [5, n],
        [2, n],
      ],
    );
    for (const m of pages) {
      if (m.type !== 'rowsPage') continue;
      const at = m.payload.page * WINDOW_PAGE;
      assert.deepEqual(
        m.payload.table.rows.map((r) => r.id),
        all.slice(at, at + WINDOW_PAGE),
        `page ${m.payload.page} holds rows ${at}…`,
      );
      assert.deepEqual(
        m.payload.table.columns.map((c) => c.key),
        ['param:old'],
        'only the asked columns',
      );
    }
    // The page after one read starts at its cursor: no skip.
    await pager.want({ generation: 0, pages: [3], columns: [] });
    assert.deepEqual(pager.reads.at(-1), { generation: 0, page: 3, skip: 0 });
    // Page 6 would start past the last run: it is not read.
    await pager.want({ generation: 0, pages: [6], columns: [] });
    assert.equal(pager.reads.length, 3);
  });

  test('a request replaces the queued pages: pages scrolled past are never read', async () => {
    const messages: CompareToView[] = [];
    const pager = await postRunPages(
      (p) => store.runs.page(p),
      {},
      (m) => messages.push(m),
      FIRST_PAGE,
    );
    assert.ok(pager);
    // The first request's first page is being read when the second arrives; its other pages are dropped.
    const scrolling = pager.want({ generation: 0, pages: [1, 2, 3], columns: [] });
    const settled = pager.want({ generation: 0, pages: [0], columns: [] });
    await Promise.all([scrolling, settled]);
    assert.deepEqual(
      pager.reads.map((r) => r.page),
      [1, 0],
    );
    assert.deepEqual(
      messages.slice(1).map((m) => (m.type === 'rowsPage' ? m.payload.page : -1)),
      [1, 0],
    );
  });

  test('a sort or filter change is a new generation: sorted and filtered by the runtime, cursors forgotten, stale pages dropped', async () => {
    const messages: CompareToView[] = [];
    const pager = await postRunPages(
      (p) => store.runs.page(p),
      {},
      (m) => messages.push(m),
      FIRST_PAGE,
    );
    assert.ok(pager);
    const sort = { key: 'run:id', dir: 'asc' } as const;
    // Generation 0's page is in flight when generation 1 arrives: it is not posted.
    const old = pager.want({ generation: 0, pages: [5], columns: [] });
    const sorted = pager.want({ generation: 1, pages: [4], columns: [], sort, text: 'A' });
    await Promise.all([old, sorted]);
    // Page 4 of the new order is reached from the first row: generation 0's cursor at page 4 is not used.
    assert.deepEqual(pager.reads, [
      { generation: 0, page: 5, skip: WINDOW_PAGE },
      { generation: 1, page: 4, skip: 4 * WINDOW_PAGE },
    ]);
    const posted = messages.slice(1);
    assert.equal(posted.length, 1);
    const page = posted[0];
    assert.ok(page?.type === 'rowsPage');
    assert.equal(page.payload.generation, 1);
    // Text matches the pipeline name case-insensitively: pipeline a is half of the runs.
    assert.equal(page.payload.total, n / 2);
    const want = await order({ sort: { by: 'id', order: 'asc' }, filter: { text: 'A' } });
    assert.deepEqual(
      page.payload.table.rows.map((r) => r.id),
      want.slice(4 * WINDOW_PAGE, 5 * WINDOW_PAGE),
    );
    // A late request of the old generation is ignored.
    await pager.want({ generation: 0, pages: [0], columns: [] });
    assert.equal(pager.reads.length, 2);
  });

  test('view sorts as the runtime names them', () => {
    assert.deepEqual(toRunSort(undefined), { by: 'startedAt', order: 'desc' });
    assert.deepEqual(toRunSort({ key: 'run:status', dir: 'asc' }), { by: 'status', order: 'asc' });
    assert.deepEqual(toRunSort({ key: 'metric:val/auc', dir: 'desc' }), { by: 'metric:val/auc', order: 'desc' });
  });

  test('up to `max` runs, all of them are sent: a pipeline filter', async () => {
    const messages: CompareToView[] = [];
    const pager = await postRunPages(
      (p) => store.runs.page(p),
      { pipeline: 'a' },
      (m) => messages.push(m),
      n,
    );
    assert.equal(pager, undefined);
    const table = viewTable(messages);
    assert.equal(table.rows.length, n / 2);
    const pipelines = new Set(table.rows.map((r) => r.pipeline));
    assert.deepEqual([...pipelines], ['a']);
    assert.equal(messages.length, 1, '650 runs fit the first page');
  });
});
