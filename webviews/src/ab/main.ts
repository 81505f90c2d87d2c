// First import: configures zod before any schema exists (see kit/noEval.ts).
import '../kit/noEval.js';
import { assertNeverMessage } from '@cairn/protocol/webviews/common.js';
import {
  abToViewSchema,
  abViewStateSchema,
  type AbFromView,
  type AbQuery,
  type AbToView,
} from '@cairn/protocol/webviews/ab.js';
import type { AbResult } from '@cairn/protocol/runtime/deploy.js';
import type { BusinessAbReport, BusinessArm, MetricDifference } from '@cairn/protocol/runtime/abBusiness.js';
import '../kit/base.css';
import './ab.css';
import { connectView } from '../kit/bridge.js';
import { h, showBanner, svg } from '../kit/dom.js';
import { formatNumber, formatTime } from '../kit/format.js';

/**
 * A/B result view: the per-arm online (or replayed) metrics, the significance test as one sentence, the difference
 * challenger − champion with its 95% confidence interval drawn against zero, the winner, and "Promote challenger"
 * (the extension shows the promotion gates first and answers with what happened).
 */

const bridge = connectView<AbToView, AbFromView, { query: AbQuery }>({
  incoming: abToViewSchema,
  state: abViewStateSchema,
  onMessage,
});
let query: AbQuery | undefined = bridge.restoredState()?.query;
let result: AbResult | undefined;
let promoteTo: string | null = null;

const root = document.getElementById('root') ?? document.body;
const header = h('div', { className: 'toolbar' }, h('span', { className: 'muted' }, 'Waiting for an A/B result…'));
const statement = h('p', { className: 'statement' });
const armsTable = h('table', { className: 'plain arms', 'aria-label': 'Metrics per arm' });
const testTable = h('table', { className: 'plain test', 'aria-label': 'Significance test' });
const ciPlot = h('div', { className: 'ci', role: 'img' });
const promoteButton = h('button', { className: 'primary', type: 'button', disabled: true }, 'Promote challenger');
const outcome = h('span', { className: 'outcome', role: 'status', 'aria-live': 'polite' });
root.append(
  header,
  h(
    'div',
    { className: 'ab' },
    h(
      'section',
      { className: 'panel verdict', 'aria-label': 'Decision' },
      h('header', {}, h('h2', {}, 'Decision'), h('span', { className: 'grow' }), promoteButton, outcome),
      h('div', { className: 'body pad' }, statement, ciPlot),
    ),
    h(
      'section',
      { className: 'panel', 'aria-label': 'Arms' },
      h('header', {}, h('h2', {}, 'Arms')),
      h('div', { className: 'body scroll' }, armsTable),
    ),
    h(
      'section',
      { className: 'panel', 'aria-label': 'Test' },
      h('header', {}, h('h2', {}, 'Test')),
      h('div', { className: 'body scroll' }, testTable),
    ),
  ),
);

// Business metrics of the deployment with a challenger (clicks, purchases, revenue per shown impression).
const businessArms = h('table', { className: 'plain business-arms', 'aria-label': 'Business metrics per arm' });
const businessDiffs = h('table', { className: 'plain business-diffs', 'aria-label': 'Business differences' });
const businessNotes = h('ul', { className: 'business-warnings', role: 'status' });
const srmLine = h('p', { className: 'srm-check' });
const businessSection = h(
  'section',
  { className: 'panel business', 'aria-label': 'Business metrics', hidden: true },
  h('header', {}, h('h2', {}, 'Clicks, conversions and revenue')),
  h('div', { className: 'body scroll pad' }, srmLine, businessNotes, businessArms, businessDiffs),
);
(root.querySelector('.ab') ?? root).append(businessSection);

promoteButton.addEventListener('click', () => {
  if (!result || promoteTo === null) return;
  promoteButton.disabled = true;
  outcome.textContent = 'Checking the promotion gates…';
  outcome.className = 'outcome muted';
  bridge.post({ type: 'promote', payload: { resultId: result.id } });
});

function onMessage(message: AbToView): void {
  switch (message.type) {
    case 'result':
      root.querySelector('.banner')?.remove();
      query = message.payload.query;
      result = message.payload.result;
      promoteTo = message.payload.promoteTo;
      bridge.saveState({ query });
      root.querySelector('.ab')?.classList.remove('business-only');
      draw(result);
      return;
    case 'promoted':
      if (message.payload.resultId !== result?.id) return;
      outcome.textContent = message.payload.message;
      outcome.className = `outcome ${message.payload.ok ? 'good' : 'bad'}`;
      promoteButton.disabled = message.payload.ok || promoteTo === null;
      return;
    case 'business':
      root.querySelector('.banner')?.remove();
      drawBusiness(message.payload.report);
      return;
    case 'error':
      showBanner(root, message.payload.message, message.payload.hint);
      return;
    default:
      assertNeverMessage(message);
  }
}

const winnerText = { champion: 'champion wins', challenger: 'challenger wins', inconclusive: 'inconclusive' } as const;

function draw(r: AbResult): void {
  const t = r.test;
  header.replaceChildren(
    h('strong', {}, `${r.name}: v${r.championVersion} (champion) vs v${r.challengerVersion} (challenger)`),
    h(
      'span',
      { className: `badge ${t.winner === 'challenger' ? 'good' : t.winner === 'champion' ? 'bad' : 'stale'}` },
      winnerText[t.winner],
    ),
    h(
      'span',
      { className: 'badge' },
      r.source === 'online'
        ? `online${r.deploymentId === null ? '' : ` · deployment #${r.deploymentId}`}`
        : `replay${r.holdout ? ` · ${r.holdout}` : ''}`,
    ),
    h('span', { className: 'grow' }),
    h('span', { className: 'muted' }, `result #${r.id} · ${formatTime(r.createdAt)}`),
  );
  statement.textContent = t.statement;
  promoteButton.disabled = promoteTo === null || t.winner === 'champion';
  promoteButton.title =
    promoteTo === null
      ? 'Promotion is off here (Restricted Mode)'
      : t.winner === 'champion'
        ? 'The champion won: nothing to promote'
        : `Point ${promoteTo} at v${r.challengerVersion} (the promotion gates are shown first)`;
  promoteButton.textContent = promoteTo === null ? 'Promote challenger' : `Promote challenger to ${promoteTo}`;
  outcome.textContent = '';

  const keys = [...new Set(r.arms.flatMap((a) => Object.keys(a.metrics)))].sort();
  armsTable.replaceChildren(
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'arm'),
        h('th', { className: 'num' }, 'version'),
        h('th', { className: 'num' }, 'requests'),
        h('th', { className: 'num' }, 'labelled'),
        ...keys.map((k) => h('th', { className: `num${k === t.metric ? ' key' : ''}` }, k)),
      ),
    ),
    h(
      'tbody',
      {},
      ...r.arms.map((a) =>
        h(
          'tr',
          { 'data-arm': a.arm },
          h(
            'td',
            {},
            h('span', { className: `arm ${a.arm}` }, a.arm),
            a.arm === t.winner ? h('span', { className: 'badge good' }, 'winner') : null,
          ),
          h('td', { className: 'num' }, a.version === null ? '—' : `v${a.version}`),
          h('td', { className: 'num' }, a.requests.toLocaleString()),
          h('td', { className: 'num' }, a.labelled.toLocaleString()),
          ...keys.map((k) => {
            const v = a.metrics[k];
            return h(
              'td',
              { className: `num${k === t.metric ? ' key' : ''}` },
              v === undefined ? '—' : formatNumber(v),
            );
          }),
        ),
      ),
    ),
  );

  const rows: Array<[string, string]> = [
    ['method', t.method === 'two-proportion-z' ? 'two-proportion z-test' : 'bootstrap (95% percentile interval)'],
    ['metric', `${t.metric} (${t.lowerIsBetter ? 'lower' : 'higher'} is better)`],
    ['champion', formatNumber(t.champion)],
    ['challenger', formatNumber(t.challenger)],
    ['difference (challenger − champion)', formatNumber(t.difference)],
    ['95% confidence interval', `[${formatNumber(t.ci[0])}, ${formatNumber(t.ci[1])}]`],
    ['p-value', formatNumber(t.pValue)],
    ['alpha', formatNumber(t.alpha)],
    ['decision', winnerText[t.winner]],
  ];
  testTable.replaceChildren(
    h(
      'tbody',
      {},
      ...rows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { className: 'num' }, v))),
    ),
  );
  drawInterval(r);
}

/** The difference and its CI on a horizontal axis through zero; the side where the challenger is better is marked. */
function drawInterval(r: AbResult): void {
  const t = r.test;
  const width = 640;
  const height = 96;
  const pad = 48;
  const [lo, hi] = t.ci;
  const span = Math.max(Math.abs(lo), Math.abs(hi), Math.abs(t.difference), 1e-12) * 1.25;
  const x = (v: number): number => pad + ((v + span) / (2 * span)) * (width - 2 * pad);
  const y = 44;
  const better = t.lowerIsBetter ? 'left' : 'right';
  const tone = t.winner === 'challenger' ? 'good' : t.winner === 'champion' ? 'bad' : 'muted';
  ciPlot.setAttribute(
    'aria-label',
    `Difference ${formatNumber(t.difference)} with 95% confidence interval from ${formatNumber(lo)} to ${formatNumber(hi)}; the interval ${lo <= 0 && hi >= 0 ? 'contains' : 'excludes'} zero`,
  );
  const ticks = [-span, -span / 2, 0, span / 2, span];
  ciPlot.replaceChildren(
    svg(
      'svg',
      {
        viewBox: `0 0 ${width} ${height}`,
        width: '100%',
        height: String(height),
        preserveAspectRatio: 'xMidYMid meet',
        class: 'ci-svg',
      },
      svg('line', { x1: pad, x2: width - pad, y1: y, y2: y, class: 'axis' }),
      ...ticks.map((v) =>
        svg(
          'g',
          {},
          svg('line', { x1: x(v), x2: x(v), y1: y - 3, y2: y + 3, class: 'axis' }),
          svg(
            'text',
            { x: x(v), y: y + 18, 'text-anchor': 'middle', class: 'tick' },
            formatNumber(Number(v.toPrecision(2))),
          ),
        ),
      ),
      svg('line', { x1: x(0), x2: x(0), y1: 8, y2: y + 8, class: 'zero' }),
      svg(
        'text',
        {
          x: better === 'left' ? pad : width - pad,
          y: 14,
          'text-anchor': better === 'left' ? 'start' : 'end',
          class: 'side',
        },
        `${better === 'left' ? '← ' : ''}challenger better${better === 'right' ? ' →' : ''}`,
      ),
      svg(
        'text',
        {
          x: better === 'left' ? width - pad : pad,
          y: 14,
          'text-anchor': better === 'left' ? 'end' : 'start',
          class: 'side',
        },
        `${better === 'right' ? '← ' : ''}champion better${better === 'left' ? ' →' : ''}`,
      ),
      svg('line', { x1: x(lo), x2: x(hi), y1: y, y2: y, class: `ci-bar ${tone}` }),
      svg('line', { x1: x(lo), x2: x(lo), y1: y - 8, y2: y + 8, class: `ci-bar ${tone}` }),
      svg('line', { x1: x(hi), x2: x(hi), y1: y - 8, y2: y + 8, class: `ci-bar ${tone}` }),
      svg('circle', { cx: x(t.difference), cy: y, r: 5, class: `ci-point ${tone}` }),
      svg(
        'text',
        { x: x(t.difference), y: y - 12, 'text-anchor': 'middle', class: 'label' },
        `${formatNumber(t.difference)} [${formatNumber(lo)}, ${formatNumber(hi)}]`,
      ),
      svg(
        'text',
        { x: width / 2, y: height - 4, 'text-anchor': 'middle', class: 'tick' },
        `${t.metric}: challenger − champion, 95% CI`,
      ),
    ),
  );
}

const interval = (ci: readonly [number, number]): string => `[${formatNumber(ci[0])}, ${formatNumber(ci[1])}]`;
const metricLabel = { ctr: 'CTR', conversion: 'conversion', revenuePerImpression: 'revenue / impression' } as const;

function drawBusiness(r: BusinessAbReport): void {
  businessSection.hidden = false;
  // Without a stored result only the business section has something to show.
  root.querySelector('.ab')?.classList.toggle('business-only', !result);
  if (!result) {
    header.replaceChildren(
      h(
        'strong',
        {},
        `${r.name}: v${r.arms[0].version ?? '?'} (champion) vs v${r.arms[1].version ?? '?'} (challenger)`,
      ),
      h('span', { className: 'badge' }, `online · deployment #${r.deploymentId}`),
      h('span', { className: 'grow' }),
      h('span', { className: 'muted' }, formatTime(r.createdAt)),
    );
  }
  // The SRM check shows once, always (so a user sees that the split was checked and against what): a mismatch turns
  // it into the warning; the runtime's own SRM sentence is not repeated among the other notes.
  const total = r.srm.observed.reduce((s, n) => s + n, 0);
  const tested =
    `impressions ${r.srm.observed.map((n) => n.toLocaleString()).join(' / ')} ` +
    `(${r.srm.observed.map((n) => `${formatNumber(total > 0 ? (100 * n) / total : 0)}%`).join(' / ')}) against ` +
    `${r.srm.expectedShares.map((s) => `${formatNumber(100 * s)}%`).join(' / ')}`;
  const test = `chi-square ${formatNumber(r.srm.chiSquare)}, p = ${formatNumber(r.srm.pValue)}`;
  srmLine.className = `srm-check ${r.srm.mismatch ? 'bad' : 'muted'}`;
  srmLine.setAttribute('role', r.srm.mismatch ? 'alert' : 'status');
  srmLine.textContent = r.srm.mismatch
    ? `Sample ratio mismatch: ${tested} (${test}): the arms do not get the traffic they should, so do not trust the ` +
      'comparison; check the A/B key and what drops impressions.'
    : `Sample ratio check: ${tested}: ${test} — no mismatch`;
  // The others (arms with no data, an underpowered test).
  businessNotes.replaceChildren(
    ...r.warnings.filter((w) => !w.startsWith('sample-ratio mismatch')).map((w) => h('li', { className: 'muted' }, w)),
  );
  const cell = (value: number, ci: readonly [number, number]): HTMLElement =>
    h('td', { className: 'num' }, `${formatNumber(value)} ${interval(ci)}`);
  const armRow = (a: BusinessArm): HTMLElement =>
    h(
      'tr',
      { 'data-arm': a.arm },
      h('td', {}, h('span', { className: `arm ${a.arm}` }, a.arm)),
      h('td', { className: 'num' }, a.version === null ? '—' : `v${a.version}`),
      h('td', { className: 'num' }, a.impressions.toLocaleString()),
      cell(a.ctr.rate, a.ctr.ci),
      cell(a.conversion.rate, a.conversion.ci),
      cell(a.revenuePerImpression.mean, a.revenuePerImpression.ci),
    );
  const ciLevel = `${formatNumber((1 - r.alpha) * 100)}%`;
  businessArms.replaceChildren(
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'arm'),
        h('th', { className: 'num' }, 'version'),
        h('th', { className: 'num' }, 'impressions'),
        h('th', { className: 'num' }, `CTR ${ciLevel}`),
        h('th', { className: 'num' }, `conversion ${ciLevel}`),
        h('th', { className: 'num' }, `revenue / impression ${ciLevel}`),
      ),
    ),
    h('tbody', {}, ...r.arms.map(armRow)),
  );
  businessDiffs.replaceChildren(
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...[
          'metric',
          'challenger − champion',
          'CI',
          'p-value',
          'mSPRT p (always valid)',
          'mSPRT CI',
          `n per arm (MDE ${formatNumber(r.mde * (r.relative ? 100 : 1))}${r.relative ? '%' : ''})`,
          'mSPRT state',
        ].map((t, i) => h('th', { className: i === 0 ? '' : 'num' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      ...r.differences.map((d) =>
        h(
          'tr',
          { 'data-metric': d.metric },
          h('td', {}, metricLabel[d.metric]),
          h('td', { className: 'num' }, formatNumber(d.difference)),
          h('td', { className: 'num' }, interval(d.ci)),
          h('td', { className: `num${d.pValue < r.alpha ? ' good' : ''}` }, formatNumber(d.pValue)),
          h(
            'td',
            { className: `num${d.sequential.pValue < r.alpha ? ' good' : ''}` },
            formatNumber(d.sequential.pValue),
          ),
          h('td', { className: 'num' }, interval(d.sequential.ci)),
          h('td', { className: 'num' }, d.sampleSize.perArm === null ? '—' : d.sampleSize.perArm.toLocaleString()),
          h('td', { className: `state${d.sequential.pValue < r.alpha ? ' good' : ''}` }, sequentialState(d, r.alpha)),
        ),
      ),
    ),
  );
}

/** What the always-valid test says now: a decision is final whenever it is reached; until then, keep collecting. */
function sequentialState(d: MetricDifference, alpha: number): string {
  const looks = `${d.sequential.looks} look${d.sequential.looks === 1 ? '' : 's'}`;
  if (d.sequential.pValue >= alpha) return `${looks} · keep collecting`;
  return `${looks} · ${d.difference > 0 ? 'challenger' : 'champion'} higher (stop)`;
}
