import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runSummariesToTable } from '@cairn/protocol';
import {
  differingColumns,
  filterRows,
  mergeTables,
  parseFilter,
  sortRows,
} from '../../../webviews/src/compare/model.js';
import { makeRuns } from '../../fixtures/webviews/compareFixture.js';

const table = runSummariesToTable(makeRuns(30, { params: 6, metrics: 3, tags: 2 }));
const all = table.rows.map((_r, i) => i);
const col = (key: string): number => table.columns.findIndex((c) => c.key === key);

describe('compare table model', () => {
  test('filter: words anywhere, conditions by column name, unknown columns reported', () => {
    assert.deepEqual(parseFilter(' churn  lr>=0.01 '), {
      terms: ['churn'],
      conditions: [{ column: 'lr', op: '>=', value: '0.01' }],
    });
    const churn = filterRows(table, 'churn').rows;
    assert.deepEqual(
      churn.map((i) => table.rows[i]?.id),
      [1, 6, 11, 16, 21, 26],
    );
    const big = filterRows(table, 'lr>=0.01 status=failed').rows;
    assert.ok(big.length > 0);
    for (const i of big) {
      assert.ok(Number(table.rows[i]?.values[col('param:lr')]) >= 0.01);
      assert.equal(table.rows[i]?.status, 'failed');
    }
    assert.deepEqual(filterRows(table, 'nosuch>1'), { rows: [], unknownColumns: ['nosuch'] });
  });

  test('sort: numbers numerically, both directions, stable', () => {
    const asc = sortRows(table, all, 'param:epochs', 'asc').map((i) => table.rows[i]?.values[col('param:epochs')]);
    assert.deepEqual(
      asc,
      [...asc].sort((a, b) => Number(a) - Number(b)),
    );
    const desc = sortRows(table, all, 'run:id', 'desc');
    assert.equal(table.rows[desc[0] ?? -1]?.id, 30);
    const byModel = sortRows(table, all, 'param:model', 'asc');
    const logregIds = byModel
      .filter((i) => table.rows[i]?.values[col('param:model')] === 'logreg')
      .map((i) => table.rows[i]?.id ?? 0);
    assert.deepEqual(
      logregIds,
      [...logregIds].sort((a, b) => a - b),
      'equal keys keep their order',
    );
  });

  test('only what differs: constant columns are left out, over the filtered rows only', () => {
    const diff = differingColumns(table, all).map((i) => table.columns[i]?.name);
    assert.ok(!diff.includes('seed') && diff.includes('lr'));
    const oneLr = filterRows(table, 'lr=0.1').rows;
    assert.ok(
      !differingColumns(table, oneLr)
        .map((i) => table.columns[i]?.name)
        .includes('lr'),
    );
  });

  test('a patch replaces known runs, appends new ones and widens columns', () => {
    const [first] = makeRuns(1, { params: 6, metrics: 3, tags: 2 });
    if (!first) throw new Error('fixture');
    const patch = runSummariesToTable([
      { ...first, status: 'failed', metrics: { ...first.metrics, extra: 1 } },
      { ...first, id: 999 },
    ]);
    const merged = mergeTables(table, patch);
    assert.equal(merged.rows.length, 31);
    assert.equal(merged.rows[0]?.status, 'failed');
    const extra = merged.columns.findIndex((c) => c.key === 'metric:extra');
    assert.ok(extra > 0);
    assert.equal(merged.rows[0]?.values[extra], 1);
    assert.equal(merged.rows[5]?.values[extra], null);
    assert.ok(merged.rows.every((r) => r.values.length === merged.columns.length));
  });
});
