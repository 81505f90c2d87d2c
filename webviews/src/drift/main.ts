// First import: configures zod before any schema exists (see kit/noEval.ts).
import '../kit/noEval.js';
import uPlot from 'uplot';
import { z } from 'zod';
import { assertNeverMessage } from '@cairn/protocol/webviews/common.js';
import { driftTestNames, isPValueTest, type TitledDriftReport } from '@cairn/protocol/drift.js';
import {
  driftToViewSchema,
  driftViewStateSchema,
  type DriftFromView,
  type DriftQuery,
  type DriftToView,
} from '@cairn/protocol/webviews/drift.js';
import '../kit/base.css';
import './drift.css';
import { connectView } from '../kit/bridge.js';
import { mountChart, themedAxes } from '../kit/chart.js';
import { h, showBanner } from '../kit/dom.js';
import { formatNumber, formatTime } from '../kit/format.js';
import { readTheme } from '../kit/theme.js';
import { chartBins, computedTests } from './bins.js';

/**
 * Drift view: the statistics table (test, score, threshold, verdict per feature), the selected feature's reference
 * and current distributions from the runtime's bin counts, and drift across time windows.
 */

const uiSchema = z.object({ feature: z.string().optional() });
const stateSchema = driftViewStateSchema.extend({ ui: uiSchema });
type State = z.infer<typeof stateSchema>;

const bridge = connectView<DriftToView, DriftFromView, State>({
  incoming: driftToViewSchema,
  state: stateSchema,
  onMessage,
});
const restored = bridge.restoredState();
let query: DriftQuery | undefined = restored?.query;
const ui: State['ui'] = restored?.ui ?? {};
let report: TitledDriftReport | undefined;
let distChart: { dispose(): void } | undefined;
let windowChart: { dispose(): void } | undefined;

const root = document.getElementById('root') ?? document.body;
const header = h('div', { className: 'toolbar' }, h('span', { className: 'muted' }, 'Waiting for a drift report…'));
const statsBody = h('tbody');
const stats = h(
  'table',
  { className: 'plain stats', role: 'grid', 'aria-label': 'Drift per feature' },
  h(
    'thead',
    {},
    h(
      'tr',
      {},
      ...['feature', 'type', 'test', 'score', 'threshold', 'p-value', 'verdict', 'other tests'].map((t, i) =>
        h('th', { className: i >= 3 && i <= 5 ? 'num' : '' }, t),
      ),
    ),
  ),
  statsBody,
);
const distTitle = h('h2', {}, 'Distribution');
const distPlot = h('div', { className: 'plot', role: 'img' });
const distNote = h('span', { className: 'muted' });
const windowPlot = h('div', { className: 'plot', role: 'img' });
const heat = h('div', { className: 'heat' });
root.append(
  header,
  h(
    'div',
    { className: 'drift' },
    h(
      'section',
      { className: 'panel stats-panel', 'aria-label': 'Statistics' },
      h('header', {}, h('h2', {}, 'Statistics'), h('span', { className: 'muted' }, '↑↓ to choose a feature')),
      h('div', { className: 'body scroll' }, stats),
    ),
    h(
      'section',
      { className: 'panel dist', 'aria-label': 'Reference and current distributions' },
      h(
        'header',
        {},
        distTitle,
        distNote,
        h('span', { className: 'grow' }),
        h('span', { className: 'key ref' }, 'reference'),
        h('span', { className: 'key cur' }, 'current'),
      ),
      h('div', { className: 'body' }, distPlot),
    ),
    h(
      'section',
      { className: 'panel windows', 'aria-label': 'Drift over time windows' },
      h(
        'header',
        {},
        h('h2', {}, 'Over time'),
        h('span', { className: 'muted' }, "share of drifted features per window; cells: each feature's score"),
      ),
      h('div', { className: 'body windows-body' }, windowPlot, heat),
    ),
  ),
);

function onMessage(message: DriftToView): void {
  switch (message.type) {
    case 'report':
      root.querySelector('.banner')?.remove();
      query = message.payload.query;
      report = message.payload.report;
      draw();
      return;
    case 'error':
      showBanner(root, message.payload.message, message.payload.hint);
      return;
    default:
      assertNeverMessage(message);
  }
}

function save(): void {
  if (query) bridge.saveState({ query, ui });
}

function draw(): void {
  const r = report;
  if (!r) return;
  header.replaceChildren(
    h('strong', {}, r.title),
    h(
      'span',
      { className: `badge ${r.datasetDrifted ? 'bad' : 'good'}` },
      r.datasetDrifted ? 'dataset drift' : 'no dataset drift',
    ),
    h(
      'span',
      {},
      `${r.driftedColumns} of ${r.testedColumns} features drifted (${Math.round(r.shareDrifted * 100)}%; dataset threshold ${Math.round(r.shareThreshold * 100)}%)`,
    ),
    h('span', { className: 'grow' }),
    h(
      'span',
      { className: 'muted' },
      `reference ${r.referenceRows.toLocaleString()} rows · current ${r.currentRows.toLocaleString()} rows · ${formatTime(r.createdAt)}`,
    ),
  );
  if (!ui.feature || !r.features.some((f) => f.name === ui.feature))
    ui.feature = (r.features.find((f) => f.drifted) ?? r.features[0])?.name;
  statsBody.replaceChildren(
    ...r.features.map((f) => {
      const method = f.method;
      const tests = computedTests(f);
      const p = method !== null && f.score !== null && isPValueTest(method) ? f.score : null;
      const tr = h(
        'tr',
        { tabindex: -1, 'data-feature': f.name, 'aria-selected': f.name === ui.feature ? 'true' : 'false' },
        h('td', {}, f.name),
        h('td', {}, f.type),
        h(
          'td',
          {
            title:
              f.skipped ??
              tests
                .map(
                  (t) =>
                    `${driftTestNames[t.test].long}: statistic ${formatNumber(t.statistic)}${t.pValue === null ? '' : `, p ${formatNumber(t.pValue)}`}`,
                )
                .join('\n'),
          },
          method === null ? 'not tested' : driftTestNames[method].short,
        ),
        h('td', { className: 'num' }, f.score === null ? '—' : formatNumber(f.score)),
        // p-value tests drift below the threshold, distances above it.
        h(
          'td',
          { className: 'num' },
          method === null || f.threshold === null
            ? '—'
            : `${isPValueTest(method) ? 'p <' : '>'} ${formatNumber(f.threshold)}`,
        ),
        h('td', { className: 'num' }, p === null ? '—' : formatNumber(p)),
        h(
          'td',
          {},
          h(
            'span',
            { className: `badge ${f.drifted ? 'bad' : 'good'}` },
            method === null ? 'n/a' : f.drifted ? 'drifted' : 'ok',
          ),
        ),
        h(
          'td',
          { className: 'muted' },
          f.skipped ??
            (tests
              .filter((t) => t.test !== method)
              .map(
                (t) =>
                  `${driftTestNames[t.test].short} ${formatNumber(Number(t.statistic.toPrecision(3)))}${t.pValue === null ? '' : ` (p ${t.pValue < 1e-3 && t.pValue > 0 ? t.pValue.toExponential(0) : formatNumber(Number(t.pValue.toPrecision(2)))})`}`,
              )
              .join(' · ') ||
              '—'),
        ),
      );
      tr.addEventListener('click', () => choose(f.name));
      return tr;
    }),
  );
  stats.tabIndex = 0;
  stats.onkeydown = (e: KeyboardEvent): void => {
    const i = r.features.findIndex((f) => f.name === ui.feature);
    const next = e.key === 'ArrowDown' ? i + 1 : e.key === 'ArrowUp' ? i - 1 : -2;
    const f = r.features[next];
    if (next === -2 || !f) return;
    e.preventDefault();
    choose(f.name);
  };
  drawDistribution();
  drawWindows(r);
  save();
}

function choose(name: string): void {
  ui.feature = name;
  for (const tr of statsBody.querySelectorAll('tr'))
    tr.setAttribute('aria-selected', tr.getAttribute('data-feature') === name ? 'true' : 'false');
  drawDistribution();
  save();
}

function drawDistribution(): void {
  distChart?.dispose();
  distChart = undefined;
  const f = report?.features.find((x) => x.name === ui.feature);
  if (!f) {
    distPlot.replaceChildren(h('div', { className: 'empty' }, 'No features in this report.'));
    return;
  }
  distTitle.textContent = f.name;
  if (!f.bins || f.method === null || f.score === null || f.threshold === null) {
    distNote.textContent = '';
    distPlot.replaceChildren(h('div', { className: 'empty' }, `Not tested: ${f.skipped ?? 'no values to compare'}.`));
    return;
  }
  distPlot.replaceChildren();
  const b = chartBins(f.bins);
  const share = (counts: number[]): number[] => {
    const total = counts.reduce((s, c) => s + c, 0);
    return counts.map((c) => (total === 0 ? 0 : c / total));
  };
  // Proportions, not counts: the two samples differ in size.
  const ref = share(b.reference);
  const cur = share(b.current);
  const xs = ref.map((_v, i) => i);
  const labels = b.kind === 'numeric' ? b.edges.slice(0, -1).map((e, i) => (e + (b.edges[i + 1] ?? e)) / 2) : [];
  distNote.textContent = `${driftTestNames[f.method].long} ${formatNumber(f.score)} (threshold ${formatNumber(f.threshold)})`;
  distPlot.setAttribute(
    'aria-label',
    `${f.name}: reference and current distributions over ${xs.length} ${b.kind === 'numeric' ? 'bins' : 'categories'}`,
  );
  const theme = readTheme();
  const axes = themedAxes(theme, f.name, 'share of rows');
  const xAxis = axes[0];
  if (xAxis) {
    xAxis.splits = () => xs;
    xAxis.values = (_u, splits) =>
      splits.map((i) =>
        b.kind === 'categorical'
          ? (b.categories[i] ?? '')
          : i % Math.ceil(xs.length / 8) === 0
            ? formatNumber(Number((labels[i] ?? 0).toPrecision(3)))
            : '',
      );
  }
  const bars = uPlot.paths.bars;
  distChart = mountChart(
    distPlot,
    {
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, range: [-0.6, xs.length - 0.4] }, y: { range: (_u, _lo, hi) => [0, hi * 1.1] } },
      axes,
      series: [
        {},
        {
          label: 'reference',
          stroke: '#4e79a7',
          fill: 'rgba(78,121,167,0.55)',
          paths: bars ? bars({ size: [0.42, 60], align: -1 }) : undefined,
          points: { show: false },
        },
        {
          label: 'current',
          stroke: '#f28e2b',
          fill: 'rgba(242,142,43,0.55)',
          paths: bars ? bars({ size: [0.42, 60], align: 1 }) : undefined,
          points: { show: false },
        },
      ],
    },
    [xs, ref, cur],
  );
}

/** `2026-12-02 14:05:09`, or without the date. */
function formatClock(ms: number, withDate = false): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withDate ? `${formatTime(ms).slice(0, 10)} ${clock}` : clock;
}

/**
 * Short labels for window starts that still tell them apart: `14:05` when the minutes differ, `14:05:09` when they do
 * not, with the day (`12-02 14:05`) when the windows span days, the day alone for windows starting at midnight, and
 * `#1`, `#2`… when even seconds repeat.
 */
function windowLabels(windows: ReadonlyArray<{ start: number }>): string[] {
  const day = (ms: number): string => formatTime(ms).slice(5, 10);
  const multiDay = new Set(windows.map((w) => formatTime(w.start).slice(0, 10))).size > 1;
  const unique = (labels: string[]): boolean => new Set(labels).size === labels.length;
  const at = (precision: 5 | 8): string[] =>
    windows.map((w) => `${multiDay ? `${day(w.start)} ` : ''}${formatClock(w.start).slice(0, precision)}`);
  if (multiDay) {
    const days = windows.map((w) => day(w.start));
    if (unique(days) && windows.every((w) => formatClock(w.start) === '00:00:00')) return days;
  }
  const minutes = at(5);
  if (unique(minutes)) return minutes;
  const seconds = at(8);
  // Windows of N rows filled by a fast replay can start within the same second: number them (times in the tooltips).
  return unique(seconds) ? seconds : windows.map((_w, i) => `#${i + 1}`);
}

function drawWindows(r: TitledDriftReport): void {
  windowChart?.dispose();
  windowChart = undefined;
  if (r.windows.length === 0) {
    windowPlot.replaceChildren(
      h(
        'div',
        { className: 'empty' },
        'No time windows in this report (monitoring has not logged enough traffic yet).',
      ),
    );
    heat.replaceChildren();
    return;
  }
  windowPlot.replaceChildren();
  const theme = readTheme();
  // One step per window (not a time axis): windows of N logged rows can be seconds or days long, and a time axis
  // squeezes the busy ones together. Each window is labelled by its start, as precisely as needed to tell them apart.
  const labels = windowLabels(r.windows);
  const xs = r.windows.map((_w, i) => i);
  const every = Math.max(1, Math.ceil(xs.length / 10));
  windowPlot.setAttribute('aria-label', `Share of drifted features over ${r.windows.length} windows`);
  const [xAxis, yAxis] = [themedAxes(theme, 'window')[0], themedAxes(theme, undefined, 'drifted share')[1]];
  windowChart = mountChart(
    windowPlot,
    {
      legend: { show: false },
      scales: { x: { time: false, range: [-0.5, Math.max(0.5, xs.length - 0.5)] }, y: { range: [0, 1] } },
      axes: [
        {
          ...xAxis,
          splits: () => xs.filter((i) => i % every === 0),
          values: (_u, splits) => splits.map((i) => labels[i] ?? ''),
        },
        { ...yAxis, values: (_u, s) => s.map((v) => `${Math.round(v * 100)}%`) },
      ],
      series: [
        {},
        { label: 'drifted share', stroke: theme.error, width: 2, points: { show: true, size: 7, fill: theme.error } },
        { label: 'threshold', stroke: theme.muted, dash: [4, 4], width: 1, points: { show: false } },
      ],
    },
    [xs, r.windows.map((w) => w.share), r.windows.map(() => r.shareThreshold)],
  );
  // Feature × window grid: each cell's score, red where the feature drifted in that window.
  const names = r.features.map((f) => f.name);
  for (const w of r.windows) for (const f of w.features) if (!names.includes(f.name)) names.push(f.name);
  const table = h(
    'table',
    { className: 'plain heat-table', 'aria-label': 'Drift score per feature and window' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'feature'),
        ...r.windows.map((w, i) =>
          h(
            'th',
            {
              className: 'num',
              title: `${formatClock(w.start, true)} → ${formatClock(w.end, true)}: ${w.rows.toLocaleString()} rows, ${Math.round(w.share * 100)}% of features drifted`,
            },
            labels[i] ?? '',
          ),
        ),
      ),
      h(
        'tr',
        { className: 'rows' },
        h('th', {}, 'rows'),
        ...r.windows.map((w) => h('th', { className: 'num' }, w.rows.toLocaleString())),
      ),
    ),
    h(
      'tbody',
      {},
      ...names.map((name) =>
        h(
          'tr',
          {},
          h('td', {}, name),
          ...r.windows.map((w) => {
            const cell = w.features.find((x) => x.name === name);
            return h(
              'td',
              {
                className: `num ${cell?.drifted ? 'hot' : ''}`,
                title: cell
                  ? `${name} ${formatClock(w.start, true)}: ${formatNumber(cell.score)}${cell.drifted ? ' (drifted)' : ''}`
                  : 'not scored',
              },
              cell ? formatNumber(Number(cell.score.toPrecision(2))) : '—',
            );
          }),
        ),
      ),
    ),
  );
  heat.replaceChildren(table);
}
