import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CompareToView, RunTable } from '@cairn/protocol';
import { FIRST_PAGE, postRunPages } from '../../../extension/src/webviews/comparePages.js';
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

  test('a pipeline filter and the cap on runs shown', async () => {
    const messages: CompareToView[] = [];
    await postRunPages(
      (p) => store.runs.page(p),
      { pipeline: 'a' },
      (m) => messages.push(m),
      600,
    );
    const table = viewTable(messages);
    assert.equal(table.rows.length, 600);
    const first = messages[0];
    assert.equal(first?.type === 'runs' ? first.payload.total : -1, n / 2);
    const pipelines = new Set(table.rows.map((r) => r.pipeline));
    assert.deepEqual([...pipelines], ['a']);
    assert.equal(messages.length, 1, '600 runs fit the first page');
  });
});
