import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runSummariesToTable } from '@cairn/protocol';
import type { RunTable } from '@cairn/protocol/webviews/compare.js';
import { makeRuns } from '../fixtures/webviews/compareFixture.js';
import { cellValue, columnIndexOf } from '../../webviews/src/compare/model.js';
import { formatTime, formatValue } from '../../webviews/src/kit/format.js';
import { assertClean, openView, sharedBrowser, type ViewPage } from './harness.js';

/**
 * The runs table's recycled DOM (webviews/src/compare/grid.ts) in headless Chromium: rows and columns are both
 * virtualized and their elements rebound as the table scrolls, so after every kind of scroll each drawn cell must
 * still show its own run's value, in column order, under the right header, with one active cell.
 */

const chromium = sharedBrowser();

interface Snapshot {
  header: Array<{ col: number; key: string }>;
  rows: Array<{
    rowIndex: number;
    selected: boolean;
    cells: Array<{ col: number; text: string; active: boolean; id: string }>;
  }>;
  activeDescendant: string | null;
  actives: number;
}

/** Everything the grid draws, read from the DOM in document order. */
async function snapshot(v: ViewPage): Promise<Snapshot> {
  return v.page.evaluate(() => {
    const colOf = (el: Element): number => Number(el.getAttribute('aria-colindex'));
    return {
      header: Array.from(document.querySelectorAll('.grid-header .hcell')).map((el) => ({
        col: colOf(el),
        key: el.querySelector('button')?.getAttribute('data-sort') ?? '',
      })),
      rows: Array.from(document.querySelectorAll('.grid-row')).map((row) => ({
        rowIndex: Number(row.getAttribute('aria-rowindex')),
        selected: row.getAttribute('aria-selected') === 'true',
        cells: Array.from(row.querySelectorAll('.cell')).map((c) => ({
          col: colOf(c),
          text: c.textContent ?? '',
          active: c.classList.contains('active'),
          id: c.id,
        })),
      })),
      activeDescendant: document.querySelector('.grid')?.getAttribute('aria-activedescendant') ?? null,
      actives: document.querySelectorAll('.grid .active').length,
    };
  });
}

/**
 * Checks a snapshot against the table (unsorted, unfiltered: display position p shows run p + 1): every row once,
 * its run's values under the header's columns, cells in ascending contiguous column order, pinned ones first.
 */
function assertConsistent(s: Snapshot, table: RunTable): void {
  const index = columnIndexOf(table);
  const keyOf = new Map(s.header.map((hcell) => [hcell.col, hcell.key]));
  const rowIndexes = s.rows.map((r) => r.rowIndex);
  assert.equal(new Set(rowIndexes).size, rowIndexes.length, 'each row drawn once');
  assert.ok(s.rows.length > 0, 'rows are drawn');
  const scrollCols = s.header.map((hcell) => hcell.col).filter((c) => c > 3);
  for (const r of s.rows) {
    const run = table.rows[r.rowIndex - 2];
    assert.ok(run, `row ${r.rowIndex} exists in the table`);
    const cols = r.cells.map((c) => c.col);
    assert.deepEqual(cols.slice(0, 3), [1, 2, 3], `row ${r.rowIndex}: pinned cells first`);
    assert.deepEqual(cols.slice(3), scrollCols, `row ${r.rowIndex}: the header's columns, in order`);
    assert.equal(r.cells[1]?.text, `#${run.id}`, `row ${r.rowIndex} shows run ${run.id}`);
    assert.equal(r.cells[2]?.text, run.status);
    for (const cell of r.cells.slice(3)) {
      const key = keyOf.get(cell.col) ?? '';
      const v = cellValue(index, run, key);
      const expected = key === 'run:startedAt' && typeof v === 'number' ? formatTime(v) : formatValue(v);
      assert.equal(cell.text, expected, `row ${r.rowIndex}, column ${key}`);
    }
  }
}

/** Scrolls the grid and waits for the frame that redraws it. */
async function scrollTo(v: ViewPage, left: number, top: number): Promise<void> {
  await v.page.evaluate(
    ([x, y]) =>
      new Promise<void>((resolve) => {
        const g = document.querySelector('.grid');
        if (!g) throw new Error('no grid');
        g.scrollLeft = x;
        g.scrollTop = y;
        // The scroll event is handled before the next frame; the grid renders in that frame's callbacks.
        requestAnimationFrame(() => requestAnimationFrame(() => resolve()));
      }),
    [left, top] as const,
  );
}

describe('compare view: the recycled runs table', () => {
  test('rows and columns stay right through scrolling down, across, jumps and a change of columns', async () => {
    const v = await openView(chromium(), 'compare', { width: 1280, height: 800 });
    try {
      const table = runSummariesToTable(makeRuns(2000, { params: 15, metrics: 30, tags: 5 }));
      await v.send({ type: 'runs', payload: { query: {}, table, total: table.rows.length } });
      await v.page.locator('.grid-row').first().waitFor();
      let s = await snapshot(v);
      assertConsistent(s, table);
      const drawnCols = s.header.filter((hcell) => hcell.col > 3).length;
      assert.ok(drawnCols >= 5 && drawnCols < 30, `only the visible columns are drawn (${drawnCols} of 52)`);
      assert.ok(
        s.rows.length >= 10 && s.rows.length < 40,
        `only the visible rows are drawn (${s.rows.length} of 2000)`,
      );

      // Across a little at a time (columns leave on the left and come in on the right), then back.
      for (let x = 0; x <= 1500; x += 250) {
        await scrollTo(v, x, 0);
        assertConsistent(await snapshot(v), table);
      }
      await scrollTo(v, 400, 0);
      assertConsistent(await snapshot(v), table);
      // Down a few rows, then jumps in both directions at once (no row or column in common with the last frame).
      await scrollTo(v, 400, 24 * 5);
      assertConsistent(await snapshot(v), table);
      // A jump across alone: the same rows, no column in common.
      const before = new Set((await snapshot(v)).header.map((hcell) => hcell.col).filter((c) => c > 3));
      await scrollTo(v, 4000, 24 * 5);
      s = await snapshot(v);
      assert.ok(!s.header.some((hcell) => before.has(hcell.col)), 'no column in common with the last frame');
      assertConsistent(s, table);
      await scrollTo(v, 5000, 24 * 900);
      s = await snapshot(v);
      assertConsistent(s, table);
      assert.ok(
        s.rows.some((r) => r.rowIndex > 900),
        'the jump drew rows far down',
      );
      await scrollTo(v, 0, 24 * 100);
      assertConsistent(await snapshot(v), table);

      // A change of columns ("only what differs") rebinds every drawn cell to the new columns.
      await v.page.getByLabel('Only what differs').check();
      await v.page.waitForFunction(() => /equal hidden/.test(document.querySelector('.count')?.textContent ?? ''));
      await scrollTo(v, 300, 24 * 100);
      s = await snapshot(v);
      assertConsistent(s, table);
      assert.ok(!s.header.some((hcell) => hcell.key === 'param:seed'), 'the equal column is gone');
      await assertClean(v);
    } finally {
      await v.close();
    }
  });

  test('one active cell follows the keyboard and clicks across virtualized columns, named by aria-activedescendant', async () => {
    const v = await openView(chromium(), 'compare', { width: 1000, height: 700 });
    try {
      const table = runSummariesToTable(makeRuns(300, { params: 15, metrics: 30, tags: 5 }));
      await v.send({ type: 'runs', payload: { query: {}, table, total: table.rows.length } });
      const p = v.page;
      await p.locator('.grid-row').first().waitFor();
      await p.locator('.grid').focus();
      // End: the last of 55 columns, far outside the first window; the grid scrolls to it.
      await p.keyboard.press('End');
      await p.waitForFunction(() => document.getElementById('cell-0-54') !== null);
      let s = await snapshot(v);
      assert.equal(s.activeDescendant, 'cell-0-54');
      assert.equal(s.actives, 1, 'one active cell');
      const active = s.rows.flatMap((r) => r.cells.filter((c) => c.active).map((c) => ({ row: r.rowIndex, ...c })));
      assert.deepEqual(
        active.map((c) => [c.row, c.col, c.id]),
        [[2, 55, 'cell-0-54']],
      );
      assertConsistent(s, table);
      // Down a page and back to the first column.
      await p.keyboard.press('PageDown');
      await p.keyboard.press('Home');
      s = await snapshot(v);
      assert.match(s.activeDescendant ?? '', /^cell-\d+-0$/);
      assert.notEqual(s.activeDescendant, 'cell-0-0');
      assert.equal(s.actives, 1);
      assert.ok(await p.locator(`#${s.activeDescendant ?? ''}`).isVisible(), 'the active cell is drawn');
      // A click on a scrollable cell makes it active (its column comes from aria-colindex).
      await scrollTo(v, 900, 0);
      const target = p.locator('.grid-row[aria-rowindex="4"] .cell').nth(5);
      const col = Number(await target.getAttribute('aria-colindex')) - 1;
      await target.click();
      s = await snapshot(v);
      assert.equal(s.activeDescendant, `cell-2-${col}`);
      assert.equal(await p.locator(`#cell-2-${col}`).getAttribute('aria-colindex'), String(col + 1));
      assert.equal(s.actives, 1);
      // Space selects the active row's run; the row is marked and stays consistent.
      await p.keyboard.press('Space');
      await p.waitForFunction(
        () => document.querySelector('.grid-row[aria-rowindex="4"]')?.getAttribute('aria-selected') === 'true',
      );
      s = await snapshot(v);
      assert.deepEqual(
        s.rows.filter((r) => r.selected).map((r) => r.rowIndex),
        [4],
      );
      assertConsistent(s, table);
      await assertClean(v);
    } finally {
      await v.close();
    }
  });
});
