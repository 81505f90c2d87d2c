import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CompareRow, RunTable } from '@cairn/protocol/webviews/compare.js';
import { MARGIN_PAGES, MAX_PAGES, RowWindow } from '../../../webviews/src/compare/window.js';

const PAGE = 250;
const TOTAL = 100_000;
const columns: RunTable['columns'] = [
  { key: 'param:lr', name: 'lr', group: 'param', kind: 'number' },
  { key: 'metric:auc', name: 'auc', group: 'metric', kind: 'number' },
];

/** Rows at positions from..to-1 of some order: run id = position + 1, lr = position, auc = -position. */
function rows(from: number, to: number): CompareRow[] {
  const out: CompareRow[] = [];
  for (let p = from; p < to; p++)
    out.push({ id: p + 1, pipeline: 'train', status: 'succeeded', startedAt: p, values: [p, -p] });
  return out;
}
const pageTable = (page: number): RunTable => ({ columns, rows: rows(page * PAGE, (page + 1) * PAGE) });

/** A window as the `runs` message opens it: the first 1,000 rows (pages 0–3) of 100,000. */
function opened(): RowWindow {
  return new RowWindow(PAGE, { columns, rows: rows(0, 1000) }, TOTAL);
}

describe('the compare view’s window of rows (over 10,000 runs)', () => {
  test('the first table fills pages 0–3; other positions are placeholders until their page comes', () => {
    const w = opened();
    assert.deepEqual(w.held(), [0, 1, 2, 3]);
    assert.equal(w.row(999)?.id, 1000);
    assert.equal(w.row(1000), undefined);
    assert.equal(w.pageCount, TOTAL / PAGE);
  });

  test('which pages a scroll position asks for: the visible ones in order, then the margins, none held', () => {
    const w = opened();
    assert.deepEqual(w.needed(0, 30), [], 'the first screen is held');
    // Rows 990–1020 straddle pages 3 and 4: page 4 is missing, then page 5 below; page 2 above is held.
    assert.deepEqual(w.needed(990, 1020), [4, 5]);
    // A dragged scrollbar lands mid-table: the visible pages, then one page below and one above.
    assert.deepEqual(w.needed(50_240, 50_270), [200, 201, 202, 199]);
    assert.equal(MARGIN_PAGES, 1);
    // The end: no page past the last.
    assert.deepEqual(w.needed(TOTAL - 30, TOTAL - 1), [399, 398]);
  });

  test('the same viewport asks once; a page that arrives shrinks the next request', () => {
    const w = opened();
    assert.deepEqual(w.request(50_240, 50_270), [200, 201, 202, 199]);
    assert.equal(w.request(50_241, 50_271), undefined, 'one scroll pixel later: nothing new to ask');
    assert.ok(w.accept(0, 200, pageTable(200), TOTAL));
    assert.equal(w.row(50_000)?.id, 50_001);
    assert.deepEqual(w.request(50_240, 50_270), [201, 202, 199]);
    // Back to the top: an empty request, which drops the pages still queued at the host.
    assert.deepEqual(w.request(0, 30), []);
    assert.equal(w.request(0, 30), undefined);
  });

  test('a sort or filter change resets: a new generation, nothing held, pages of the old one dropped', () => {
    const w = opened();
    w.request(0, 30);
    assert.equal(w.reset(), 1);
    assert.deepEqual(w.held(), []);
    assert.equal(w.row(0), undefined);
    assert.deepEqual(w.request(0, 30), [0, 1], 'the top again, of the new order');
    assert.equal(w.accept(0, 0, pageTable(0), TOTAL), false, 'a page of the old order is stale');
    assert.deepEqual(w.held(), []);
    // The filter matched fewer runs: the total follows the page.
    assert.ok(w.accept(1, 0, { columns, rows: rows(0, 120) }, 120));
    assert.equal(w.total, 120);
    assert.equal(w.pageCount, 1);
    assert.deepEqual(w.needed(0, 30), []);
    assert.equal(w.head(1000).length, 120);
  });

  test('a page with other columns is mapped onto the window’s by key', () => {
    const w = opened();
    const swapped: RunTable = {
      columns: [columns[1]!, { key: 'tag:x', name: 'x', group: 'tag', kind: 'string' }],
      rows: [{ id: 7, pipeline: 'p', status: 'failed', startedAt: 0, values: [0.5, 'y'] }],
    };
    assert.ok(w.accept(0, 10, swapped, TOTAL));
    assert.deepEqual(w.row(2500)?.values, [null, 0.5]);
  });

  test('a live change replaces the rows held of its runs where they stand; runs not held are not placed', () => {
    const w = opened();
    const changed = { id: 5, pipeline: 'train', status: 'failed' as const, startedAt: 4, values: [4, 0.9] };
    const notHeld = { ...changed, id: 90_000 };
    assert.ok(w.patch({ columns, rows: [changed, notHeld] }));
    assert.deepEqual(w.row(4), changed);
    assert.equal(w.patch({ columns, rows: [notHeld] }), false);
    assert.equal(w.held().length, 4);
  });

  test('what is held stays bounded: the pages farthest from the viewport go first', () => {
    const w = opened();
    for (let p = 100; p < 100 + MAX_PAGES; p++) w.accept(0, p, pageTable(p), TOTAL);
    w.evict(125 * PAGE, 125 * PAGE + 30);
    assert.equal(w.held().length, MAX_PAGES);
    assert.ok(!w.held().includes(0), 'page 0 is the farthest');
    assert.ok(w.held().includes(125));
  });

  test('charts take the first rows held without a gap', () => {
    const w = opened();
    assert.equal(w.head(1000).length, 1000);
    assert.equal(w.head(300).at(-1)?.id, 300);
    w.reset();
    w.accept(1, 1, pageTable(1), TOTAL);
    assert.equal(w.head(1000).length, 0, 'page 0 is missing');
  });
});
