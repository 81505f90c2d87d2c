import type { CairnDiagnostic } from '../diagnostics.js';
import type { Span } from '../text.js';
import type { Block } from './incremental.js';
import type { PipelineHost, PipelineReference } from './model.js';
import type { PipelineDocument } from './parse.js';
import type { YEntry, YNode } from './yamlTree.js';

/**
 * Reuse of the cross-step findings (references, cycles, files, outputs written twice, unused params and steps, the A/B
 * split, the matrix) across edits. They are a function of the blocks' *cross projection* — each block's plain value
 * with the numbers and booleans of steps and params replaced by their type (no cross-step pass reads those; the
 * step-local checks that do are cached per step with their reads) — and of the host's answers. When every block
 * projects as before and the host answers every recorded question as before, the last findings are the findings,
 * moved to where their nodes are now: by the block's shift when its text is unchanged, else through the block's tree,
 * walked in step with the old one. Anything that does not line up falls back to running the passes.
 */

/** A question the cross-step passes asked the host, with its answer (compared as JSON). */
export interface HostRead {
  kind: 'exists' | 'confine';
  path: string;
  allowed: readonly string[];
  answer: string;
}

/** The last cross-step run: the blocks it saw, what it found and what it asked the host. */
export interface CrossRun {
  blocks: readonly Block[];
  findings: CairnDiagnostic[];
  reads: HostRead[];
  /**
   * Results that are functions of the blocks' cross projections too, kept while they are reused: the files a pipeline
   * depends on, by the pipeline file they are resolved against (the language server's `dependencies`).
   */
  dependencies?: { file: string; files: readonly string[] };
}

/** Carried from a document to the next incremental parse of it (parse.ts), like the blocks' step caches. */
export interface CheckState {
  cross?: CrossRun;
  /** The number of the last check (check.ts): the step caches it validated carry it. */
  epoch?: number;
  /** How the last check got its cross-step findings (tests and benchmarks). */
  lastCross?: 'reused' | 'computed';
  /** How the last check got its step-local findings: only the steps an edit can affect, or every step (tests). */
  lastSteps?: 'revisited' | 'all';
  /** Which step reads which param in the blocks the last check saw (check.ts, revisitSteps). */
  steps?: StepIndex;
}

/** The step-local findings of a check, indexed so that the next one revisits only the steps an edit can affect. */
export interface StepIndex {
  blocks: readonly Block[];
  /** The check that validated every step cache of `blocks`. */
  epoch: number;
  /** Param name → its answer (check.ts) when the steps reading it were checked, and those steps (by name). */
  answers: Map<string, string>;
  readers: Map<string, Set<string>>;
  /** Step name → the params its checks read. */
  readsOf: Map<string, string[]>;
  /** Steps with step-local findings. */
  withFindings: Set<string>;
}

/**
 * `compute()` (the files `doc` depends on, a function of its blocks' cross projections and its file name), from the
 * last check's run when that run is this document's: edits that leave the projections alone do not recompute it.
 */
export function projectedDependencies(doc: PipelineDocument, compute: () => readonly string[]): readonly string[] {
  const run = doc.checkState.cross;
  if (!run || !doc.blocks || run.blocks !== doc.blocks) return compute();
  if (run.dependencies?.file !== doc.file) run.dependencies = { file: doc.file, files: compute() };
  return run.dependencies.files;
}

/** A host that records every answer it gives (a throw included) into `reads`. */
export function recordingHost(host: PipelineHost, reads: HostRead[]): PipelineHost {
  const confine = host.confine?.bind(host);
  const recorded: PipelineHost = {
    fileExists: (p) => {
      const read: HostRead = { kind: 'exists', path: p, allowed: [], answer: thrown };
      reads.push(read);
      const a = host.fileExists(p);
      read.answer = JSON.stringify(a);
      return a;
    },
  };
  if (confine)
    recorded.confine = (p, allowed) => {
      const read: HostRead = { kind: 'confine', path: p, allowed, answer: thrown };
      reads.push(read);
      const a = confine(p, allowed);
      read.answer = JSON.stringify(a) ?? '';
      return a;
    };
  return recorded;
}

const thrown = '\u0000threw';

function answerNow(host: PipelineHost, r: HostRead): string {
  try {
    return r.kind === 'exists'
      ? JSON.stringify(host.fileExists(r.path))
      : (JSON.stringify(host.confine?.(r.path, r.allowed)) ?? '');
  } catch {
    return thrown;
  }
}

function readsHold(host: PipelineHost, reads: readonly HostRead[]): boolean {
  const seen = new Set<string>();
  for (const r of reads) {
    const key = `${r.kind}\u0000${r.path}\u0000${r.allowed.join('\u0000')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (answerNow(host, r) !== r.answer) return false;
  }
  return true;
}

const projections = new WeakMap<readonly unknown[], string>();

/** The block as the cross-step passes see it (keyed by its values, which shifted copies of a block share). */
function projection(b: Block): string {
  let p = projections.get(b.values);
  if (p === undefined) {
    const first = b.entries[0];
    const value = b.values[0];
    let projected: unknown = b.values;
    if (b.kind === 'step' && b.values.length === 1 && isRecord(value)) {
      // Numbers and booleans under these keys are options, thresholds and resources: only step-local checks read them.
      const step: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value))
        own(step, k, k === 'with' || k === 'gate' || k === 'resources' ? blank(v) : v);
      projected = [step, Object.keys(value)];
    } else if (b.kind === 'top' && first?.key === 'params') projected = blank(b.values);
    p = `${b.kind}\u0000${first?.key ?? ''}\u0000${JSON.stringify(projected) ?? ''}`;
    projections.set(b.values, p);
  }
  return p;
}

/** `__proto__` becomes an own key, not the prototype. */
function own(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function blank(v: unknown): unknown {
  if (typeof v === 'number' || typeof v === 'boolean') return `\u0000${typeof v}`;
  if (Array.isArray(v)) return v.map(blank);
  if (isRecord(v)) {
    const o: Record<string, unknown> = {};
    // Keys kept in order (a `__proto__` key as an own key, as the parse makes it).
    for (const [k, x] of Object.entries(v)) own(o, k, blank(x));
    return [o, Object.keys(v)];
  }
  return v;
}

/** Maps an old absolute offset to the new one for one block; undefined when the offset is not a node boundary. */
type OffsetMap = (offset: number) => number | undefined;

/** How the last run's blocks line up with the current ones: one offset map per block (undefined: unmoved). */
export interface Alignment {
  run: CrossRun;
  maps: Array<OffsetMap | undefined>;
}

/**
 * The last run's blocks paired one to one with `blocks`, every changed one projecting as before and its tree lining
 * up; undefined otherwise. Then the symbol tables' names, outputs, references and paths are the same as the last
 * run's. O(blocks) identity and length comparisons, plus a walk of each block whose text changed.
 */
export function alignBlocks(run: CrossRun, blocks: readonly Block[]): Alignment | undefined {
  const old = run.blocks;
  if (old.length !== blocks.length) return undefined;
  const maps: Array<OffsetMap | undefined> = new Array<OffsetMap | undefined>(old.length);
  const changed: number[] = [];
  for (let i = 0; i < old.length; i++) {
    const a = old[i];
    const b = blocks[i];
    if (!a || !b) return undefined;
    if (a === b) continue;
    if (a.text === b.text && a.kind === b.kind) {
      const d = b.start - a.start;
      if (d !== 0) maps[i] = (o) => o + d;
      continue;
    }
    if (a.kind !== b.kind || a.syntaxErrors || b.syntaxErrors || projection(a) !== projection(b)) return undefined;
    changed.push(i);
  }
  for (const i of changed) {
    const a = old[i];
    const b = blocks[i];
    const m = a && b ? treeMap(a, b) : undefined;
    if (!m) return undefined;
    maps[i] = (o) => m.get(o);
  }
  return { run, maps };
}

/**
 * The last cross-step findings moved onto the aligned blocks, or undefined when they may differ (the host answers a
 * recorded question differently, or a finding's span is not a node boundary): then the passes run.
 */
export function reuseCross(aligned: Alignment, host: PipelineHost): CairnDiagnostic[] | undefined {
  const { run, maps } = aligned;
  const old = run.blocks;
  if (!readsHold(host, run.reads)) return undefined;
  if (run.findings.length === 0) return [];
  const starts = old.map((b) => b.start);
  const blockOf = (offset: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  let failed = false;
  const mapSpan = (s: Span): Span => {
    const i = blockOf(s.start);
    const m = maps[i];
    if (!m) return s;
    const start = m(s.start);
    const end = m(s.end);
    if (start === undefined || end === undefined) {
      failed = true;
      return s;
    }
    return { start, end };
  };
  const out: CairnDiagnostic[] = [];
  for (const f of run.findings) {
    const moved: CairnDiagnostic = { ...f, span: mapSpan(f.span) };
    if (f.fixes) moved.fixes = f.fixes.map((x) => ({ ...x, span: mapSpan(x.span) }));
    if (f.related) moved.related = f.related.map((r) => (r.file === undefined ? { ...r, span: mapSpan(r.span) } : r));
    if (failed) return undefined;
    out.push(moved);
  }
  return out;
}

/**
 * Old offset → new offset of every node boundary of a block whose projection is unchanged (same keys, strings and
 * shape; numbers may be written differently), and of its references; undefined when the trees do not line up.
 */
function treeMap(a: Block, b: Block): Map<number, number> | undefined {
  const m = new Map<number, number>();
  let ok = true;
  const pair = (x: Span, y: Span) => {
    for (const [o, n] of [
      [x.start, y.start],
      [x.end, y.end],
    ] as const) {
      const known = m.get(o);
      if (known === undefined) m.set(o, n);
      else if (known !== n) ok = false;
    }
  };
  const entries = (xs: readonly YEntry[], ys: readonly YEntry[]) => {
    if (xs.length !== ys.length) return (ok = false);
    for (let i = 0; i < xs.length && ok; i++) {
      const x = xs[i];
      const y = ys[i];
      if (!x || !y || x.key !== y.key) return (ok = false);
      pair(x.keySpan, y.keySpan);
      pair(x.span, y.span);
      node(x.value, y.value);
    }
    return ok;
  };
  const node = (x: YNode, y: YNode): void => {
    if (x.kind !== y.kind) {
      ok = false;
      return;
    }
    pair(x.span, y.span);
    if (x.kind === 'map' && y.kind === 'map') entries(x.entries, y.entries);
    else if (x.kind === 'seq' && y.kind === 'seq') {
      if (x.items.length !== y.items.length) ok = false;
      for (let i = 0; i < x.items.length && ok; i++) {
        const xi = x.items[i];
        const yi = y.items[i];
        if (xi && yi) node(xi, yi);
      }
    } else if (x.kind === 'scalar' && y.kind === 'scalar') {
      // Offsets inside a string (a `${...}` reference) move with it only when it is written the same way.
      if (
        typeof x.value === 'string' &&
        a.text.slice(x.span.start - a.start, x.span.end - a.start) !==
          b.text.slice(y.span.start - b.start, y.span.end - b.start)
      )
        ok = false;
    }
  };
  entries(a.entries, b.entries);
  if (!ok || a.references.length !== b.references.length) return undefined;
  for (let i = 0; i < a.references.length; i++) {
    const x = a.references[i];
    const y = b.references[i];
    if (!x || !y || !sameReference(x, y)) return undefined;
    pair(x.span, y.span);
    pair(x.nameSpan, y.nameSpan);
    if (x.kind === 'output' && y.kind === 'output') pair(x.stepSpan, y.stepSpan);
  }
  return ok ? m : undefined;
}

function sameReference(x: PipelineReference, y: PipelineReference): boolean {
  if (x.kind !== y.kind || x.name !== y.name) return false;
  return x.kind !== 'output' || (y.kind === 'output' && x.step === y.step);
}
