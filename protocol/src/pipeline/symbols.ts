import type { CairnDiagnostic } from '../diagnostics.js';
import type { Span } from '../text.js';
import { getBuiltin } from './builtins.js';
import { PipelineCode } from './codes.js';
import { scanInterpolations } from './interpolation.js';
import type { OutputSymbol, ParamSymbol, ParamType, PipelineReference, StepSymbol, Symbol } from './model.js';
import { paramTypes } from './schema.js';
import { makeDiagnostic, mapGet, toValue, type YEntry, type YMap, type YNode, type YScalar } from './yamlTree.js';

/**
 * Symbols of a pipeline: what its params, data entries and steps declare (the symbol tables), what each block refers
 * to (`${...}`, `needs:`, `params:`), and the files it names. Each is a function of one block (a section or a step),
 * so that an incremental parse can keep them per block.
 */

export interface StepCache {
  /**
   * What the step's checks read outside its own block, with the answer each read got: the cached findings are
   * reused exactly while every read still gets the same answer (check.ts, StepCheckContext).
   */
  reads?: StepRead[];
  diagnostics?: CairnDiagnostic[];
  /** The check that last found `reads` to hold (check.ts). */
  epoch?: number;
}

/** One read of a step check outside its block: `param` (its type and value) or `ref` (whether `${ref}` resolves). */
export interface StepRead {
  kind: 'param' | 'ref';
  name: string;
  answer: string;
}

export interface StepInfo extends StepSymbol {
  entry: YEntry;
  /** Semantic findings of this step alone, cached across incremental parses. */
  cache?: StepCache;
  /** The built-in's declared outputs subset (`outputs: [a, b]`), when given. */
  declaredOutputs?: YNode;
}

export interface DataInfo extends Symbol {
  entry: YEntry;
  /** `path:` (or the shorthand string), as written. */
  path?: string;
  pathNode?: YScalar;
  from?: string;
  fromNode?: YScalar;
}

export interface SymbolTables {
  steps: Map<string, StepInfo>;
  params: Map<string, ParamSymbol>;
  data: Map<string, DataInfo>;
}

// ---------------------------------------------------------------------------------------------------------------
// Params

/** A mapping is a param's long form when it has `type` or `default` (other keys are then checked as long-form keys). */
export function isLongForm(node: YNode): boolean {
  return node.kind === 'map' && node.entries.some((e) => e.key === 'type' || e.key === 'default');
}

export function inferType(value: unknown, node?: YNode): ParamType {
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') {
    if (node?.kind === 'scalar' && !node.quoted && Number.isInteger(value)) return 'int';
    return Number.isInteger(value) && node === undefined ? 'int' : 'float';
  }
  if (Array.isArray(value)) return 'list';
  if (value !== null && typeof value === 'object') return 'map';
  return 'string';
}

export function valueMatchesType(value: unknown, type: ParamType): boolean {
  switch (type) {
    case 'int':
      return typeof value === 'number' && Number.isInteger(value);
    case 'float':
      return typeof value === 'number' && Number.isFinite(value);
    case 'string':
      return typeof value === 'string';
    case 'bool':
      return typeof value === 'boolean';
    case 'list':
      return Array.isArray(value);
    case 'map':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
  }
}

export function paramFromNode(p: YEntry): ParamSymbol {
  const node = p.value;
  if (isLongForm(node)) {
    const def = mapGet(node, 'default');
    const value = toValue(def?.value);
    const t = toValue(mapGet(node, 'type')?.value);
    const type =
      typeof t === 'string' && (paramTypes as readonly string[]).includes(t)
        ? (t as ParamType)
        : inferType(value, def?.value);
    const description = toValue(mapGet(node, 'description')?.value);
    return {
      name: p.key,
      keySpan: p.keySpan,
      span: p.span,
      type,
      value: value === null ? undefined : value,
      secret: toValue(mapGet(node, 'secret')?.value) === true,
      ...(typeof description === 'string' ? { description } : {}),
    };
  }
  const value = toValue(node);
  return {
    name: p.key,
    keySpan: p.keySpan,
    span: p.span,
    type: inferType(value, node),
    value: value === null ? undefined : value,
    secret: false,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Symbol tables

const stepInfos = new WeakMap<YEntry, StepInfo>();

export function collectSymbols(root: YMap | undefined, withSteps = true): SymbolTables {
  const params = new Map<string, ParamSymbol>();
  const data = new Map<string, DataInfo>();
  const steps = new Map<string, StepInfo>();
  if (!root) return { params, data, steps };
  const p = mapGet(root, 'params')?.value;
  if (p?.kind === 'map') for (const e of p.entries) params.set(e.key, paramFromNode(e));
  const d = mapGet(root, 'data')?.value;
  if (d?.kind === 'map') for (const e of d.entries) data.set(e.key, dataFromEntry(e));
  const s = withSteps ? mapGet(root, 'steps')?.value : undefined;
  if (s?.kind === 'map')
    for (const e of s.entries) {
      // Blocks reused without a shift keep their entry objects: their step symbols can be reused as well.
      let info = stepInfos.get(e);
      if (!info) {
        info = stepFromEntry(e);
        stepInfos.set(e, info);
      }
      steps.set(e.key, info);
    }
  return { params, data, steps };
}

/**
 * The tables of `root` from those of the tree it was made from by replacing one entry (`before` → `after`, same key):
 * a step's symbol is replaced in a copy of the steps table; a section's tables are collected again (the steps table,
 * the large one, is kept).
 */
export function updateSymbols(
  previous: SymbolTables,
  root: YMap | undefined,
  replaced: { kind: 'top' | 'step'; before: YEntry; after: YEntry },
): SymbolTables {
  if (replaced.kind === 'step') {
    const steps = new Map(previous.steps);
    let info = stepInfos.get(replaced.after);
    if (!info) {
      info = stepFromEntry(replaced.after);
      stepInfos.set(replaced.after, info);
    }
    steps.set(replaced.after.key, info);
    return { params: previous.params, data: previous.data, steps };
  }
  const fresh = collectSymbols(root, false);
  return { params: fresh.params, data: fresh.data, steps: previous.steps };
}

/**
 * The tables name the same params, data entries, steps and step outputs (what a `${...}` reference resolves against).
 * Tables shared between the two are not walked; `onlyStep`: the steps differ in that step at most (updateSymbols).
 */
export function sameNames(a: SymbolTables, b: SymbolTables, onlyStep?: string): boolean {
  const sameKeys = (x: ReadonlyMap<string, unknown>, y: ReadonlyMap<string, unknown>): boolean => {
    if (x === y) return true;
    if (x.size !== y.size) return false;
    for (const k of x.keys()) if (!y.has(k)) return false;
    return true;
  };
  if (!sameKeys(a.params, b.params) || !sameKeys(a.data, b.data) || !sameKeys(a.steps, b.steps)) return false;
  if (a.steps === b.steps) return true;
  if (onlyStep !== undefined) {
    const before = a.steps.get(onlyStep);
    const after = b.steps.get(onlyStep);
    return before !== undefined && after !== undefined && sameKeys(before.outputs, after.outputs);
  }
  for (const [name, s] of b.steps) {
    const before = a.steps.get(name);
    if (before !== s && (!before || !sameKeys(before.outputs, s.outputs))) return false;
  }
  return true;
}

function dataFromEntry(e: YEntry): DataInfo {
  const info: DataInfo = { name: e.key, keySpan: e.keySpan, span: e.span, entry: e };
  if (e.value.kind === 'scalar' && typeof e.value.value === 'string') {
    info.path = e.value.value;
    info.pathNode = e.value;
  } else if (e.value.kind === 'map') {
    const pathNode = mapGet(e.value, 'path')?.value;
    const fromNode = mapGet(e.value, 'from')?.value;
    if (pathNode?.kind === 'scalar' && typeof pathNode.value === 'string') {
      info.path = pathNode.value;
      info.pathNode = pathNode;
    }
    if (fromNode?.kind === 'scalar' && typeof fromNode.value === 'string') {
      info.from = fromNode.value;
      info.fromNode = fromNode;
    }
  }
  return info;
}

/** Where built-in outputs land, relative to the pipeline's folder. */
export function builtinOutputPath(step: string, file: string): string {
  return `.cairn/work/${step}/${file}`;
}

/** The output name of a listed path: its file name without extension (`data/ratings.csv` → `ratings`). */
export function outputNameOfPath(path: string): string {
  const base = path.replace(/\/+$/, '').split('/').pop() ?? path;
  const dot = base.indexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** The symbol of one step: a function of its block alone. */
export function stepFromEntry(e: YEntry): StepInfo {
  const v = e.value;
  const outputs = new Map<string, OutputSymbol>();
  const needs: string[] = [];
  const info: StepInfo = { name: e.key, keySpan: e.keySpan, span: e.span, kind: 'run', outputs, needs, entry: e };
  if (v.kind !== 'map') return info;
  const usesEntry = mapGet(v, 'uses');
  // With both `run:` and `uses:` (reported), the built-in wins: its outputs are known.
  const outsEntry = usesEntry ? mapGet(v, 'outputs') : (mapGet(v, 'outputs') ?? mapGet(v, 'outs'));
  if (usesEntry) {
    info.kind = 'uses';
    const uses = toValue(usesEntry.value);
    if (typeof uses === 'string') info.uses = uses;
    const spec = typeof uses === 'string' ? getBuiltin(uses) : undefined;
    if (outsEntry) info.declaredOutputs = outsEntry.value;
    if (spec) {
      const listed = outsEntry?.value.kind === 'seq' ? outsEntry.value.items : undefined;
      for (const [name, o] of Object.entries(spec.outputs)) {
        const item = listed?.find((i) => i.kind === 'scalar' && i.value === name);
        if (listed && !item) continue;
        const at = item ?? usesEntry.value;
        outputs.set(name, { name, keySpan: at.span, span: at.span, path: builtinOutputPath(e.key, o.file) });
      }
    }
  } else if (outsEntry) {
    const o = outsEntry.value;
    if (o.kind === 'map') {
      for (const oe of o.entries)
        if (oe.value.kind === 'scalar' && typeof oe.value.value === 'string' && !outputs.has(oe.key))
          outputs.set(oe.key, { name: oe.key, keySpan: oe.keySpan, span: oe.span, path: oe.value.value });
    } else if (o.kind === 'seq') {
      for (const item of o.items) {
        if (item.kind !== 'scalar' || typeof item.value !== 'string') continue;
        const name = outputNameOfPath(item.value);
        if (!outputs.has(name)) outputs.set(name, { name, keySpan: item.span, span: item.span, path: item.value });
      }
    }
  }
  const n = mapGet(v, 'needs')?.value;
  if (n)
    for (const item of n.kind === 'seq' ? n.items : [n])
      if (item.kind === 'scalar' && typeof item.value === 'string') needs.push(item.value);
  return info;
}

// ---------------------------------------------------------------------------------------------------------------
// References

/** The span of a scalar's text without its quotes. */
export function innerSpan(node: YScalar, text: string): Span {
  const c = text[node.span.start];
  if (node.quoted && (c === '"' || c === "'") && node.span.end - node.span.start >= 2)
    return { start: node.span.start + 1, end: node.span.end - 1 };
  return node.span;
}

/**
 * Collects `${...}` references from every string scalar under `node`. The interpolation lexer reports its own syntax
 * errors (`interpolation-syntax`) as it goes: they are found nowhere else.
 */
export function collectReferences(node: YNode, text: string, refs: PipelineReference[], out: CairnDiagnostic[]): void {
  switch (node.kind) {
    case 'scalar': {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      const errors: Array<{ span: Span; message: string }> = [];
      scanInterpolations(text, node.span.start, node.span.end, refs, errors);
      for (const e of errors) out.push(makeDiagnostic(PipelineCode.interpolationSyntax, e.message, e.span));
      return;
    }
    case 'seq':
      for (const i of node.items) collectReferences(i, text, refs, out);
      return;
    case 'map':
      for (const e of node.entries) collectReferences(e.value, text, refs, out);
  }
}

/** The references of one top-level section (`steps:` included when its steps were not parsed apart). */
export function topReferences(entry: YEntry, text: string, refs: PipelineReference[], out: CairnDiagnostic[]): void {
  const value = entry.value;
  switch (entry.key) {
    case 'data':
      if (value.kind === 'map') for (const d of value.entries) collectReferences(d.value, text, refs, out);
      return;
    case 'steps':
      if (value.kind === 'map') for (const s of value.entries) stepReferences(s, text, refs, out);
      return;
    case 'deploy':
      collectReferences(value, text, refs, out);
  }
}

/**
 * A reference's spans for a scalar: objects of its own, never the tree's (incremental.ts moves a reference's spans and
 * its block's tree in place, each once).
 */
function ownSpans(node: YScalar, text: string): { nameSpan: Span; span: Span } {
  const inner = innerSpan(node, text);
  return { nameSpan: { start: inner.start, end: inner.end }, span: { start: node.span.start, end: node.span.end } };
}

/** The references of one step: `needs:` and `params:` entries, then every `${...}` in it. */
export function stepReferences(entry: YEntry, text: string, refs: PipelineReference[], out: CairnDiagnostic[]): void {
  const v = entry.value;
  if (v.kind !== 'map') return;
  const needs = mapGet(v, 'needs');
  if (needs)
    for (const item of needs.value.kind === 'seq' ? needs.value.items : [needs.value])
      if (item.kind === 'scalar' && typeof item.value === 'string')
        refs.push({ kind: 'step', name: item.value, ...ownSpans(item, text) });
  const params = mapGet(v, 'params');
  if (params?.value.kind === 'seq')
    for (const item of params.value.items)
      if (item.kind === 'scalar' && typeof item.value === 'string')
        refs.push({ kind: 'param', name: item.value, ...ownSpans(item, text) });
  collectReferences(v, text, refs, out);
}

// ---------------------------------------------------------------------------------------------------------------
// Files

export interface PathUse {
  node: YScalar;
  value: string;
  /** Read (must exist unless a step writes it), written, or a model card. */
  role: 'read' | 'write' | 'card';
}

/** Every literal file path the pipeline names (no `${...}` in it), in the order written per section. */
export function pathUses(symbols: SymbolTables, root: YMap | undefined): PathUse[] {
  const uses: PathUse[] = [];
  const add = (node: YNode | undefined, role: PathUse['role']) => {
    if (
      node?.kind === 'scalar' &&
      typeof node.value === 'string' &&
      node.value.length > 0 &&
      !node.value.includes('${')
    )
      uses.push({ node, value: node.value, role });
  };
  for (const d of symbols.data.values()) add(d.pathNode, 'read');
  for (const s of symbols.steps.values()) {
    const v = s.entry.value;
    if (v.kind !== 'map') continue;
    const deps = mapGet(v, 'deps')?.value;
    if (deps?.kind === 'seq') for (const i of deps.items) add(i, 'read');
    if (s.kind === 'run') {
      const outs = (mapGet(v, 'outputs') ?? mapGet(v, 'outs'))?.value;
      if (outs?.kind === 'map') for (const e of outs.entries) add(e.value, 'write');
      if (outs?.kind === 'seq') for (const i of outs.items) add(i, 'write');
      const metrics = mapGet(v, 'metrics')?.value;
      if (metrics?.kind === 'seq') for (const i of metrics.items) add(i, 'write');
    } else {
      const spec = s.uses ? getBuiltin(s.uses) : undefined;
      const w = mapGet(v, 'with')?.value;
      if (spec && w?.kind === 'map')
        for (const name of spec.inputs) {
          const opt = mapGet(w, name)?.value;
          if (opt?.kind === 'seq') for (const i of opt.items) add(i, 'read');
          else add(opt, name === 'card' ? 'card' : 'read');
        }
    }
  }
  const deploy = root ? mapGet(root, 'deploy')?.value : undefined;
  if (deploy?.kind === 'map') {
    add(mapGet(deploy, 'card')?.value, 'card');
    add(mapGet(deploy, 'model')?.value, 'read');
    const monitor = mapGet(deploy, 'monitor')?.value;
    if (monitor?.kind === 'map') add(mapGet(monitor, 'reference')?.value, 'read');
  }
  return uses;
}
