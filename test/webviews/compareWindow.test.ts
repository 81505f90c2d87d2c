import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runSummariesToTable, type CompareFromView, type RunTable } from '@cairn/protocol';
import { makeRuns } from '../fixtures/webviews/compareFixture.js';
import { assertClean, openView, screenshot, sharedBrowser, waitForPost, type ViewPage } from './harness.js';

/**
 * The compare view over 10,000 runs (`runs.window`) in headless Chromium: it draws placeholders for the rows it does
 * not hold, asks the host for the pages around what it shows, draws the pages that come, and sends a sort to the
 * runtime (a new generation) instead of sorting what it holds. The host is played here from the messages.
 */

const chromium = sharedBrowser();
const PAGE = 250;
const TOTAL = 100_000;
// 1,000 runs × 50 columns: the first page; later pages are the same runs with ids moved to their positions.
const first = runSummariesToTable(makeRuns(1000));
const pageOf = (page: number): RunTable => ({
  columns: first.columns,
  rows: first.rows.slice(0, PAGE).map((r, i) => ({ ...r, id: page * PAGE + i + 1 })),
});
type RequestPages = Extract<CompareFromView, { type: 'requestPages' }>;

async function drawnIds(v: ViewPage): Promise<{ ids: number[]; placeholders: number }> {
  return v.page.evaluate(() => ({
    ids: Array.from(document.querySelectorAll<HTMLElement>('.grid-row[data-run]')).map((r) => Number(r.dataset.run)),
    placeholders: document.querySelectorAll('.grid-row.placeholder').length,
  }));
}

async function postedCount(v: ViewPage): Promise<number> {
  return (await v.posted()).length;
}

describe('compare view, windowed (over 10,000 runs)', () => {
  test('placeholders, page requests around the viewport, pages drawn as they come, sort sent to the runtime', async () => {
    const v = await openView(chromium(), 'compare', { width: 1100, height: 700 });
    try {
      await v.send({
        type: 'runs',
        payload: { query: {}, table: first, total: TOTAL, keyMetric: 'val/auc', window: { pageSize: PAGE } },
      });
      await v.page.waitForSelector('.grid-row[data-run="1"]');
      assert.match(await v.page.locator('.count').innerText(), /100,000 runs · sorted and filtered by the runtime/);
      await v.page.waitForFunction(() => document.querySelector('.charts-note')?.textContent?.includes('first 1,000'));
      assert.equal(await v.page.isDisabled('#only-differ'), true, '"only what differs" needs every run');

      // Scroll to the middle: placeholders, and a request for the visible pages, nearest first.
      let from = await postedCount(v);
      await v.page.evaluate(() => {
        const g = document.querySelector('.grid');
        if (g) g.scrollTop = 50_000 * 24;
      });
      const asked = (await waitForPost(v, 'requestPages', from)) as RequestPages;
      assert.equal(asked.payload.generation, 0);
      assert.ok(asked.payload.pages.includes(200), `page 200 holds row 50,000: ${asked.payload.pages.join(',')}`);
      assert.ok(asked.payload.pages.every((p) => p >= 198 && p <= 202));
      assert.equal(asked.payload.columns.length, 50, 'the columns the view shows');
      assert.equal(asked.payload.sort, undefined);
      assert.ok((await drawnIds(v)).placeholders > 0, 'rows not here yet are placeholders');
      for (const p of asked.payload.pages)
        await v.send({ type: 'rowsPage', payload: { generation: 0, page: p, table: pageOf(p), total: TOTAL } });
      await v.page.waitForFunction(() => document.querySelector('.grid-row.placeholder') === null);
      const { ids } = await drawnIds(v);
      assert.ok(ids.includes(50_001), `row 50,000 shows run 50,001: ${ids.slice(0, 3).join(',')}…`);
      await screenshot(v, 'compare-window');

      // A sort is the runtime's: a new generation, from the top, with the sort.
      from = await postedCount(v);
      await v.page.click('.hcell button[data-sort="param:epochs"]');
      const sorted = (await waitForPost(v, 'requestPages', from)) as RequestPages;
      assert.deepEqual(sorted.payload.sort, { key: 'param:epochs', dir: 'desc' });
      assert.equal(sorted.payload.generation, 1);
      assert.deepEqual(sorted.payload.pages.slice(0, 1), [0]);
      // A late page of the old order is dropped; the new order's page 0 is drawn.
      await v.send({ type: 'rowsPage', payload: { generation: 0, page: 0, table: pageOf(7), total: TOTAL } });
      await v.send({ type: 'rowsPage', payload: { generation: 1, page: 0, table: pageOf(3), total: 1234 } });
      await v.page.waitForSelector(`.grid-row[data-run="${3 * PAGE + 1}"]`);
      assert.equal(await v.page.locator(`.grid-row[data-run="${7 * PAGE + 1}"]`).count(), 0);
      assert.match(await v.page.locator('.count').innerText(), /1,234 runs/);

      // A tag is not a runtime sort key: said so, nothing asked.
      from = await postedCount(v);
      await v.page.evaluate(() => {
        const g = document.querySelector('.grid');
        if (g) g.scrollLeft = g.scrollWidth;
      });
      await v.page.click('.hcell button[data-sort="tag:t4"]');
      await v.page.waitForFunction(() => document.querySelector('.toolbar .note')?.textContent?.includes('tag'));
      assert.ok((await v.posted()).slice(from).every((m) => m.type !== 'requestPages'));
      await assertClean(v);
    } finally {
      await v.close();
    }
  });

  test('a filter goes to the runtime as text; conditions are said to be unsupported at this size', async () => {
    const v = await openView(chromium(), 'compare', { width: 1100, height: 700 });
    try {
      await v.send({ type: 'runs', payload: { query: {}, table: first, total: TOTAL, window: { pageSize: PAGE } } });
      await v.page.waitForSelector('.grid-row[data-run="1"]');
      const from = await postedCount(v);
      await v.page.fill('input[type="search"]', 'churn lr>=0.01');
      const asked = (await waitForPost(v, 'requestPages', from)) as RequestPages;
      assert.equal(asked.payload.text, 'churn');
      assert.equal(asked.payload.generation, 1);
      await v.page.waitForFunction(() =>
        document.querySelector('.toolbar .note')?.textContent?.includes('not conditions'),
      );
      await assertClean(v);
    } finally {
      await v.close();
    }
  });
});
