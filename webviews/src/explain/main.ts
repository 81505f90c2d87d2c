// First import: configures zod before any schema exists (see kit/noEval.ts).
import '../kit/noEval.js';
import { assertNeverMessage } from '@cairn/protocol/webviews/common.js';
import type { Explanations } from '@cairn/protocol/explain.js';
import {
  explainToViewSchema,
  explainViewStateSchema,
  type ExplainFromView,
  type ExplainQuery,
  type ExplainToView,
} from '@cairn/protocol/webviews/explain.js';
import '../kit/base.css';
import './explain.css';
import { connectView } from '../kit/bridge.js';
import { h, select, showBanner, svg } from '../kit/dom.js';
import { formatNumber } from '../kit/format.js';

/**
 * Explanation view: permutation importance as bars (mean drop of the model's score) with 95% interval whiskers, and
 * one explained row's contributions as a waterfall from the base value to the row's margin.
 */
const bridge = connectView<ExplainToView, ExplainFromView, { query: ExplainQuery }>({
  incoming: explainToViewSchema,
  state: explainViewStateSchema,
  onMessage,
});
let query: ExplainQuery | undefined = bridge.restoredState()?.query;
let data: Explanations | undefined;
let row = 0;

const root = document.getElementById('root') ?? document.body;
const header = h('div', { className: 'toolbar' }, h('span', { className: 'muted' }, 'Waiting for explanations…'));
const bars = h('div', { className: 'bars', role: 'img' });
const rowPicker = h('span', { className: 'row-picker' });
const waterfall = h('div', { className: 'waterfall', role: 'img' });
const note = h('p', { className: 'muted note' });
root.append(
  header,
  h(
    'div',
    { className: 'explain' },
    h(
      'section',
      { className: 'panel', 'aria-label': 'Permutation importance' },
      h('header', {}, h('h2', {}, 'Permutation importance'), h('span', { className: 'muted importance-scoring' })),
      h('div', { className: 'body pad' }, bars),
    ),
    h(
      'section',
      { className: 'panel', 'aria-label': 'Contributions of one row' },
      h('header', {}, h('h2', {}, 'Contributions'), h('span', { className: 'grow' }), rowPicker),
      h('div', { className: 'body pad' }, waterfall, note),
    ),
  ),
);

function onMessage(message: ExplainToView): void {
  switch (message.type) {
    case 'explanations':
      root.querySelector('.banner')?.remove();
      query = message.payload.query;
      data = message.payload.explanations;
      row = 0;
      header.replaceChildren(h('span', { className: 'title' }, message.payload.title));
      bridge.saveState({ query });
      draw();
      return;
    case 'error':
      showBanner(root, message.payload.message, message.payload.hint);
      return;
    default:
      assertNeverMessage(message);
  }
}

const W = 720;
const LABEL = 150;
const PAD = 16;

/** A linear scale of [lo, hi] onto the plot's x range, widened to include 0. */
function scale(lo: number, hi: number): (v: number) => number {
  const a = Math.min(lo, 0);
  const b = Math.max(hi, 0);
  const span = b - a || 1;
  return (v) => LABEL + ((v - a) / span) * (W - LABEL - PAD - 60);
}

function drawBars(e: Explanations): void {
  const feats = e.importance.features;
  const rowH = 22;
  const height = feats.length * rowH + 28;
  const x = scale(Math.min(...feats.map((f) => f.ci[0])), Math.max(...feats.map((f) => f.ci[1])));
  const scoring = { roc_auc: 'ROC AUC', accuracy: 'accuracy', neg_root_mean_squared_error: '−RMSE' }[
    e.importance.scoring
  ];
  const scoreNote = root.querySelector('.importance-scoring');
  if (scoreNote) {
    scoreNote.textContent =
      `drop of ${scoring} (baseline ${formatNumber(e.importance.baseline)}) when a column is shuffled; ` +
      `${e.importance.repeats} repeats, ${Math.round(e.importance.confidence * 100)}% interval`;
  }
  bars.setAttribute('aria-label', feats.map((f) => `${f.feature} ${formatNumber(f.mean)}`).join(', '));
  bars.replaceChildren(
    svg(
      'svg',
      { viewBox: `0 0 ${W} ${height}`, width: '100%', height: String(height), class: 'bars-svg' },
      svg('line', { x1: x(0), x2: x(0), y1: 4, y2: height - 20, class: 'zero' }),
      ...feats.map((f, i) => {
        const y = 8 + i * rowH;
        const x0 = Math.min(x(0), x(f.mean));
        return svg(
          'g',
          { class: 'bar-row' },
          svg('text', { x: LABEL - 8, y: y + 12, 'text-anchor': 'end', class: 'label' }, f.feature),
          svg('rect', { x: x0, y, width: Math.max(1, Math.abs(x(f.mean) - x(0))), height: 14, class: 'bar' }),
          svg('line', { x1: x(f.ci[0]), x2: x(f.ci[1]), y1: y + 7, y2: y + 7, class: 'whisker' }),
          svg('line', { x1: x(f.ci[0]), x2: x(f.ci[0]), y1: y + 2, y2: y + 12, class: 'whisker' }),
          svg('line', { x1: x(f.ci[1]), x2: x(f.ci[1]), y1: y + 2, y2: y + 12, class: 'whisker' }),
          svg('text', { x: x(Math.max(f.ci[1], 0)) + 6, y: y + 12, class: 'value' }, formatNumber(f.mean)),
        );
      }),
    ),
  );
}

function drawWaterfall(e: Explanations): void {
  const c = e.contributions;
  if (!c || c.rows.length === 0) {
    waterfall.replaceChildren();
    rowPicker.replaceChildren();
    note.textContent = e.note ?? 'No per-row contributions for this model.';
    return;
  }
  note.textContent =
    `Exact ${c.method === 'tree-shap' ? 'TreeSHAP' : 'linear (w·(x − mean))'} contributions in ${c.link} of ` +
    `${c.outputs[0] ?? ''}: base + Σ = the row's margin.`;
  const options = c.rows.map((r, i) => ({ value: String(i), label: `test row ${r.row + 1}` }));
  rowPicker.replaceChildren(
    select('Row', options, String(row), (v) => {
      row = Number(v);
      drawWaterfall(e);
    }),
  );
  const r = c.rows[row] ?? c.rows[0];
  if (!r) return;
  const values = r.values[0] ?? [];
  const base = c.base[0] ?? 0;
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => Math.abs(b.v) - Math.abs(a.v));
  const steps: Array<{ label: string; from: number; to: number; kind: string }> = [];
  let at = base;
  for (const { v, i } of order) {
    const input = r.inputs[c.features[i] ?? ''];
    const text = input === null ? 'missing' : typeof input === 'number' ? formatNumber(input) : input;
    const shown = input === undefined ? '' : ` = ${text}`;
    steps.push({ label: `${c.features[i] ?? ''}${shown}`, from: at, to: at + v, kind: v >= 0 ? 'up' : 'down' });
    at += v;
  }
  const ends = [base, r.margin[0] ?? at, ...steps.flatMap((s) => [s.from, s.to])];
  const x = scale(Math.min(...ends), Math.max(...ends));
  const rowH = 22;
  const all = [
    { label: 'base value', from: 0, to: base, kind: 'total' },
    ...steps,
    { label: 'margin', from: 0, to: r.margin[0] ?? at, kind: 'total' },
  ];
  const height = all.length * rowH + 16;
  waterfall.setAttribute('aria-label', `base ${formatNumber(base)}, margin ${formatNumber(r.margin[0] ?? at)}`);
  waterfall.replaceChildren(
    svg(
      'svg',
      { viewBox: `0 0 ${W} ${height}`, width: '100%', height: String(height), class: 'waterfall-svg' },
      svg('line', { x1: x(0), x2: x(0), y1: 4, y2: height - 8, class: 'zero' }),
      ...all.map((s, i) => {
        const y = 8 + i * rowH;
        const lo = Math.min(x(s.from), x(s.to));
        const delta = s.kind === 'total' ? s.to : s.to - s.from;
        return svg(
          'g',
          { class: `step ${s.kind}` },
          svg(
            'text',
            { x: LABEL - 8, y: y + 12, 'text-anchor': 'end', class: 'label' },
            s.label.length > 22 ? `${s.label.slice(0, 21)}…` : s.label,
          ),
          svg('rect', { x: lo, y, width: Math.max(1, Math.abs(x(s.to) - x(s.from))), height: 14, class: 'bar' }),
          svg(
            'text',
            { x: Math.max(x(s.from), x(s.to)) + 6, y: y + 12, class: 'value' },
            `${s.kind === 'total' ? '' : delta >= 0 ? '+' : ''}${formatNumber(delta)}`,
          ),
        );
      }),
    ),
  );
}

function draw(): void {
  if (!data) return;
  drawBars(data);
  drawWaterfall(data);
}
