import { Graph, layout } from '@dagrejs/dagre';

/**
 * Lays the lineage graph out left to right with dagre (layered/Sugiyama), so data flows the way it is read. dagre's
 * crossing reduction is a heuristic that depends on the ranker and on the order nodes are given in, so a few
 * layouts are made (each ranker, with nodes in the given order and ordered by run) and the one with the fewest
 * edge crossings is kept; past `CANDIDATE_LIMIT` nodes only the first is made.
 */

export const NODE_W = 156;
export const NODE_H = 46;

export interface Point {
  x: number;
  y: number;
}

export interface Placed {
  nodes: Map<string, Point>;
  edges: Array<{ from: string; to: string; points: Point[] }>;
  width: number;
  height: number;
}

/** What the layout needs of a graph: node ids (with the run of a step, for the ordering) and edges. */
export interface LayoutInput {
  nodes: ReadonlyArray<{ id: string; runId?: number | undefined }>;
  edges: ReadonlyArray<{ from: string; to: string }>;
}

export type Ranker = 'network-simplex' | 'tight-tree' | 'longest-path';

export interface LayoutOptions {
  ranker?: Ranker;
  /** Give dagre the nodes of the newest run first, then older runs, then nodes without a run (files, models). */
  orderByRun?: boolean;
}

const CANDIDATE_LIMIT = 400;
const candidates: LayoutOptions[] = (['network-simplex', 'longest-path', 'tight-tree'] as const).flatMap((ranker) => [
  { ranker },
  { ranker, orderByRun: true },
]);

interface NodeBox {
  width: number;
  height: number;
  x?: number;
  y?: number;
}
interface EdgeLine {
  points?: Point[];
}

/** The layout with the fewest crossings among the candidates (the first, dagre's default, on a tie). */
export function layoutLineage(graph: LayoutInput): Placed {
  if (graph.nodes.length > CANDIDATE_LIMIT) return layoutWith(graph, {});
  let best: { placed: Placed; crossings: number } | undefined;
  for (const options of candidates) {
    const placed = layoutWith(graph, options);
    const crossings = countCrossings(placed.edges.map((e) => e.points));
    if (!best || crossings < best.crossings) best = { placed, crossings };
    if (crossings === 0) break;
  }
  return best?.placed ?? layoutWith(graph, {});
}

/** One dagre layout (`{}`: dagre's defaults, nodes in the given order). */
export function layoutWith(graph: LayoutInput, options: LayoutOptions): Placed {
  const g = new Graph<
    { rankdir: string; nodesep: number; ranksep: number; marginx: number; marginy: number; ranker?: Ranker },
    NodeBox,
    EdgeLine
  >({ multigraph: false });
  g.setGraph({
    rankdir: 'LR',
    nodesep: 16,
    ranksep: 40,
    marginx: 16,
    marginy: 16,
    ...(options.ranker ? { ranker: options.ranker } : {}),
  });
  g.setDefaultEdgeLabel(() => ({}));
  const order = options.orderByRun ? [...graph.nodes].sort((a, b) => (b.runId ?? -1) - (a.runId ?? -1)) : graph.nodes;
  for (const n of order) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  for (const e of graph.edges) g.setEdge(e.from, e.to);
  layout(g);
  const nodes = new Map<string, Point>();
  for (const n of graph.nodes) {
    const box = g.node(n.id);
    // dagre gives centres; the view draws from the top-left corner.
    nodes.set(n.id, { x: (box.x ?? 0) - NODE_W / 2, y: (box.y ?? 0) - NODE_H / 2 });
  }
  const edges = graph.edges.map((e) => ({ from: e.from, to: e.to, points: g.edge(e.from, e.to)?.points ?? [] }));
  const label = g.graph();
  const width = Math.max(NODE_W, ...[...nodes.values()].map((p) => p.x + NODE_W)) + label.marginx;
  const height = Math.max(NODE_H, ...[...nodes.values()].map((p) => p.y + NODE_H)) + label.marginy;
  return { nodes, edges, width, height };
}

/** Pairs of polylines that cross (properly: touching at a shared end, as edges of one node do, is not a crossing). */
export function countCrossings(lines: ReadonlyArray<readonly Point[]>): number {
  const side = (a: Point, b: Point, c: Point): number =>
    Math.sign((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x));
  const cross = (a: Point, b: Point, c: Point, d: Point): boolean =>
    side(a, b, c) * side(a, b, d) < 0 && side(c, d, a) * side(c, d, b) < 0;
  let count = 0;
  for (let i = 0; i < lines.length; i++) {
    for (let j = i + 1; j < lines.length; j++) {
      const p = lines[i] ?? [];
      const q = lines[j] ?? [];
      let found = false;
      for (let s = 1; s < p.length && !found; s++) {
        for (let t = 1; t < q.length && !found; t++) {
          const [a, b, c, d] = [p[s - 1], p[s], q[t - 1], q[t]];
          if (a && b && c && d && cross(a, b, c, d)) found = true;
        }
      }
      if (found) count++;
    }
  }
  return count;
}
