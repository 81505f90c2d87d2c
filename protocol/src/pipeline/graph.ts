import type { Span } from '../text.js';
import type { PipelineReference } from './model.js';
import type { PipelineDocument } from './parse.js';
import type { DataInfo, StepInfo } from './symbols.js';

/** What a step refers to, and where, in the order written. */
export interface StepRefs {
  step: StepInfo;
  refs: PipelineReference[];
}

/** Groups references by the step that contains them; the rest (data, deploy) go to `other`. */
export function referencesByStep(doc: PipelineDocument): {
  byStep: Map<string, PipelineReference[]>;
  other: PipelineReference[];
} {
  const steps = [...doc.symbols.steps.values()].sort((a, b) => a.span.start - b.span.start);
  const byStep = new Map<string, PipelineReference[]>();
  for (const s of steps) byStep.set(s.name, []);
  const other: PipelineReference[] = [];
  for (const r of doc.references) {
    const s = findContaining(steps, r.span.start);
    if (s) byStep.get(s.name)?.push(r);
    else other.push(r);
  }
  return { byStep, other };
}

function findContaining(steps: StepInfo[], offset: number): StepInfo | undefined {
  let lo = 0;
  let hi = steps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = steps[mid];
    if (!s) break;
    if (offset < s.span.start) hi = mid - 1;
    else if (offset > s.span.end) lo = mid + 1;
    else return s;
  }
  return undefined;
}

/** Steps a data entry comes from (through `from: ${steps.s.outputs.o}` or `${data.other}` chains). */
export function dataSources(doc: PipelineDocument, refs: PipelineReference[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const data = doc.symbols.data;
  for (const [name, info] of data) out.set(name, stepsOfData(info, refs));
  return out;
}

function stepsOfData(info: DataInfo, refs: PipelineReference[]): string[] {
  const span: Span = info.span;
  const steps: string[] = [];
  for (const r of refs)
    if (r.kind === 'output' && r.span.start >= span.start && r.span.end <= span.end) steps.push(r.step);
  return steps;
}

export interface Edge {
  from: string;
  to: string;
  /** The reference that makes the edge (for cycle messages). */
  span: Span;
}

/** Edges upstream → step, from `needs:`, `${steps...}` and `${data.d}` where d comes from a step. Unknown names skipped. */
export function stepEdges(doc: PipelineDocument, grouped = referencesByStep(doc)): Edge[] {
  const { byStep, other } = grouped;
  const sources = dataSources(doc, other);
  const edges: Edge[] = [];
  for (const [name, refs] of byStep) {
    for (const r of refs) {
      if (r.kind === 'step' && doc.symbols.steps.has(r.name)) edges.push({ from: r.name, to: name, span: r.nameSpan });
      else if (r.kind === 'output' && doc.symbols.steps.has(r.step))
        edges.push({ from: r.step, to: name, span: r.stepSpan });
      else if (r.kind === 'data')
        for (const s of sources.get(r.name) ?? [])
          if (doc.symbols.steps.has(s)) edges.push({ from: s, to: name, span: r.nameSpan });
    }
  }
  return edges;
}

/** Strongly connected components with more than one step, or a step depending on itself (Tarjan). */
export function findCycles(names: string[], edges: Edge[]): string[][] {
  const adj = new Map<string, string[]>();
  for (const n of names) adj.set(n, []);
  const selfLoops = new Set<string>();
  for (const e of edges) {
    adj.get(e.from)?.push(e.to);
    if (e.from === e.to) selfLoops.add(e.from);
  }
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  // Iterative Tarjan: a 1,000-step chain would overflow the call stack recursively.
  for (const start of names) {
    if (idx.has(start)) continue;
    const work: Array<{ v: string; i: number }> = [{ v: start, i: 0 }];
    idx.set(start, index);
    low.set(start, index++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1];
      if (!top) break;
      const succ = adj.get(top.v) ?? [];
      if (top.i < succ.length) {
        const w = succ[top.i++] ?? '';
        if (!idx.has(w)) {
          idx.set(w, index);
          low.set(w, index++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(top.v, Math.min(low.get(top.v) ?? 0, idx.get(w) ?? 0));
        }
      } else {
        work.pop();
        const parent = work[work.length - 1];
        if (parent) low.set(parent.v, Math.min(low.get(parent.v) ?? 0, low.get(top.v) ?? 0));
        if (low.get(top.v) === idx.get(top.v)) {
          const comp: string[] = [];
          let w: string | undefined;
          do {
            w = stack.pop();
            if (w === undefined) break;
            onStack.delete(w);
            comp.push(w);
          } while (w !== top.v);
          if (comp.length > 1 || selfLoops.has(top.v)) cycles.push(comp.reverse());
        }
      }
    }
  }
  return cycles;
}

/** One concrete loop through a cycle's steps, in dependency order, e.g. ['a', 'b', 'a']. */
export function cyclePath(component: string[], edges: Edge[]): string[] {
  const set = new Set(component);
  const next = new Map<string, string>();
  for (const e of edges) if (set.has(e.from) && set.has(e.to) && !next.has(e.from)) next.set(e.from, e.to);
  const start = [...component].sort()[0] ?? '';
  const path = [start];
  const seen = new Set([start]);
  let cur = start;
  for (let i = 0; i <= component.length; i++) {
    const n = next.get(cur);
    if (n === undefined) break;
    path.push(n);
    if (seen.has(n)) break;
    seen.add(n);
    cur = n;
  }
  // Trim a lead-in so the path starts and ends at the same step.
  const last = path[path.length - 1];
  const first = path.indexOf(last ?? '');
  return path.slice(first);
}

/** Topological order (upstream first); ties keep the file's order. Undefined when there is a cycle. */
export function topoOrder(names: string[], edges: Edge[]): string[] | undefined {
  const indeg = new Map<string, number>();
  const adj = new Map<string, string[]>();
  for (const n of names) {
    indeg.set(n, 0);
    adj.set(n, []);
  }
  const seen = new Set<string>();
  for (const e of edges) {
    const k = e.from + '\u0000' + e.to;
    if (seen.has(k) || !indeg.has(e.to) || !indeg.has(e.from)) continue;
    seen.add(k);
    adj.get(e.from)?.push(e.to);
    indeg.set(e.to, (indeg.get(e.to) ?? 0) + 1);
  }
  const order: string[] = [];
  const position = new Map(names.map((n, i) => [n, i]));
  // A small binary heap on file position keeps the order stable and O(n log n).
  const heap: string[] = [];
  const less = (a: string, b: string) => (position.get(a) ?? 0) < (position.get(b) ?? 0);
  const push = (v: string) => {
    heap.push(v);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const hv = heap[i] ?? '';
      const pv = heap[p] ?? '';
      if (!less(hv, pv)) break;
      heap[i] = pv;
      heap[p] = hv;
      i = p;
    }
  };
  const pop = (): string | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l] ?? '', heap[m] ?? '')) m = l;
        if (r < heap.length && less(heap[r] ?? '', heap[m] ?? '')) m = r;
        if (m === i) break;
        const t = heap[i] ?? '';
        heap[i] = heap[m] ?? '';
        heap[m] = t;
        i = m;
      }
    }
    return top;
  };
  for (const n of names) if ((indeg.get(n) ?? 0) === 0) push(n);
  for (let v = pop(); v !== undefined; v = pop()) {
    order.push(v);
    for (const w of adj.get(v) ?? []) {
      const d = (indeg.get(w) ?? 0) - 1;
      indeg.set(w, d);
      if (d === 0) push(w);
    }
  }
  return order.length === names.length ? order : undefined;
}
