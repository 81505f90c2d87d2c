import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chunkRunTable, runSummariesToTable } from '@cairn/protocol';
import { makeHistory, makeRuns } from '../fixtures/webviews/compareFixture.js';
import { driftReportFixture } from '../fixtures/webviews/driftFixture.js';
import { lineageFixture, tenRunLineage } from '../fixtures/webviews/lineageFixture.js';
import { assertClean, openView, screenshot, sharedBrowser, waitForPost, type ViewPage } from './harness.js';

/**
 * Each view in headless Chromium, loaded through the extension's HTML and CSP, fed fixtures through the fake VS Code
 * API. Asserts what is drawn and what is posted; screenshots go to test-results/webviews/*.png.
 */

const chromium = sharedBrowser();

type Posted = { type: string; payload: unknown };
type HistoryRequest = { requestId: number; runIds: number[]; metric: string; maxPoints: number };

/** Answers the view's latest history request with fixture histories, as the extension relays the runtime's. */
async function answerHistories(v: ViewPage, from = 0): Promise<HistoryRequest> {
  const req = (await waitForPost(v, 'requestHistories', from)).payload as HistoryRequest;
  await v.send({
    type: 'histories',
    payload: {
      requestId: req.requestId,
      metric: req.metric,
      histories: req.runIds.map((id) => makeHistory(id, req.metric, 60)),
    },
  });
  return req;
}

describe('compare view', () => {
  test('draws the runs table, histories, scatter and parallel coordinates; only-differences hides equal columns', async () => {
    const v = await openView(chromium(), 'compare');
    try {
      const table = runSummariesToTable(makeRuns(200, { params: 6, metrics: 4, tags: 2 }));
      await v.send({
        type: 'runs',
        payload: { query: { pipeline: 'recommender' }, table, total: 200, keyMetric: 'val/auc' },
      });
      const p = v.page;
      await p.locator('.grid-row').first().waitFor();
      assert.match(await p.locator('.count').innerText(), /^200 of 200 runs · 12 columns$/);
      const rows = await p.locator('.grid-row').count();
      assert.ok(rows > 10 && rows < 60, `only the visible rows are in the DOM (${rows})`);
      assert.equal(await p.locator('.grid-row[aria-rowindex="2"] .cell').nth(1).innerText(), '#1');
      const req = await answerHistories(v);
      assert.equal(req.metric, 'val/auc');
      assert.deepEqual(req.runIds, [1, 2, 3, 4, 5, 6, 7, 8]);
      await p.locator('.history .uplot canvas').waitFor();
      assert.equal(await p.locator('.legend li').count(), 8);
      await p.locator('.scatter .uplot canvas').waitFor();
      assert.match(
        (await p.locator('.parallel .plot').getAttribute('aria-label')) ?? '',
        /^Parallel coordinates of 200 runs over /,
      );

      // "Only what differs": `seed`, `p6`... are the same in every run and disappear.
      const headers = async (): Promise<string[]> => p.locator('.grid-header .hcell button').allInnerTexts();
      assert.ok((await headers()).includes('seed'));
      await p.getByLabel('Only what differs').check();
      assert.ok(!(await headers()).includes('seed'), 'equal column hidden');
      // Rows are reused while scrolling and refilled when columns change: never two elements for one row.
      const rowIndexes = await p
        .locator('.grid-row')
        .evaluateAll((els) => els.map((e) => e.getAttribute('aria-rowindex')));
      assert.equal(new Set(rowIndexes).size, rowIndexes.length, 'no duplicate rows');
      await p.locator('.grid').evaluate((g) => {
        g.scrollTop = 1500;
      });
      await p.waitForFunction(() => document.querySelector('.grid-row[aria-rowindex="70"]') !== null);
      const afterScroll = await p
        .locator('.grid-row')
        .evaluateAll((els) => els.map((e) => e.getAttribute('aria-rowindex')));
      assert.equal(new Set(afterScroll).size, afterScroll.length, 'no duplicate rows after scrolling');
      const cells = await p.locator('.grid-row[aria-rowindex="70"] .cell').allInnerTexts();
      assert.equal(cells[1], '#69', 'a reused row shows its new run');
      await p.locator('.grid').evaluate((g) => {
        g.scrollTop = 0;
      });
      await p.waitForFunction(() => document.querySelector('.grid-row[aria-rowindex="2"]') !== null);
      assert.match(await p.locator('.count').innerText(), /equal hidden/);
      await screenshot(v, 'compare');
      await assertClean(v);
    } finally {
      await v.close();
    }
  });

  test('sorts, filters and is usable from the keyboard; state survives a reload', async () => {
    const v = await openView(chromium(), 'compare');
    try {
      const table = runSummariesToTable(makeRuns(100, { params: 4, metrics: 3, tags: 1 }));
      await v.send({ type: 'runs', payload: { query: { runIds: [1, 2] }, table, total: 100 } });
      const p = v.page;
      await p.locator('.grid-row').first().waitFor();
      await answerHistories(v);
      // Sort by run id ascending then descending via the header button.
      await p.locator('.grid-header button[data-sort="run:id"]').click();
      assert.equal(await p.locator('.grid-row[aria-rowindex="2"] .cell').nth(1).innerText(), '#100');
      // Filter with a condition.
      await p.getByLabel('Filter runs').fill('lr=0.1 status=failed');
      await p.waitForFunction(() => document.querySelector('.count')?.textContent?.startsWith('7 of 100'));
      await p.getByLabel('Filter runs').fill('nosuch>1');
      await p.waitForFunction(() => document.querySelector('.note')?.textContent === 'No column named nosuch');
      await p.getByLabel('Filter runs').fill('');
      // The cleared filter applies on the next frame: the keys below must move over all 100 rows, not the old ones.
      await p.waitForFunction(() => document.querySelector('.count')?.textContent?.startsWith('100 of 100'));
      // Keyboard: focus the grid, move down twice, select with Space, open with Enter.
      const before = (await v.posted()).length;
      await p.locator('.grid').focus();
      await p.keyboard.press('ArrowDown');
      await p.keyboard.press('ArrowDown');
      await p.keyboard.press('Space');
      await p.keyboard.press('Enter');
      const open = await waitForPost(v, 'openRun', before);
      assert.deepEqual(open.payload, { runId: 98 });
      assert.equal(await p.locator('.grid-row[aria-selected="true"]').count(), 1);
      // Charts follow the table a frame later, so an earlier request may come first: wait for the one for the selection.
      await p.waitForFunction(
        (from) =>
          (window as unknown as { __posted: Array<{ type: string; payload: { runIds?: number[] } }> }).__posted
            .slice(from)
            .some((m) => m.type === 'requestHistories' && m.payload.runIds?.join() === '98'),
        before,
      );
      // State: the query and the UI are saved for a reload.
      const state = (await p.evaluate(() => (window as unknown as { __getState(): unknown }).__getState())) as {
        query: unknown;
        ui: { selected: number[]; sort: unknown };
      };
      assert.deepEqual(state.query, { runIds: [1, 2] });
      assert.deepEqual(state.ui.selected, [98]);
      assert.deepEqual(state.ui.sort, { key: 'run:id', dir: 'desc' });
      await assertClean(v);
      await v.close();

      const revived = await openView(chromium(), 'compare', { state });
      try {
        await revived.send({ type: 'runs', payload: { query: { runIds: [1, 2] }, table, total: 100 } });
        await revived.page.locator('.grid-row').first().waitFor();
        assert.equal(
          await revived.page.locator('.grid-row[aria-rowindex="2"] .cell').nth(1).innerText(),
          '#100',
          'sort restored',
        );
        assert.equal(await revived.page.locator('.grid-row[aria-selected="true"]').count(), 1, 'selection restored');
        await assertClean(revived);
      } finally {
        await revived.close();
      }
    } finally {
      await v.close();
    }
  });

  test('a large table arrives in chunks: the table paints first, charts wait for the last chunk', async () => {
    const v = await openView(chromium(), 'compare');
    try {
      const [head, ...tail] = chunkRunTable(
        runSummariesToTable(makeRuns(120, { params: 4, metrics: 3, tags: 1 })),
        50,
        40,
      );
      assert.equal(tail.length, 2);
      await v.send({ type: 'runs', payload: { query: {}, table: head, total: 120, pending: 70 } });
      const p = v.page;
      await p.waitForFunction(() =>
        document.querySelector('.count')?.textContent?.startsWith('50 of 120 runs (loading…)'),
      );
      await v.send({ type: 'patch', payload: { table: tail[0], pending: 30 } });
      await p.waitForFunction(() =>
        document.querySelector('.count')?.textContent?.startsWith('90 of 120 runs (loading…)'),
      );
      assert.equal(
        (await v.posted()).filter((m) => m.type === 'requestHistories').length,
        0,
        'no chart work while loading',
      );
      await v.send({ type: 'patch', payload: { table: tail[1], pending: 0 } });
      await p.waitForFunction(() => document.querySelector('.count')?.textContent?.startsWith('120 of 120 runs ·'));
      await answerHistories(v);
      await p.locator('.history .uplot canvas').waitFor();
      await assertClean(v);
    } finally {
      await v.close();
    }
  });

  test('an invalid message is dropped, reported to the extension, and not acted on', async () => {
    const v = await openView(chromium(), 'compare');
    try {
      await v.send({ type: 'runs', payload: { query: {}, table: { columns: [], rows: [{ id: 'x' }] }, total: 1 } });
      await v.send({ type: 'explode', payload: {} });
      const err = await waitForPost(v, 'error');
      assert.match((err.payload as { message: string }).message, /dropped invalid webview message 'runs'/);
      assert.equal(await v.page.locator('.grid-row').count(), 0);
      assert.deepEqual(await v.cspViolations(), []);
      const errors = (await v.posted()).filter((m: Posted) => m.type === 'error');
      assert.equal(errors.length, 2);
    } finally {
      await v.close();
    }
  });
});

describe('lineage view', () => {
  test('lays out the graph, marks stale nodes, and posts open/run for nodes', async () => {
    const v = await openView(chromium(), 'lineage', { width: 1280, height: 640 });
    try {
      await v.send({
        type: 'graph',
        payload: { query: { target: 'run:12' }, graph: lineageFixture(), focus: 'step:103' },
      });
      const p = v.page;
      await p.locator('.node').first().waitFor();
      assert.equal(await p.locator('.node').count(), 13);
      assert.equal(await p.locator('.edge').count(), 13);
      assert.equal(await p.locator('.node.stale').count(), 3);
      assert.match(await p.locator('.count').innerText(), /13 nodes · 13 edges · 3 stale/);
      // Laid out left to right: data before the model before the deployment.
      const x = async (id: string): Promise<number> => (await p.locator(`[data-id="${id}"]`).boundingBox())?.x ?? -1;
      assert.ok((await x('data:data/ratings.csv@a1b2')) < (await x('step:103')));
      assert.ok((await x('step:103')) < (await x('model:recommender@3')));
      assert.ok((await x('model:recommender@3')) < (await x('deployment:7')));
      // The focused node is selected and described.
      assert.match(await p.locator('.details').innerText(), /train[\s\S]*stale: upstream split is stale/);
      await screenshot(v, 'lineage');

      const before = (await v.posted()).length;
      await p.getByRole('button', { name: 'Re-run from here' }).click();
      assert.deepEqual((await waitForPost(v, 'run', before)).payload, { nodeId: 'step:103' });
      await p.locator('[data-id="artifact:abcd01"]').dblclick();
      assert.deepEqual((await waitForPost(v, 'open', before)).payload, { nodeId: 'artifact:abcd01' });
      // Keyboard: focus a node, Enter opens it.
      await p.locator('[data-id="data:data/movies.csv@9f8e"]').focus();
      await p.keyboard.press('Enter');
      await p.waitForFunction(() =>
        (window as unknown as { __posted: Array<{ type: string; payload: { nodeId?: string } }> }).__posted.some(
          (m) => m.payload.nodeId === 'data:data/movies.csv@9f8e',
        ),
      );
      // A dataset cannot be run: R does nothing.
      const count = (await v.posted()).length;
      await p.keyboard.press('r');
      assert.equal((await v.posted()).length, count);
      await assertClean(v);
    } finally {
      await v.close();
    }
  });

  test('after 10 runs: the run itself, files by name, other runs folded into a count that expands', async () => {
    const v = await openView(chromium(), 'lineage', { width: 1280, height: 720 });
    try {
      const g = tenRunLineage();
      await v.send({ type: 'graph', payload: { query: { target: 'run:5' }, graph: g } });
      const p = v.page;
      const fold = p.locator('.node.fold');
      await fold.waitFor();
      const steps = await p.locator('.node.kind-step .detail').allTextContents();
      assert.equal(steps.length, 7);
      assert.ok(
        steps.every((t) => t.startsWith('run #5')),
        `only run 5's steps: ${steps.join(', ')}`,
      );
      const shown = await p.locator('.node:not(.fold)').count();
      const folded = g.nodes.length - shown;
      assert.match((await fold.locator('.label').textContent()) ?? '', new RegExp(`^\\+${folded} of other runs`));
      const count = `^${g.nodes.length} nodes · ${g.edges.length} edges( · \\d+ stale)? · ${folded} of other runs folded$`;
      assert.match(await p.locator('.count').innerText(), new RegExp(count));
      // A file is labelled by its name; its path is the node's title (the hover text).
      const testPath = p.locator('title', { hasText: '.cairn/work/split/test.csv' });
      const test = p.locator('.node.kind-artifact', { has: testPath });
      assert.equal(await test.locator('.label').textContent(), '◆ test.csv');
      await screenshot(v, 'lineage-10-runs');
      await fold.click();
      await p.locator('.node.fold').waitFor({ state: 'detached' });
      assert.equal(await p.locator('.node').count(), g.nodes.length);
      await p.getByRole('button', { name: 'Fold other runs' }).click();
      await fold.waitFor();
      assert.equal(await p.locator('.node:not(.fold)').count(), shown);
      await assertClean(v);
    } finally {
      await v.close();
    }
  });

  test('a graph with an edge to an unknown node is rejected', async () => {
    const v = await openView(chromium(), 'lineage');
    try {
      const g = lineageFixture();
      g.edges.push({ from: 'step:101', to: 'nowhere' });
      await v.send({ type: 'graph', payload: { query: { target: 'run:12' }, graph: g } });
      const err = await waitForPost(v, 'error');
      assert.match((err.payload as { message: string }).message, /edge to 'nowhere' is not a node/);
      assert.equal(await v.page.locator('.node').count(), 0);
    } finally {
      await v.close();
    }
  });
});

describe('drift view', () => {
  test('shows the statistics table, the distributions of the chosen feature and drift over windows', async () => {
    const v = await openView(chromium(), 'drift', { width: 1280, height: 760 });
    try {
      await v.send({ type: 'report', payload: { query: { reportId: 'report-42' }, report: driftReportFixture() } });
      const p = v.page;
      await p.locator('.stats tbody tr').first().waitFor();
      assert.equal(await p.locator('.stats tbody tr').count(), 4);
      assert.match(
        await p.locator('.toolbar').innerText(),
        /dataset drift[\s\S]*2 of 4 features drifted \(50%; dataset threshold 50%\)/,
      );
      assert.deepEqual(await p.locator('.stats tbody tr .badge').allInnerTexts(), ['drifted', 'ok', 'drifted', 'ok']);
      await p.locator('.dist .uplot canvas').waitFor();
      assert.match(
        (await p.locator('.dist .plot').getAttribute('aria-label')) ?? '',
        /^age: reference and current distributions over 20 bins$/,
      );
      await p.locator('.windows .uplot canvas').waitFor();
      assert.equal(await p.locator('.heat-table td.hot').count(), 6);
      // One column per window, labelled by its start as briefly as tells them apart, with its row count.
      const starts = await p.locator('.heat-table thead tr:first-child th.num').allInnerTexts();
      assert.equal(starts.length, 6);
      assert.equal(new Set(starts).size, 6, `distinct window labels: ${starts.join(', ')}`);
      assert.ok(
        starts.every((l) => l.length <= 11),
        `short window labels: ${starts.join(', ')}`,
      );
      assert.deepEqual(await p.locator('.heat-table thead tr.rows th.num').allInnerTexts(), [
        '300',
        '300',
        '300',
        '300',
        '300',
        '300',
      ]);
      await screenshot(v, 'drift');
      // Keyboard: move to the categorical feature `genre`.
      await p.locator('.stats').focus();
      await p.keyboard.press('ArrowDown');
      await p.keyboard.press('ArrowDown');
      await p.waitForFunction(() =>
        document
          .querySelector('.dist .plot')
          ?.getAttribute('aria-label')
          ?.startsWith('genre: reference and current distributions over 5 categories'),
      );
      await screenshot(v, 'drift-categorical');
      const state = (await p.evaluate(() => (window as unknown as { __getState(): unknown }).__getState())) as {
        ui: { feature: string };
      };
      assert.equal(state.ui.feature, 'genre');
      await assertClean(v);
    } finally {
      await v.close();
    }
  });
});
