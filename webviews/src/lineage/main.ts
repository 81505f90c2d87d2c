// First import: configures zod before any schema exists (see kit/noEval.ts).
import '../kit/noEval.js';
import { z } from 'zod';
import type { LineageGraph, LineageNode } from '@cairn/protocol/runtime/model.js';
import { assertNeverMessage } from '@cairn/protocol/webviews/common.js';
import {
  lineageToViewSchema,
  lineageViewStateSchema,
  type LineageFromView,
  type LineageQuery,
  type LineageToView,
} from '@cairn/protocol/webviews/lineage.js';
import '../kit/base.css';
import './lineage.css';
import { connectView } from '../kit/bridge.js';
import { h, showBanner, svg } from '../kit/dom.js';
import { FOLD_ID, detailLine, focusOnRun, shortLabel, targetRun, type Focused } from './fold.js';
import { NODE_H, NODE_W, layoutLineage } from './layout.js';

/**
 * Lineage view: datasets, step runs, artifacts, model versions and deployments laid out by dagre; stale nodes
 * marked. Click selects (details on the right), double-click or Enter opens, R (or the button) runs from a step.
 * A run's graph shows that run (fold.ts); the nodes of other runs are one count node until it is clicked.
 */

const uiSchema = z.object({
  selected: z.string().optional(),
  zoom: z.number().min(0.2).max(3).optional(),
  /** Other runs' nodes drawn instead of folded into the count node. */
  expanded: z.boolean().optional(),
});
const stateSchema = lineageViewStateSchema.extend({ ui: uiSchema });
type State = z.infer<typeof stateSchema>;

const kindLabel: Record<LineageNode['kind'], string> = {
  data: 'dataset',
  step: 'step run',
  artifact: 'artifact',
  model: 'model version',
  deployment: 'deployment',
};
const kindIcon: Record<LineageNode['kind'], string> = {
  data: '▤',
  step: '▶',
  artifact: '◆',
  model: '★',
  deployment: '⇪',
};

const bridge = connectView<LineageToView, LineageFromView, State>({
  incoming: lineageToViewSchema,
  state: stateSchema,
  onMessage,
});
const restored = bridge.restoredState();
let query: LineageQuery | undefined = restored?.query;
const ui: State['ui'] = restored?.ui ?? {};
let graph: LineageGraph | undefined;
/** What is drawn: the graph, or its run's part of it while folded. */
let shown: Focused | undefined;
let size = { width: 0, height: 0 };

const root = document.getElementById('root') ?? document.body;
const summary = h('span', { className: 'count', 'aria-live': 'polite' });
const zoomLabel = h('span', { className: 'muted' });
const canvas = h('div', { className: 'graph', 'aria-label': 'Lineage graph' });
const details = h('aside', { className: 'details', 'aria-label': 'Selected node', 'aria-live': 'polite' });
const legend = h(
  'span',
  { className: 'kinds' },
  ...(Object.keys(kindLabel) as Array<LineageNode['kind']>).map((k) =>
    h('span', { className: `chip kind-${k}` }, `${kindIcon[k]} ${kindLabel[k]}`),
  ),
  h('span', { className: 'chip stale' }, 'stale'),
);
const foldButton = h('button', { hidden: true, onclick: () => setExpanded(!ui.expanded) }, 'Fold other runs');
const zoomBy = (f: number | 'fit'): void => {
  ui.zoom = f === 'fit' ? undefined : Math.max(0.2, Math.min(3, (ui.zoom ?? fitZoom()) * f));
  applyZoom();
  save();
};
root.append(
  h(
    'div',
    { className: 'toolbar' },
    legend,
    h('span', { className: 'grow' }),
    summary,
    foldButton,
    h('button', { onclick: () => zoomBy(1 / 1.25), 'aria-label': 'Zoom out' }, '−'),
    zoomLabel,
    h('button', { onclick: () => zoomBy(1.25), 'aria-label': 'Zoom in' }, '+'),
    h('button', { onclick: () => zoomBy('fit') }, 'Fit'),
  ),
  h('div', { className: 'lineage' }, canvas, details),
);
details.append(h('p', { className: 'muted' }, 'Waiting for the lineage graph…'));
new ResizeObserver(() => applyZoom()).observe(canvas);

function onMessage(message: LineageToView): void {
  switch (message.type) {
    case 'graph':
      root.querySelector('.banner')?.remove();
      query = message.payload.query;
      graph = message.payload.graph;
      if (message.payload.focus) ui.selected = message.payload.focus;
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

function fitZoom(): number {
  if (size.width === 0) return 1;
  // Fit, but never so small that labels cannot be read: past that the graph scrolls.
  return Math.max(0.8, Math.min(1.2, (canvas.clientWidth - 8) / size.width, (canvas.clientHeight - 8) / size.height));
}

function applyZoom(): void {
  const el = canvas.querySelector('svg');
  if (!el) return;
  const z = ui.zoom ?? fitZoom();
  el.style.width = `${size.width * z}px`;
  el.style.height = `${size.height * z}px`;
  zoomLabel.textContent = `${Math.round(z * 100)}%`;
}

function setExpanded(expanded: boolean): void {
  ui.expanded = expanded;
  if (!expanded && ui.selected && shown?.graph.nodes.every((n) => n.id !== ui.selected)) ui.selected = undefined;
  draw();
  // The toggle moved the graph under the pointer: keep the keyboard where it was.
  canvas.querySelector<SVGElement>(`[data-id="${CSS.escape(ui.selected ?? '')}"]`)?.focus();
}

function canOpen(n: LineageNode): boolean {
  return n.path !== undefined || n.runId !== undefined || n.kind === 'model' || n.kind === 'deployment';
}
function canRun(n: LineageNode): boolean {
  return n.kind === 'step';
}

function draw(): void {
  const all = graph;
  if (!all) return;
  const focused = focusOnRun(all, targetRun(query?.target));
  // A node chosen outside the run (a focus sent with the graph, a restored selection) is shown unfolded.
  if (ui.selected && focused.folded.some((n) => n.id === ui.selected)) ui.expanded = true;
  shown = ui.expanded ? { graph: all, folded: [], foldedRuns: focused.foldedRuns } : focused;
  const g = shown.graph;
  const foldCount = shown.folded.length;
  const placed = layoutLineage({ nodes: foldCount > 0 ? [...g.nodes, { id: FOLD_ID }] : g.nodes, edges: g.edges });
  size = { width: placed.width, height: placed.height };
  const stale = all.nodes.filter((n) => n.stale).length;
  const runs = focused.foldedRuns.map((r) => `#${r}`).join(', ');
  const staleText = stale > 0 ? ` · ${stale} stale` : '';
  const foldText = foldCount > 0 ? ` · ${foldCount} of other runs folded` : '';
  summary.textContent = `${all.nodes.length} nodes · ${all.edges.length} edges${staleText}${foldText}`;
  foldButton.hidden = focused.folded.length === 0;
  foldButton.textContent = ui.expanded ? 'Fold other runs' : 'Show other runs';
  foldButton.setAttribute('aria-pressed', String(ui.expanded === true));
  const root = svg('svg', {
    viewBox: `0 0 ${placed.width} ${placed.height}`,
    role: 'group',
    'aria-label': `Lineage of ${query?.target ?? ''}`,
  });
  root.append(
    svg(
      'defs',
      {},
      svg(
        'marker',
        {
          id: 'arrow',
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto-start-reverse',
        },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }),
      ),
    ),
  );
  const edges = svg('g', { class: 'edges' });
  for (const e of placed.edges) {
    if (e.points.length === 0) continue;
    const d = e.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    const staleEdge = g.nodes.find((n) => n.id === e.to)?.stale === true;
    edges.append(svg('path', { d, class: staleEdge ? 'edge stale' : 'edge', 'marker-end': 'url(#arrow)' }));
  }
  root.append(edges);
  const nodes = svg('g', { class: 'nodes' });
  // Tab order follows the layout: left to right, then top to bottom.
  const ordered = [...g.nodes].sort((a, b) => {
    const pa = placed.nodes.get(a.id);
    const pb = placed.nodes.get(b.id);
    return (pa?.x ?? 0) - (pb?.x ?? 0) || (pa?.y ?? 0) - (pb?.y ?? 0);
  });
  for (const n of ordered) {
    const p = placed.nodes.get(n.id);
    if (!p) continue;
    const detail = detailLine(n);
    const text = shortLabel(n);
    const label = text.length > 21 ? `${text.slice(0, 20)}…` : text;
    const node = svg(
      'g',
      {
        class: `node kind-${n.kind}${n.stale ? ' stale' : ''}${n.outside !== undefined ? ' outside' : ''}${ui.selected === n.id ? ' selected' : ''}`,
        transform: `translate(${p.x},${p.y})`,
        tabindex: 0,
        role: 'button',
        'data-id': n.id,
        'aria-label':
          `${kindLabel[n.kind]} ${n.label}${n.stale ? ', stale' : ''}` +
          (n.outside !== undefined ? ', read-only input from outside the workspace' : ''),
      },
      svg(
        'title',
        {},
        [
          `${kindLabel[n.kind]}: ${n.path ?? n.label}`,
          n.hash,
          n.stale ? `stale: ${n.staleReason ?? 'inputs changed'}` : undefined,
          n.outside !== undefined ? `outside the workspace (read-only, allow_outside): ${n.outside}` : undefined,
        ]
          .filter((line) => line !== undefined)
          .join('\n'),
      ),
      svg('rect', { width: NODE_W, height: NODE_H, rx: 5, class: 'box' }),
      svg('rect', { width: 5, height: NODE_H, rx: 2, class: 'stripe' }),
      svg('text', { x: 14, y: 19, class: 'label' }, `${kindIcon[n.kind]} ${label}`),
      svg('text', { x: 14, y: 36, class: 'detail' }, detail),
      n.stale ? svg('text', { x: NODE_W - 8, y: 36, class: 'stale-mark', 'text-anchor': 'end' }, 'stale') : null,
      n.outside !== undefined && !n.stale
        ? svg('text', { x: NODE_W - 8, y: 36, class: 'outside-mark', 'text-anchor': 'end' }, 'outside · read-only')
        : null,
    );
    nodes.append(node);
  }
  const foldAt = placed.nodes.get(FOLD_ID);
  if (foldAt && foldCount > 0) {
    const what = `${foldCount} nodes of other runs (${runs})`;
    nodes.append(
      svg(
        'g',
        {
          class: 'node fold',
          transform: `translate(${foldAt.x},${foldAt.y})`,
          tabindex: 0,
          role: 'button',
          'data-id': FOLD_ID,
          'aria-label': `${what}: show them`,
        },
        svg('title', {}, `${what}: runs that first computed cached outputs, or read this run's. Click to show them.`),
        svg('rect', { width: NODE_W, height: NODE_H, rx: 5, class: 'box' }),
        svg('text', { x: 14, y: 19, class: 'label' }, `+${foldCount} of other runs`),
        svg(
          'text',
          { x: 14, y: 36, class: 'detail' },
          `${runs.length > 20 ? `${focused.foldedRuns.length} runs` : runs} · show`,
        ),
      ),
    );
  }
  root.append(nodes);
  root.addEventListener('click', (e) => {
    const id = nodeIdOf(e.target);
    if (id === FOLD_ID) setExpanded(true);
    else if (id) select(id);
  });
  root.addEventListener('dblclick', (e) => {
    const id = nodeIdOf(e.target);
    if (id) act('open', id);
  });
  root.addEventListener('keydown', (e) => {
    const id = nodeIdOf(e.target);
    if (!id) return;
    if (id === FOLD_ID && (e.key === 'Enter' || e.key === ' ')) setExpanded(true);
    else if (e.key === 'Enter') act('open', id);
    else if (e.key === ' ') select(id);
    else if (e.key === 'r' || e.key === 'R') act('run', id);
    else return;
    e.preventDefault();
  });
  canvas.replaceChildren(root);
  applyZoom();
  showDetails();
  save();
  if (ui.selected)
    canvas
      .querySelector(`[data-id="${CSS.escape(ui.selected)}"]`)
      ?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

function nodeIdOf(target: EventTarget | null): string | undefined {
  return target instanceof Element ? (target.closest('.node')?.getAttribute('data-id') ?? undefined) : undefined;
}

function select(id: string): void {
  ui.selected = id;
  for (const el of canvas.querySelectorAll('.node')) el.classList.toggle('selected', el.getAttribute('data-id') === id);
  showDetails();
  save();
}

function act(type: 'open' | 'run', id: string): void {
  const n = graph?.nodes.find((x) => x.id === id);
  if (!n || (type === 'open' ? !canOpen(n) : !canRun(n))) return;
  bridge.post({ type, payload: { nodeId: id } });
}

function showDetails(): void {
  const n = graph?.nodes.find((x) => x.id === ui.selected);
  if (!n) {
    details.replaceChildren(
      h('p', { className: 'muted' }, 'Select a node to see where it comes from. Enter opens it; R runs from a step.'),
    );
    return;
  }
  const rows: Array<[string, string | undefined]> = [
    ['kind', kindLabel[n.kind]],
    ['path', n.path],
    ['hash', n.hash],
    ['run', n.runId === undefined ? undefined : `#${n.runId}`],
  ];
  const inputs = graph?.edges.filter((e) => e.to === n.id).length ?? 0;
  const outputs = graph?.edges.filter((e) => e.from === n.id).length ?? 0;
  details.replaceChildren(
    h('h2', {}, n.label),
    n.stale
      ? h('p', { className: 'badge stale' }, `stale: ${n.staleReason ?? 'inputs changed'}`)
      : h('p', { className: 'badge good' }, 'up to date'),
    h(
      'dl',
      {},
      ...rows.filter((r) => r[1] !== undefined).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      h('dt', {}, 'edges'),
      h('dd', {}, `${inputs} in · ${outputs} out`),
    ),
    h(
      'div',
      { className: 'actions' },
      canOpen(n) ? h('button', { className: 'primary', onclick: () => act('open', n.id) }, 'Open') : null,
      canRun(n)
        ? h('button', { onclick: () => act('run', n.id) }, n.stale ? 'Re-run from here' : 'Run from here')
        : null,
    ),
  );
}
