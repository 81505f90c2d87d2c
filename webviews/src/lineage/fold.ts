import type { LineageGraph, LineageNode } from '@cairn/protocol/runtime/model.js';

/**
 * What the lineage view shows by default for a run: its steps, what they read (up to the source data) and what they
 * wrote (artifacts, model versions, deployments). Steps of other runs — the run that first computed a cached
 * output, a later run that read this one's output — and what is reachable only through them are folded into one
 * count node, so a run's graph stays its own size however many runs share the cache.
 */

export const FOLD_ID = 'fold:other-runs';

export interface Focused {
  /** The nodes and edges shown: every edge joins two shown nodes. */
  graph: LineageGraph;
  /** The nodes left out (empty: nothing to fold). */
  folded: LineageNode[];
  /** The runs the folded steps belong to, ascending. */
  foldedRuns: number[];
}

/** The run a lineage target names (`run:12` or `12`); undefined for artifact and model targets. */
export function targetRun(target: string | undefined): number | undefined {
  const m = /^(?:run:)?(\d+)$/.exec(target?.trim() ?? '');
  return m ? Number(m[1]) : undefined;
}

export function focusOnRun(graph: LineageGraph, runId: number | undefined): Focused {
  const own = graph.nodes.filter((n) => n.kind === 'step' && n.runId === runId);
  if (runId === undefined || own.length === 0) return { graph, folded: [], foldedRuns: [] };
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const otherStep = (id: string): boolean => {
    const n = byId.get(id);
    return n?.kind === 'step' && n.runId !== runId;
  };
  const ins = new Map<string, string[]>();
  const outs = new Map<string, string[]>();
  for (const e of graph.edges) {
    ins.set(e.to, [...(ins.get(e.to) ?? []), e.from]);
    outs.set(e.from, [...(outs.get(e.from) ?? []), e.to]);
  }
  const keep = new Set(own.map((n) => n.id));
  // Upstream: everything the run's steps read, transitively, but not through another run's step.
  const walk = (start: string[], next: Map<string, string[]>, enter: (id: string) => boolean): void => {
    const seen = new Set(start);
    const queue = [...start];
    while (queue.length > 0) {
      const id = queue.pop() ?? '';
      for (const m of next.get(id) ?? []) {
        if (seen.has(m) || !enter(m)) continue;
        seen.add(m);
        keep.add(m);
        queue.push(m);
      }
    }
  };
  walk([...keep], ins, (id) => !otherStep(id));
  // Downstream: what the run wrote and what was made of it (model versions, deployments), up to the next step.
  walk(
    own.map((n) => n.id),
    outs,
    (id) => byId.get(id)?.kind !== 'step',
  );
  const folded = graph.nodes.filter((n) => !keep.has(n.id));
  if (folded.length === 0) return { graph, folded, foldedRuns: [] };
  const foldedRuns = [
    ...new Set(folded.flatMap((n) => (n.kind === 'step' && n.runId !== undefined ? [n.runId] : []))),
  ].sort((a, b) => a - b);
  return {
    graph: {
      nodes: graph.nodes.filter((n) => keep.has(n.id)),
      edges: graph.edges.filter((e) => keep.has(e.from) && keep.has(e.to)),
    },
    folded,
    foldedRuns,
  };
}

/** The text of a node's box: a file by its name (the path is in its title), a step without its run suffix. */
export function shortLabel(n: LineageNode): string {
  if (n.path !== undefined && (n.kind === 'data' || n.kind === 'artifact'))
    return n.path.split('/').filter(Boolean).pop() ?? n.path;
  if (n.kind === 'step') return n.label.replace(/ \(run \d+(, cached)?\)$/, '');
  return n.label;
}

/** The second line of a node's box: a step's run, a file's folder and content hash. */
export function detailLine(n: LineageNode): string {
  if (n.kind === 'step')
    return n.runId === undefined ? '' : `run #${n.runId}${/, cached\)$/.test(n.label) ? ' · cached' : ''}`;
  const folder = n.path?.split('/').slice(0, -1).pop();
  return [folder === undefined ? undefined : `${folder}/`, n.hash?.slice(0, 8)].filter(Boolean).join(' · ');
}
