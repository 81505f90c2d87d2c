// First import: configures zod before any schema exists (see kit/noEval.ts).
import '../kit/noEval.js';
import { z } from 'zod';
import type { MetricHistory } from '@cairn/protocol/runtime/model.js';
import { assertNeverMessage } from '@cairn/protocol/webviews/common.js';
import {
  compareViewStateSchema,
  compareToViewSchema,
  type CompareColumn,
  type CompareFromView,
  type CompareQuery,
  type CompareSort,
  type CompareToView,
  type RunTable,
} from '@cairn/protocol/webviews/compare.js';
import '../kit/base.css';
import './compare.css';
import { connectView } from '../kit/bridge.js';
import { h, select, showBanner } from '../kit/dom.js';
import { seriesColor } from '../kit/theme.js';
import { HistoryChart, ParallelChart, ScatterChart } from './charts.js';
import { RunGrid } from './grid.js';
import {
  differingColumns,
  filterRows,
  fixedColumns,
  mergeTables,
  numericColumns,
  parseFilter,
  sortRows,
} from './model.js';
import { RowWindow } from './window.js';

/** Compare view: the runs table (sort, filter, only what differs), metric histories, scatter, parallel coordinates. */

const uiSchema = z.object({
  sort: z.object({ key: z.string(), dir: z.enum(['asc', 'desc']) }).optional(),
  filter: z.string().default(''),
  onlyDiffer: z.boolean().default(false),
  metric: z.string().optional(),
  scatterX: z.string().optional(),
  scatterY: z.string().optional(),
  selected: z.array(z.number().int()).default([]),
});
type Ui = z.infer<typeof uiSchema>;
const stateSchema = compareViewStateSchema.extend({ ui: uiSchema });
type State = z.infer<typeof stateSchema>;

/** Runs charted when none is selected: the first ones in table order. */
const DEFAULT_CHARTED = 8;
/** A windowed view's charts show this many runs: the first in table order (labelled, never passed off as all). */
const WINDOW_CHARTED = 1000;

const bridge = connectView<CompareToView, CompareFromView, State>({
  incoming: compareToViewSchema,
  state: stateSchema,
  onMessage,
});
const restored = bridge.restoredState();
const ui: Ui = restored?.ui ?? uiSchema.parse({});
let query: CompareQuery = restored?.query ?? {};
let table: RunTable | undefined;
let total = 0;
let keyMetric: string | undefined;
let order: number[] = [];
let charted: number[] = [];
let requestId = 0;
let recomputeFrame = 0;
/** Rows still being delivered: charts wait for them, the table does not. */
let pending = 0;
/** More runs than the view holds (`runs.window`): pages by position, sorted and filtered by the runtime. */
let win: RowWindow | undefined;

const root = document.getElementById('root') ?? document.body;
const grid = new RunGrid({
  onSort: (key) => {
    if (win && !runtimeSortable(key)) {
      filterNote.textContent = `Over 10,000 runs the runtime sorts; it cannot sort by ${key} (a tag)`;
      return;
    }
    ui.sort = ui.sort?.key === key ? { key, dir: ui.sort.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: 'desc' };
    if (win) restartWindow();
    recompute();
  },
  onToggle: (runId) => {
    const s = new Set(ui.selected);
    if (s.has(runId)) s.delete(runId);
    else s.add(runId);
    ui.selected = [...s];
    recompute();
  },
  onOpen: (runId) => bridge.post({ type: 'openRun', payload: { runId } }),
  onRange: (first, last) => askPages(first, last),
});
const history = new HistoryChart();
const scatter = new ScatterChart();
const parallel = new ParallelChart();

const filterInput = h('input', {
  type: 'search',
  placeholder: 'Filter: words, or lr>=0.01 status=failed',
  'aria-label': 'Filter runs',
  value: ui.filter,
});
filterInput.value = ui.filter;
filterInput.addEventListener('input', () => {
  ui.filter = filterInput.value;
  if (win) restartWindowSoon();
  else schedule();
});
const differ = h('input', { type: 'checkbox', id: 'only-differ', checked: ui.onlyDiffer });
differ.addEventListener('change', () => {
  ui.onlyDiffer = differ.checked;
  recompute();
});
const count = h('span', { className: 'count', 'aria-live': 'polite' });
const filterNote = h('span', { className: 'note', role: 'status' });
const clearSel = h('button', { title: 'Clear the selection (charts show the first runs)' }, 'Clear selection');
clearSel.addEventListener('click', () => {
  ui.selected = [];
  recompute();
});
/** What the charts show of a windowed view (the first runs in table order). */
const chartsNote = h('span', { className: 'note charts-note', role: 'status', hidden: true });
const metricSlot = h('span');
const scatterSlot = h('span');

root.append(
  h(
    'div',
    { className: 'toolbar' },
    filterInput,
    h('label', { className: 'field', for: 'only-differ' }, differ, h('span', {}, 'Only what differs')),
    clearSel,
    filterNote,
    chartsNote,
    h('span', { className: 'grow' }),
    count,
  ),
  h('div', { className: 'table-area' }, grid.element),
  h(
    'div',
    { className: 'charts' },
    h(
      'section',
      { className: 'panel history', 'aria-label': 'Metric history' },
      h('header', {}, h('h2', {}, 'History'), metricSlot),
      h('div', { className: 'body split' }, history.plot, history.legend),
    ),
    h(
      'section',
      { className: 'panel scatter', 'aria-label': 'Scatter' },
      h('header', {}, h('h2', {}, 'Scatter'), scatterSlot),
      h('div', { className: 'body' }, scatter.plot),
    ),
    h(
      'section',
      { className: 'panel parallel', 'aria-label': 'Parallel coordinates' },
      h('header', {}, h('h2', {}, 'Parallel coordinates')),
      h('div', { className: 'body' }, parallel.element),
    ),
  ),
);
grid.mount();
if (!restored) history.clear('Waiting for runs…');

function onMessage(message: CompareToView): void {
  switch (message.type) {
    case 'runs':
      performance.mark('cairn:runs-received');
      root.querySelector('.banner')?.remove();
      table = message.payload.table;
      total = message.payload.total;
      pending = message.payload.pending ?? 0;
      query = message.payload.query;
      keyMetric = message.payload.keyMetric;
      win = message.payload.window ? new RowWindow(message.payload.window.pageSize, table, total) : undefined;
      differ.disabled = win !== undefined;
      chartsNote.hidden = win === undefined;
      differ.title = win ? 'Over 10,000 runs the view does not hold every run to compare them' : '';
      // A restored sort or filter is the runtime's to apply: the first page is in the default order.
      if (win && (ui.sort || ui.filter.trim() !== '')) restartWindow();
      recompute();
      performance.mark('cairn:runs-rendered');
      // Runs just before the frame that shows the table is painted (bench/ui measures to here).
      requestAnimationFrame(() => performance.mark('cairn:runs-painted'));
      return;
    case 'patch':
      if (win) {
        if (win.patch(message.payload.table)) recompute();
        return;
      }
      table = table ? mergeTables(table, message.payload.table) : message.payload.table;
      total = Math.max(total, table.rows.length);
      pending = message.payload.pending ?? 0;
      recompute();
      if (pending === 0) performance.mark('cairn:runs-complete');
      return;
    case 'rowsPage': {
      const { generation, page, table: rows, total: matched } = message.payload;
      if (!win?.accept(generation, page, rows, matched)) return;
      const counted = total === matched;
      total = matched;
      // The charts show the first rows: redrawn when those come (after a sort or filter).
      if (!counted || page * win.pageSize < WINDOW_CHARTED) recompute();
      else grid.refresh();
      return;
    }
    case 'histories':
      if (message.payload.requestId === requestId) showHistories(message.payload.metric, message.payload.histories);
      return;
    case 'error':
      showBanner(root, message.payload.message, message.payload.hint);
      return;
    default:
      assertNeverMessage(message);
  }
}

function schedule(): void {
  if (recomputeFrame !== 0) return;
  recomputeFrame = requestAnimationFrame(() => {
    recomputeFrame = 0;
    recompute();
  });
}

/** Sort keys the runtime pages by (runSortSchema): fixed columns, params and metrics, not tags. */
function runtimeSortable(key: string): boolean {
  return !key.startsWith('tag:');
}

/** Charts of a windowed view: the first rows it holds in table order, and a note that says so. */
function chartWindow(w: RowWindow, selected: ReadonlySet<number>): void {
  const head: RunTable = { columns: w.columns, rows: w.head(WINDOW_CHARTED) };
  table = head;
  order = head.rows.map((_r, i) => i);
  chartsNote.hidden = false;
  chartsNote.textContent =
    head.rows.length === 0
      ? 'Charts wait for the first runs in table order.'
      : `Charts show the first ${head.rows.length.toLocaleString()} of ${total.toLocaleString()} runs in table order.`;
  chartsAfterPaint(head, new Set(differingColumns(head, order)), selected);
}

let restartTimer: ReturnType<typeof setTimeout> | undefined;
/** A restart scrolled to the top and the grid has not drawn it yet: no pages asked for the old position. */
let toTop = false;
/** Typing in the filter of a windowed view: one runtime query once the typing pauses, not one per key. */
function restartWindowSoon(): void {
  clearTimeout(restartTimer);
  restartTimer = setTimeout(() => {
    restartWindow();
    recompute();
  }, 150);
}

/** A windowed view's sort or filter changed: a new generation of pages, from the top. */
function restartWindow(): void {
  if (!win) return;
  win.reset();
  // The grid learns of the scroll to the top on its next scroll event: until then it still draws the old rows.
  toTop = grid.range[0] > 0;
  grid.element.scrollTop = 0;
  if (ui.sort && !runtimeSortable(ui.sort.key)) ui.sort = undefined;
  const { conditions } = parseFilter(ui.filter);
  filterNote.textContent =
    conditions.length > 0
      ? 'Over 10,000 runs the filter matches text in pipeline, user, host, status or tags, not conditions such as lr>=0.01'
      : '';
}

/** Asks the host for the pages rows first..last need (nothing when the last request asked for the same). */
function askPages(first: number, last: number): void {
  if (!win) return;
  if (toTop) {
    if (first > 0) return;
    toTop = false;
  }
  win.evict(first, last);
  const pages = win.request(first, last);
  if (!pages) return;
  const text = parseFilter(ui.filter).terms.join(' ');
  const sort: CompareSort | undefined = ui.sort && runtimeSortable(ui.sort.key) ? ui.sort : undefined;
  bridge.post({
    type: 'requestPages',
    payload: {
      generation: win.generation,
      pages,
      columns: win.columns.map((c) => c.key),
      ...(sort ? { sort } : {}),
      ...(text ? { text: text.slice(0, 200) } : {}),
    },
  });
}

function showCount(): void {
  if (!win) return;
  count.textContent = `${total.toLocaleString()} runs · sorted and filtered by the runtime · ${win.columns.length} columns`;
}

/** A windowed view: the rows come by position from the window, the runtime has sorted and filtered them. */
function recomputeWindow(w: RowWindow): void {
  showCount();
  const fixed = fixedColumns.filter((c) => c.key === 'run:pipeline' || c.key === 'run:startedAt');
  const selected = new Set(ui.selected);
  const empty: RunTable = { columns: w.columns, rows: [] };
  grid.setData({
    table: empty,
    order: [],
    source: { count: w.total, at: (pos) => w.row(pos) },
    columns: [...fixed, ...w.columns],
    selected,
    sort: ui.sort,
  });
  chartWindow(w, selected);
  bridge.saveState({ query, ui });
}

function recompute(): void {
  bridge.saveState({ query, ui });
  if (!table) return;
  if (win) {
    recomputeWindow(win);
    return;
  }
  const t = table;
  const filtered = filterRows(t, ui.filter);
  filterNote.textContent =
    filtered.unknownColumns.length > 0 ? `No column named ${filtered.unknownColumns.join(', ')}` : '';
  order = ui.sort ? sortRows(t, filtered.rows, ui.sort.key, ui.sort.dir) : filtered.rows;
  const differing = new Set(differingColumns(t, order));
  const shown = t.columns.filter((_c, i) => !ui.onlyDiffer || differing.has(i));
  const fixed = fixedColumns.filter((c) => c.key === 'run:pipeline' || c.key === 'run:startedAt');
  const hidden = t.columns.length - shown.length;
  count.textContent = `${order.length.toLocaleString()} of ${total.toLocaleString()} runs${pending > 0 ? ' (loading…)' : ''} · ${shown.length} columns${hidden > 0 ? ` (${hidden} equal hidden)` : ''}`;
  const selected = new Set(ui.selected);
  grid.setData({ table: t, order, columns: [...fixed, ...shown], selected, sort: ui.sort });

  if (pending === 0) chartsAfterPaint(t, differing, selected);
  bridge.saveState({ query, ui });
}

let chartsFrame = 0;
/** Charts are drawn after the table has painted: the table is what the user reads first. */
function chartsAfterPaint(t: RunTable, differing: ReadonlySet<number>, selected: ReadonlySet<number>): void {
  cancelAnimationFrame(chartsFrame);
  chartsFrame = requestAnimationFrame(() => {
    chartsFrame = 0;
    setTimeout(() => drawCharts(t, differing, selected), 0);
  });
}

function drawCharts(t: RunTable, differing: ReadonlySet<number>, selected: ReadonlySet<number>): void {
  if (t !== table) return;
  const numeric = numericColumns(t);
  const metrics = numeric.filter((c) => c.group === 'metric');
  const metricNames = metrics.map((c) => c.name);
  if (ui.metric === undefined || !metricNames.includes(ui.metric))
    ui.metric = keyMetric && metricNames.includes(keyMetric) ? keyMetric : metricNames[0];
  const diffNumeric = numeric.filter((c) => differing.has(t.columns.indexOf(c)));
  const byKey = (k: string | undefined): CompareColumn | undefined => numeric.find((c) => c.key === k);
  const xCol = byKey(ui.scatterX) ?? diffNumeric.find((c) => c.group === 'param') ?? numeric[0];
  const yCol = byKey(ui.scatterY) ?? metrics.find((c) => c.name === ui.metric) ?? metrics[0];
  ui.scatterX = xCol?.key;
  ui.scatterY = yCol?.key;
  const options = numeric.map((c) => ({
    value: c.key,
    label: `${c.group === 'param' ? 'param' : c.group}: ${c.name}`,
  }));
  metricSlot.replaceChildren(
    select(
      'Metric',
      metrics.map((c) => ({ value: c.name, label: c.name })),
      ui.metric ?? '',
      (v) => {
        ui.metric = v;
        requestHistories();
        bridge.saveState({ query, ui });
      },
    ),
  );
  scatterSlot.replaceChildren(
    select('X', options, ui.scatterX ?? '', (v) => {
      ui.scatterX = v;
      recompute();
    }),
    select('Y', options, ui.scatterY ?? '', (v) => {
      ui.scatterY = v;
      recompute();
    }),
  );
  if (xCol && yCol) scatter.show(t, order, xCol, yCol, selected);
  else scatter.clear('No numeric columns to plot.');
  const key = metrics.find((c) => c.name === ui.metric);
  const axes = [
    ...diffNumeric.filter((c) => c.group === 'param').slice(0, 6),
    ...diffNumeric.filter((c) => c.group === 'metric' && c !== key).slice(0, 1),
    ...(key ? [key] : []),
  ];
  parallel.show(t, order, axes, selected);

  const nextCharted =
    ui.selected.length > 0
      ? ui.selected.slice(0, 1000)
      : order
          .slice(0, DEFAULT_CHARTED)
          .map((r) => t.rows[r]?.id ?? -1)
          .filter((id) => id >= 0);
  if (nextCharted.join(',') !== charted.join(',')) {
    charted = nextCharted;
    requestHistories();
  }
  bridge.saveState({ query, ui });
  performance.mark('cairn:charts-drawn');
}

function requestHistories(): void {
  if (!ui.metric || charted.length === 0) {
    history.clear(ui.metric ? 'No runs to chart.' : 'These runs have no metrics.');
    return;
  }
  requestId++;
  // Keep the total number of points drawn bounded (~200k) however many runs are overlaid.
  const maxPoints = Math.max(10, Math.min(2000, Math.floor(200_000 / charted.length)));
  bridge.post({ type: 'requestHistories', payload: { requestId, runIds: charted, metric: ui.metric, maxPoints } });
}

function showHistories(metric: string, histories: MetricHistory[]): void {
  const colors = new Map(charted.map((id, i) => [id, seriesColor(i)]));
  history.show(metric, histories, (id) => colors.get(id) ?? seriesColor(0));
}
