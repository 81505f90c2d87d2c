import type { CairnDiagnostic } from '../diagnostics.js';
import type { Span } from '../text.js';
import { builtins, getBuiltin, type BuiltinSpec } from './builtins.js';
import { PipelineCode } from './codes.js';
import { checkMatrix } from './checkMatrix.js';
import {
  alignBlocks,
  recordingHost,
  reuseCross,
  type Alignment,
  type CrossRun,
  type HostRead,
  type StepIndex,
} from './crossReuse.js';
import { singleEdit, type Block } from './incremental.js';
import { cyclePath, findCycles, referencesByStep, stepEdges } from './graph.js';
import { exactInterpolation } from './interpolation.js';
import type { ParamSymbol, ParsedPipeline, PipelineHost, PipelineReference } from './model.js';
import { isPipelineDocument, parsePipeline, type PipelineDocument } from './parse.js';
import { closest, suggestionFix as fix } from './suggest.js';
import { pathUses, type PathUse, type StepInfo, type StepRead } from './symbols.js';
import { describeEscape, isUnder, resolveText, withName, type Confinement } from '../paths/confine.js';
import { checkWithZod, type IssueCodes } from './zodIssues.js';
import { makeDiagnostic, mapGet, nodeAtPath, shiftDiagnostic, type YNode } from './yamlTree.js';

/**
 * The semantic pass: every finding that needs more than one block's text — the catalogue of built-ins, other blocks,
 * or the file system. Per step (`stepChecks`: the built-in, its options, the outputs it keeps, its gates; a function of
 * the step's block and of the reads recorded through its StepCheckContext, cached with the block) and across steps (references, cycles, files, outputs written
 * twice, unused params and steps, the A/B split). Syntax is yamlTree.ts/yamlErrors.ts's, one block's shape
 * structure.ts's.
 */

const optionCodes: IssueCodes = {
  noun: 'option',
  unknownKey: PipelineCode.unknownOption,
  missingKey: PipelineCode.missingOption,
  wrongType: PipelineCode.optionType,
  invalidValue: PipelineCode.optionType,
};

const builtinNames = builtins.map((b) => b.name);

/** Numbers the checks: a step cache validated by the last check of its document carries that check's number. */
let epochs = 0;

/** Every finding for a pipeline: syntax and structure (from the parse), then the semantic pass. */
export function checkPipeline(parsed: ParsedPipeline | PipelineDocument, host: PipelineHost): CairnDiagnostic[] {
  const doc = isPipelineDocument(parsed) ? parsed : parsePipeline(parsed.file, parsed.text);
  const out: CairnDiagnostic[] = [...doc.diagnostics];
  // On broken YAML the tree is a guess: semantic findings on it would mostly be noise.
  if (!doc.root || doc.diagnostics.some((d) => d.code === PipelineCode.yamlSyntax)) return out;
  // Step-local checks depend on the step's block and on what they read through their context: cached per block.
  const answers = readAnswers(doc);
  const state = doc.checkState;
  // Blocks that line up with the last check's have its symbol names, outputs and references: a `${...}` resolves as it
  // did then, so the caches that check validated (its epoch) need only their param reads asked again.
  const aligned = state.cross && doc.blocks ? alignBlocks(state.cross, doc.blocks) : undefined;
  // So do they after an in-place edit that kept every name (parse.ts), whatever else it changed.
  const edit = doc.blocks ? singleEdit(doc.blocks) : undefined;
  const namesKept = edit?.namesKept === true && state.steps !== undefined && edit.from === state.steps.blocks;
  const lastEpoch = aligned || namesKept ? state.epoch : undefined;
  if (!(lastEpoch !== undefined && revisitSteps(doc, lastEpoch, answers, out))) {
    const epoch = ++epochs;
    // Who reads which param, for the next check to revisit only those (revisitSteps).
    const index: StepIndex | undefined = doc.blocks ? newStepIndex(doc.blocks, epoch) : undefined;
    for (const step of doc.symbols.steps.values()) {
      const cache = step.cache;
      const refsHold = lastEpoch !== undefined && cache?.epoch === lastEpoch;
      if (!(cache?.diagnostics && cache.reads && readsStillHold(answers, cache.reads, refsHold))) {
        const local: CairnDiagnostic[] = [];
        const reads: StepRead[] = [];
        const ctx = stepContext(doc, step, reads, answers);
        for (const check of stepChecks) check(ctx, local);
        for (const d of local) out.push(d);
        if (!cache) continue;
        cache.reads = reads;
        cache.diagnostics = local;
      } else for (const d of cache.diagnostics) out.push(d);
      cache.epoch = epoch;
      if (index) register(index, step.name, cache.reads, cache.diagnostics);
    }
    state.epoch = epoch;
    state.steps = index;
    state.lastSteps = 'all';
  } else state.lastSteps = 'revisited';
  for (const d of crossStepFindings(doc, host, aligned)) out.push(d);
  out.sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end);
  return out;
}

function newStepIndex(blocks: readonly Block[], epoch: number): StepIndex {
  return { blocks, epoch, answers: new Map(), readers: new Map(), readsOf: new Map(), withFindings: new Set() };
}

function register(index: StepIndex, step: string, reads: readonly StepRead[], found: readonly CairnDiagnostic[]): void {
  const params: string[] = [];
  for (const r of reads) {
    if (r.kind !== 'param') continue;
    params.push(r.name);
    if (!index.answers.has(r.name)) index.answers.set(r.name, r.answer);
    let readers = index.readers.get(r.name);
    if (!readers) index.readers.set(r.name, (readers = new Set()));
    readers.add(step);
  }
  index.readsOf.set(step, params);
  if (found.length > 0) index.withFindings.add(step);
}

/** `reads` read exactly the params `names`, in order. */
function sameParams(names: readonly string[], reads: readonly StepRead[]): boolean {
  let i = 0;
  for (const r of reads) if (r.kind === 'param' && names[i++] !== r.name) return false;
  return i === names.length;
}

/**
 * The step-local findings from the last check's (its StepIndex), when this document is the one it checked or that one
 * with a single block replaced in place (incremental.ts) and the references resolve as then (`lastEpoch`): only the
 * replaced step and the steps reading a param whose answer changed are checked again; the others' caches stand, and
 * keep the last check's epoch. False when that does not hold: then every step is visited.
 */
function revisitSteps(
  doc: PipelineDocument,
  lastEpoch: number,
  answers: ReturnType<typeof readAnswers>,
  out: CairnDiagnostic[],
): boolean {
  const index = doc.checkState.steps;
  if (!index || !doc.blocks || index.epoch !== lastEpoch) return false;
  const visit = new Set<string>();
  if (index.blocks !== doc.blocks) {
    const edit = singleEdit(doc.blocks);
    if (!edit || edit.from !== index.blocks) return false;
    if (edit.step !== undefined) visit.add(edit.step);
  }
  for (const [name, before] of index.answers) {
    const now = answers('param', name);
    if (now === before) continue;
    index.answers.set(name, now);
    for (const s of index.readers.get(name) ?? []) visit.add(s);
  }
  for (const name of visit) {
    const step = doc.symbols.steps.get(name);
    const cache = step?.cache;
    const before = index.readsOf.get(name);
    const refsHold = cache?.epoch === lastEpoch;
    if (step && cache && !(cache.diagnostics && cache.reads && readsStillHold(answers, cache.reads, refsHold))) {
      const local: CairnDiagnostic[] = [];
      const reads: StepRead[] = [];
      const ctx = stepContext(doc, step, reads, answers, refsHold ? cache.reads : undefined);
      for (const check of stepChecks) check(ctx, local);
      cache.reads = reads;
      cache.diagnostics = local;
    }
    if (step && cache?.reads && cache.diagnostics && before && sameParams(before, cache.reads)) {
      // Reads the same params as before (a param's value changed): only its findings may have come or gone.
      cache.epoch = lastEpoch;
      if (cache.diagnostics.length > 0) index.withFindings.add(name);
      else index.withFindings.delete(name);
      continue;
    }
    for (const p of before ?? []) index.readers.get(p)?.delete(name);
    index.readsOf.delete(name);
    index.withFindings.delete(name);
    if (!step || !cache?.reads || !cache.diagnostics) continue;
    cache.epoch = lastEpoch;
    register(index, name, cache.reads, cache.diagnostics);
  }
  for (const name of index.withFindings)
    for (const d of doc.symbols.steps.get(name)?.cache?.diagnostics ?? []) out.push(d);
  index.blocks = doc.blocks;
  return true;
}

/**
 * The findings across steps: the last ones moved to the current blocks when nothing they depend on changed
 * (crossReuse.ts), else the passes run, recording what they asked the host.
 */
function crossStepFindings(
  doc: PipelineDocument,
  host: PipelineHost,
  aligned: Alignment | undefined,
): CairnDiagnostic[] {
  const state = doc.checkState;
  const reused = aligned ? reuseCross(aligned, host) : undefined;
  if (reused) {
    state.cross = { ...(state.cross as CrossRun), blocks: doc.blocks ?? [], findings: reused };
    state.lastCross = 'reused';
    return reused;
  }
  const reads: HostRead[] = [];
  const out: CairnDiagnostic[] = [];
  const { byStep, other } = referencesByStep(doc);
  checkReferences(doc, out);
  checkCycles(doc, out, byStep, other);
  checkFiles(doc, doc.blocks ? recordingHost(host, reads) : host, out);
  checkOutputsWrittenTwice(doc, out);
  checkUnusedParams(doc, out);
  checkUnusedSteps(doc, byStep, other, out);
  checkAbSplit(doc, out);
  checkMatrix(doc, out);
  // Kept with spans of their own: the next parse may move the tree's in place (incremental.ts, `consume`), and
  // reuseCross moves these from where they were.
  state.cross = doc.blocks ? { blocks: doc.blocks, findings: out.map((d) => shiftDiagnostic(d, 0)), reads } : undefined;
  state.lastCross = 'computed';
  return out;
}

/**
 * A step-local check: a function of the step's own block (`ctx.step`) and of what it reads through `ctx` (params,
 * whether a `${...}` reference resolves). Reading the document any other way would make its cached result stale:
 * add an accessor here instead, recorded in `reads`. A new check is one more entry of `stepChecks`.
 */
export interface StepCheckContext {
  readonly doc: PipelineDocument;
  readonly step: StepInfo;
  param(name: string): ParamSymbol | undefined;
  resolves(ref: string): boolean;
}
export type StepCheck = (ctx: StepCheckContext, out: CairnDiagnostic[]) => void;

function paramAnswer(p: ParamSymbol | undefined): string {
  return p ? `${p.type}:${JSON.stringify(p.value) ?? ''}` : '';
}

/** The answer to each read, asked once per check: thousands of steps read the same few params and references. */
function readAnswers(doc: PipelineDocument): (kind: StepRead['kind'], name: string) => string {
  // One map per kind (no key built per read: this runs for every read of every step on each check).
  const params = new Map<string, string>();
  const refs = new Map<string, string>();
  return (kind, name) => {
    const memo = kind === 'param' ? params : refs;
    let a = memo.get(name);
    if (a === undefined) {
      a = kind === 'param' ? paramAnswer(doc.symbols.params.get(name)) : String(refResolves(doc, name));
      memo.set(name, a);
    }
    return a;
  };
}

function stepContext(
  doc: PipelineDocument,
  step: StepInfo,
  reads: StepRead[],
  answer: ReturnType<typeof readAnswers>,
  known?: readonly StepRead[],
): StepCheckContext {
  return {
    doc,
    step,
    param: (name) => {
      reads.push({ kind: 'param', name, answer: answer('param', name) });
      return doc.symbols.params.get(name);
    },
    resolves: (ref) => {
      // `known`: the step's last reads, while references resolve as they did then (most are unique to their step, so
      // the per-check memo would not help them).
      const a = known?.find((r) => r.kind === 'ref' && r.name === ref)?.answer ?? answer('ref', ref);
      reads.push({ kind: 'ref', name: ref, answer: a });
      return a === 'true';
    },
  };
}

function readsStillHold(
  answer: ReturnType<typeof readAnswers>,
  reads: readonly StepRead[],
  refsHold: boolean,
): boolean {
  for (const r of reads) if (!(refsHold && r.kind === 'ref') && answer(r.kind, r.name) !== r.answer) return false;
  return true;
}

function listOf(names: Iterable<string>): string {
  const all = [...names];
  if (all.length === 0) return 'none are defined';
  return all.length > 8 ? `${all.slice(0, 8).join(', ')}, ...` : all.join(', ');
}

function checkReferences(doc: PipelineDocument, out: CairnDiagnostic[]): void {
  const { params, data, steps } = doc.symbols;
  for (const r of doc.references) {
    switch (r.kind) {
      case 'param':
        if (!params.has(r.name)) {
          const s = closest(r.name, params.keys());
          out.push(
            makeDiagnostic(
              PipelineCode.unknownParam,
              `Unknown param '${r.name}'${s ? `: did you mean '${s}'?` : ` (params: ${listOf(params.keys())})`}`,
              r.nameSpan,
              fix(r.nameSpan, s),
            ),
          );
        }
        break;
      case 'data':
        if (!data.has(r.name)) {
          const s = closest(r.name, data.keys());
          out.push(
            makeDiagnostic(
              PipelineCode.unknownData,
              `Unknown data '${r.name}'${s ? `: did you mean '${s}'?` : ` (data: ${listOf(data.keys())})`}`,
              r.nameSpan,
              fix(r.nameSpan, s),
            ),
          );
        }
        break;
      case 'step':
        if (!steps.has(r.name)) {
          const s = closest(r.name, steps.keys());
          out.push(
            makeDiagnostic(
              PipelineCode.unknownStep,
              `Unknown step '${r.name}'${s ? `: did you mean '${s}'?` : ` (steps: ${listOf(steps.keys())})`}`,
              r.nameSpan,
              fix(r.nameSpan, s),
            ),
          );
        }
        break;
      case 'output': {
        const step = steps.get(r.step);
        if (!step) {
          const s = closest(r.step, steps.keys());
          out.push(
            makeDiagnostic(
              PipelineCode.unknownStep,
              `Unknown step '${r.step}'${s ? `: did you mean '${s}'?` : ` (steps: ${listOf(steps.keys())})`}`,
              r.stepSpan,
              fix(r.stepSpan, s),
            ),
          );
          break;
        }
        if (step.outputs.has(r.name)) break;
        const spec = step.kind === 'uses' && step.uses ? getBuiltin(step.uses) : undefined;
        if (step.kind === 'uses' && !spec) break; // unknown built-in: reported on `uses:`
        if (spec && r.name in spec.outputs) {
          out.push(
            makeDiagnostic(
              PipelineCode.unknownOutput,
              `Step '${r.step}' does not keep output '${r.name}': add it to its \`outputs:\` list.`,
              r.nameSpan,
            ),
          );
          break;
        }
        const s = closest(r.name, step.outputs.keys());
        out.push(
          makeDiagnostic(
            PipelineCode.unknownOutput,
            `Step '${r.step}' has no output '${r.name}'${s ? `: did you mean '${s}'?` : ` (its outputs: ${listOf(step.outputs.keys())})`}`,
            r.nameSpan,
            fix(r.nameSpan, s),
          ),
        );
        break;
      }
    }
  }
}

/** The value a `with:` option will have once interpolated, as far as types go. */
function substituted(ctx: StepCheckContext, node: YNode, unresolved: Set<number>): unknown {
  if (node.kind === 'seq') return node.items.map((i) => substituted(ctx, i, unresolved));
  if (node.kind === 'map') {
    const o: Record<string, unknown> = {};
    for (const e of node.entries) {
      const v = substituted(ctx, e.value, unresolved);
      // `__proto__` must become an own key, not the prototype; plain assignment (faster) for every other key.
      if (e.key === '__proto__')
        Object.defineProperty(o, e.key, { value: v, enumerable: true, writable: true, configurable: true });
      else o[e.key] = v;
    }
    return o;
  }
  const v = node.value;
  if (typeof v !== 'string' || !v.includes('${')) return v;
  const exact = exactInterpolation(v);
  if (exact?.startsWith('params.')) {
    const p = ctx.param(exact.slice(7));
    // A param without default keeps its declared type: pick a representative value of that type.
    if (p) return p.value ?? sampleOf(p.type);
  }
  if (!exact || !ctx.resolves(exact)) unresolved.add(node.span.start);
  // Paths and text: a non-empty string.
  return v;
}

function refResolves(doc: PipelineDocument, ref: string): boolean {
  const parts = ref.split('.');
  if (parts[0] === 'params') return parts.length === 2 && doc.symbols.params.has(parts[1] ?? '');
  if (parts[0] === 'data') return parts.length === 2 && doc.symbols.data.has(parts[1] ?? '');
  if (parts[0] === 'steps')
    return (
      parts.length === 4 &&
      parts[2] === 'outputs' &&
      doc.symbols.steps.get(parts[1] ?? '')?.outputs.has(parts[3] ?? '') === true
    );
  return false;
}

function sampleOf(type: string): unknown {
  switch (type) {
    case 'int':
      return 1;
    case 'float':
      return 0.5;
    case 'bool':
      return true;
    case 'list':
      return [];
    case 'map':
      return {};
    default:
      return 'x';
  }
}

/** Metric names a gate may use: the catalogue's, with `@k` also matching `@10`. */
function metricKnown(spec: BuiltinSpec, metric: string): boolean {
  if (spec.metrics.includes(metric)) return true;
  const at = /^(.*)@\d+$/.exec(metric);
  return at !== null && spec.metrics.includes(`${at[1] ?? ''}@k`);
}

/** A built-in step: the built-in exists, its options, the outputs it keeps, its gates. */
function checkBuiltinStep(ctx: StepCheckContext, out: CairnDiagnostic[]): void {
  const step = ctx.step;
  const v = step.entry.value;
  if (v.kind !== 'map' || step.kind !== 'uses') return;
  const usesEntry = mapGet(v, 'uses');
  if (!usesEntry || usesEntry.value.kind !== 'scalar' || typeof usesEntry.value.value !== 'string') return;
  const spec = getBuiltin(usesEntry.value.value);
  const span = usesEntry.value.span;
  if (!spec) {
    const s = closest(usesEntry.value.value, builtinNames);
    out.push(
      makeDiagnostic(
        PipelineCode.unknownBuiltin,
        `Unknown built-in '${usesEntry.value.value}'${s ? `: did you mean '${s}'?` : ' (see docs/pipeline-spec.md for the catalogue)'}`,
        span,
        fix(span, s),
      ),
    );
    return;
  }
  checkKeptOutputs(v, spec, out);
  const withEntry = mapGet(v, 'with');
  const withNode: YNode = withEntry?.value ?? { kind: 'map', span: usesEntry.keySpan, entries: [], flow: false };
  if (withNode.kind === 'map' || (withNode.kind === 'scalar' && withNode.value === null)) {
    const node: YNode =
      withNode.kind === 'map' ? withNode : { kind: 'map', span: withNode.span, entries: [], flow: false };
    const found: CairnDiagnostic[] = [];
    const unresolved = new Set<number>();
    checkWithZod(
      spec.options,
      node,
      spec.name,
      withEntry?.keySpan ?? usesEntry.keySpan,
      found,
      optionCodes,
      substituted(ctx, node, unresolved),
    );
    // A broken or unknown reference is reported once, as such: not again as an option of the wrong type.
    for (const d of found) if (!(d.code === PipelineCode.optionType && unresolved.has(d.span.start))) out.push(d);
  }
  const gate = mapGet(v, 'gate')?.value;
  if (gate?.kind === 'map') {
    for (const g of gate.entries) {
      if (metricKnown(spec, g.key)) continue;
      const s = closest(g.key, spec.metrics);
      out.push(
        makeDiagnostic(
          PipelineCode.unknownMetric,
          `${spec.name} does not report '${g.key}'${s ? `: did you mean '${s}'?` : spec.metrics.length > 0 ? ` (it reports: ${spec.metrics.join(', ')})` : ' (it reports no metrics)'}`,
          g.keySpan,
          fix(g.keySpan, s),
        ),
      );
    }
  }
}

/** Every step-local check, run in this order on each step whose cached findings are stale. */
const stepChecks: readonly StepCheck[] = [checkBuiltinStep];

/** A built-in step's `outputs: [a, b]` names outputs its built-in writes. */
function checkKeptOutputs(step: YNode, spec: BuiltinSpec, out: CairnDiagnostic[]): void {
  const outputs = mapGet(step, 'outputs');
  // With `run:` as well the step is reported as both: its outputs are not checked against the built-in.
  if (outputs?.value.kind !== 'seq' || mapGet(step, 'run')) return;
  const names = Object.keys(spec.outputs);
  for (const item of outputs.value.items) {
    const name = item.kind === 'scalar' ? String(item.value) : '';
    if (item.kind !== 'scalar' || names.includes(name)) continue;
    const suggestion = closest(name, names);
    const hint = suggestion
      ? `: did you mean '${suggestion}'?`
      : names.length > 0
        ? ` (its outputs: ${names.join(', ')})`
        : ' (it writes none)';
    out.push(
      makeDiagnostic(
        PipelineCode.unknownOutput,
        `${spec.name} has no output '${name}'${hint}`,
        item.span,
        fix(item.span, suggestion),
      ),
    );
  }
}

function checkCycles(
  doc: PipelineDocument,
  out: CairnDiagnostic[],
  byStep: Map<string, PipelineReference[]>,
  other: PipelineReference[],
): void {
  const edges = stepEdges(doc, { byStep, other });
  const cycles = findCycles([...doc.symbols.steps.keys()], edges);
  for (const comp of cycles) {
    const loop = cyclePath(comp, edges);
    const text = loop.join(' → ');
    for (let i = 0; i + 1 < loop.length; i++) {
      const from = loop[i];
      const to = loop[i + 1];
      const edge = edges.find((e) => e.from === from && e.to === to);
      if (edge)
        out.push(
          makeDiagnostic(
            PipelineCode.cycle,
            `Cycle: ${text}. Steps cannot depend on themselves; remove one of these dependencies.`,
            edge.span,
          ),
        );
    }
  }
}

/** Paths must stay inside the pipeline's folder, as text (docs/architecture.md, "Security: workspace confinement"). */
export function escapesRoot(path: string): boolean {
  // Most paths are plainly relative: skip the walk.
  if (!path.includes('..') && !/^([A-Za-z]:)?[\\/~]/.test(path)) return false;
  if (/^([A-Za-z]:)?[\\/]/.test(path) || /^~/.test(path)) return true;
  let depth = 0;
  for (const part of path.split(/[\\/]+/)) {
    if (part === '..') depth--;
    else if (part !== '.' && part !== '') depth++;
    if (depth < 0) return true;
  }
  return false;
}

export function normalizePath(path: string): string {
  // Most paths are already normal: skip the split.
  if (
    !path.includes('\\') &&
    !path.includes('//') &&
    !path.startsWith('./') &&
    !path.includes('/.') &&
    !path.endsWith('/') &&
    !path.startsWith('../') &&
    path !== '.' &&
    path !== '..'
  )
    return path;
  const parts: string[] = [];
  for (const part of path.split(/[\\/]+/)) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

/** The pipeline's `allow_outside:` folders (absolute entries only; others are reported by the parse). */
export function allowedOutside(doc: PipelineDocument): string[] {
  const list = doc.root ? mapGet(doc.root, 'allow_outside')?.value : undefined;
  if (list?.kind !== 'seq') return [];
  return list.items.flatMap((i) =>
    i.kind === 'scalar' && typeof i.value === 'string' && i.value.startsWith('/') ? [resolveText('/', i.value)] : [],
  );
}

/**
 * A path that leaves the workspace, as text or through a symbolic link the host sees: a finding, unless it is a read
 * below an `allow_outside:` folder. Outputs are checked by their folder: an output that is itself a link is replaced
 * by a regular file when the step runs, never followed.
 */
function escapeFinding(
  u: PathUse,
  confine: (path: string, read: boolean) => Confinement | undefined,
  allowed: readonly string[],
): CairnDiagnostic | undefined {
  const read = u.role !== 'write';
  let result: Confinement | undefined;
  try {
    const found = confine(read ? u.value : parentOf(u.value), read);
    result =
      found && !read
        ? withName(
            found,
            u.value
              .replace(/[\\/]+$/, '')
              .split(/[\\/]/)
              .pop() ?? '',
          )
        : found;
  } catch {
    // A host that cannot answer is not a finding about the pipeline; the textual check still applies.
    result = undefined;
  }
  if (escapesRoot(u.value)) {
    // The language's rule is the pipeline's folder, as text; a read below an `allow_outside:` folder is the exception.
    const textAllowed = u.value.startsWith('/') && allowed.some((a) => isUnder(a, resolveText('/', u.value)));
    if (read && (result ? result.kind === 'allowed' : textAllowed)) return undefined;
    const hint = read ? ' (or list its folder under `allow_outside:` to read it as a read-only input)' : '';
    const message = `'${u.value}' leaves the pipeline's folder: use a path relative to it, without '..' above it`;
    return makeDiagnostic(PipelineCode.pathEscapes, `${message}${hint}.`, u.node.span);
  }
  if (result?.kind !== 'outside') return undefined;
  const todo = read
    ? 'Point the link inside the workspace, or list the outside folder under `allow_outside:` to read it (read-only)'
    : 'Replace the link by a real folder inside the workspace: nothing is ever written outside it';
  const where = `'${u.value}' is ${read ? 'read' : 'written'} outside the workspace: it ${describeEscape(result)}`;
  return makeDiagnostic(PipelineCode.pathEscapes, `${where}. ${todo}.`, u.node.span);
}

function parentOf(p: string): string {
  const norm = p.replace(/[\\/]+$/, '');
  const i = Math.max(norm.lastIndexOf('/'), norm.lastIndexOf('\\'));
  return i < 0 ? '.' : i === 0 ? '/' : norm.slice(0, i);
}

function checkFiles(doc: PipelineDocument, host: PipelineHost, out: CairnDiagnostic[]): void {
  const uses = pathUses(doc.symbols, doc.root);
  const allowed = allowedOutside(doc);
  const written = new Set<string>();
  for (const s of doc.symbols.steps.values()) for (const o of s.outputs.values()) written.add(normalizePath(o.path));
  // One answer per path per check: thousands of outputs share a folder, and the host's answers cost system calls.
  const confined = new Map<string, Confinement | undefined>();
  const confine = (p: string, read: boolean): Confinement | undefined => {
    const key = (read ? 'r' : 'w') + p;
    if (confined.has(key)) return confined.get(key);
    const found = host.confine?.(p, read ? allowed : []);
    confined.set(key, found);
    return found;
  };
  for (const u of uses) {
    const escape = escapeFinding(u, confine, allowed);
    if (escape) {
      out.push(escape);
      continue;
    }
    if (u.role === 'write') continue;
    if (writtenByStep(written, normalizePath(u.value))) continue;
    let exists = false;
    try {
      exists = host.fileExists(u.value);
    } catch {
      // A host that cannot answer is not a finding about the pipeline.
      exists = true;
    }
    if (!exists) {
      out.push(
        makeDiagnostic(
          PipelineCode.missingFile,
          u.role === 'card'
            ? `Model card '${u.value}' does not exist: create it (see docs/model-card-spec.md) or fix the path.`
            : `File '${u.value}' does not exist (relative to the pipeline's folder), and no step writes it.`,
          u.node.span,
        ),
      );
    }
  }
}

/** The path or one of its folders is a step output. */
function writtenByStep(written: Set<string>, norm: string): boolean {
  for (let p = norm; p.length > 0; p = p.slice(0, Math.max(0, p.lastIndexOf('/')))) {
    if (written.has(p)) return true;
    if (!p.includes('/')) break;
  }
  return false;
}

function checkOutputsWrittenTwice(doc: PipelineDocument, out: CairnDiagnostic[]): void {
  const first = new Map<string, { step: string; span: Span }>();
  for (const s of doc.symbols.steps.values()) {
    if (s.kind !== 'run') continue;
    const seenHere = new Set<string>();
    for (const o of s.outputs.values()) {
      const norm = normalizePath(o.path);
      const prior = first.get(norm);
      if (prior && (prior.step !== s.name || seenHere.has(norm))) {
        out.push(
          makeDiagnostic(
            PipelineCode.duplicateOutput,
            `'${o.path}' is also written by step '${prior.step}': two steps cannot write the same file.`,
            o.span,
            {
              related: [{ span: prior.span, message: `written by '${prior.step}'` }],
            },
          ),
        );
        continue;
      }
      seenHere.add(norm);
      first.set(norm, { step: s.name, span: o.span });
    }
  }
}

function checkUnusedParams(doc: PipelineDocument, out: CairnDiagnostic[]): void {
  const used = new Set<string>();
  for (const r of doc.references) if (r.kind === 'param') used.add(r.name);
  for (const p of doc.symbols.params.values()) {
    if (used.has(p.name)) continue;
    out.push(
      makeDiagnostic(
        PipelineCode.unusedParam,
        `Param '${p.name}' is never used: read it with \`\${params.${p.name}}\` or list it in a step's \`params:\`, or remove it.`,
        p.keySpan,
        { tags: [1] },
      ),
    );
  }
}

/** Built-ins whose purpose is a report or a side effect, not a file for another step. */
const terminalCategories = new Set(['evaluate', 'drift', 'model']);

/**
 * A step is unused when it has outputs, nothing reads any of them (no step, data entry or deploy reference, no
 * `needs:`), and it is not terminal. Terminal: it reports (an evaluate/drift/model built-in, a command step with
 * `metrics:`, any step with `gate:`), it is a built-in step with an explicit `outputs:` list (kept as products), or
 * it is the last step of the file in a pipeline with no such step and no deploy.
 */
function checkUnusedSteps(
  doc: PipelineDocument,
  byStep: Map<string, PipelineReference[]>,
  other: PipelineReference[],
  out: CairnDiagnostic[],
): void {
  const consumed = new Set<string>();
  const mark = (r: PipelineReference, owner?: string) => {
    if (r.kind === 'output' && r.step !== owner) consumed.add(r.step);
    if (r.kind === 'step' && r.name !== owner) consumed.add(r.name);
  };
  for (const [name, refs] of byStep) for (const r of refs) mark(r, name);
  for (const r of other) mark(r);
  const steps = [...doc.symbols.steps.values()];
  const isTerminal = (s: StepInfo): boolean => {
    const v = s.entry.value;
    if (v.kind === 'map' && (mapGet(v, 'gate') || (s.kind === 'run' && mapGet(v, 'metrics')))) return true;
    // A built-in step that lists the outputs to keep declares them products of the pipeline.
    if (s.kind === 'uses' && s.declaredOutputs !== undefined) return true;
    const spec = s.uses ? getBuiltin(s.uses) : undefined;
    return spec !== undefined && terminalCategories.has(spec.category);
  };
  const hasDeploy = doc.root ? mapGet(doc.root, 'deploy') !== undefined : false;
  const anyTerminal = hasDeploy || steps.some(isTerminal);
  const last = steps.reduce<StepInfo | undefined>(
    (a, s) => (a === undefined || s.span.start > a.span.start ? s : a),
    undefined,
  );
  for (const s of steps) {
    if (s.outputs.size === 0 || consumed.has(s.name) || isTerminal(s)) continue;
    if (!anyTerminal && s === last) continue;
    if (s.kind === 'uses' && s.uses && !getBuiltin(s.uses)) continue;
    out.push(
      makeDiagnostic(
        PipelineCode.unusedStep,
        `Step '${s.name}' produces outputs nothing uses: reference one (\`\${steps.${s.name}.outputs.${[...s.outputs.keys()][0] ?? 'OUTPUT'}}\`), or remove the step.`,
        s.keySpan,
        {
          tags: [1],
        },
      ),
    );
  }
}

/** The two arms of a `deploy.ab.split`: the champion's alias, the challenger's alias and the challenger's share. */
export interface AbArms {
  champion: string;
  challenger: string;
  share: number;
}

/**
 * The two arms of a resolved `deploy.ab.split`, or what is wrong with it: the split names two aliases, one of them
 * `champion` or `challenger` (the other is the other arm), and the shares add up to 1 within 1e-9. The one rule for
 * the editor, `cairn validate` and `cairn serve`. A problem sits on the alias in the way (a third one), else on the
 * split (`splitNode`, or `fallback` for a caller without the tree); a wrong sum carries a fix setting the challenger's
 * share to the rest.
 */
export function abSplitArms(
  split: Readonly<Record<string, number>>,
  splitNode: YNode | undefined,
  fallback: Span,
): { arms: AbArms } | { problems: CairnDiagnostic[] } {
  const aliases = Object.keys(split);
  const has = (alias: string): boolean => Object.hasOwn(split, alias);
  const spanOf = (alias?: string): Span =>
    (alias !== undefined ? mapGet(splitNode, alias)?.keySpan : undefined) ?? splitNode?.span ?? fallback;
  const problems: CairnDiagnostic[] = [];
  const challenger = has('challenger')
    ? 'challenger'
    : has('champion')
      ? aliases.find((a) => a !== 'champion')
      : undefined;
  const champion = has('champion') ? 'champion' : aliases.find((a) => a !== 'challenger');
  const paired = aliases.length === 2 && challenger !== undefined && champion !== undefined;
  if (!paired) {
    const names = aliases.length === 0 ? 'no alias' : aliases.join(', ');
    problems.push(
      makeDiagnostic(
        PipelineCode.abSplit,
        `deploy.ab.split names ${names}: cairn serve splits traffic between two arms, so it names two aliases, one of them champion or challenger (e.g. { champion: 0.9, challenger: 0.1 })`,
        spanOf(aliases.length > 2 ? aliases.find((a) => a !== 'champion' && a !== 'challenger') : undefined),
      ),
    );
  }
  const sum = Object.values(split).reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-9) {
    let message = `deploy.ab.split shares add up to ${Number(sum.toPrecision(12))}, not 1: they are shares of all traffic`;
    let extra: Partial<CairnDiagnostic> = {};
    if (paired) {
      const kept = split[champion] ?? 0;
      const rest = Number((1 - kept).toPrecision(12));
      message += `; write ${challenger}: ${rest} (with ${champion}: ${kept})`;
      const value = mapGet(splitNode, challenger)?.value;
      if (value)
        extra = {
          fixes: [
            {
              title: `Set ${challenger} to ${rest} so the shares add up to 1`,
              span: value.span,
              newText: String(rest),
              isPreferred: true,
            },
          ],
        };
    }
    problems.push(makeDiagnostic(PipelineCode.abSplit, message, spanOf(), extra));
  }
  if (problems.length > 0 || !paired) return { problems };
  return { arms: { champion, challenger, share: split[challenger] ?? 0 } };
}

/** `deploy.ab.split` as `cairn serve` reads it, once its structure is valid (the schema reports the rest). */
function checkAbSplit(doc: PipelineDocument, out: CairnDiagnostic[]): void {
  const splitNode = nodeAtPath(doc.root, ['deploy', 'ab', 'split']);
  if (splitNode?.kind !== 'map') return;
  const split: Record<string, number> = {};
  for (const e of splitNode.entries) {
    const v = e.value;
    // The first of a duplicate key counts (the later one is reported as such).
    if (Object.hasOwn(split, e.key)) continue;
    if (v.kind !== 'scalar' || typeof v.value !== 'number' || !(v.value >= 0 && v.value <= 1)) return;
    // `__proto__` must become an own key, not the prototype.
    Object.defineProperty(split, e.key, { value: v.value, enumerable: true, writable: true, configurable: true });
  }
  const result = abSplitArms(split, splitNode, splitNode.span);
  if ('problems' in result) for (const d of result.problems) out.push(d);
}
