import type { CairnDiagnostic } from '../diagnostics.js';
import { LineIndex, type Span } from '../text.js';
import { getBuiltin } from './builtins.js';
import { PipelineCode } from './codes.js';
import { interpolationAt, scanInterpolations } from './interpolation.js';
import type { NodeLocation, OutputSymbol, ParamSymbol, ParamType, ParsedPipeline, PipelineReference, StepSymbol, Symbol } from './model.js';
import { dataEntrySchema, deploySchema, namePattern, paramLongSchema, paramTypes, stepSchema, topLevelShape } from './schema.js';
import { closest } from './suggest.js';
import { checkWithZod } from './zodIssues.js';
import { makeDiagnostic, mapGet, parseYaml, shiftDiagnostic, shiftEntry, shiftSpan, toValue, type YEntry, type YMap, type YNode, type YScalar } from './yamlTree.js';

/**
 * Parsing a pipeline: YAML with offsets → our tree → zod structure per section → symbols and references.
 *
 * Incremental: the text is split by indentation into top-level blocks and, inside `steps:`, one block per step. Each
 * block is parsed on its own and its results (tree, findings, references) are kept; the next parse reuses every block
 * whose text did not change, shifted to its new offset. When the split could be wrong (tabs, flow collections or
 * quoted scalars running across blocks, anchors/aliases, several documents, YAML errors) the whole text is parsed at
 * once instead, so the result always equals a full parse.
 */

/** One parsed block: the results are absolute (offsets into the text it was parsed from, at `start`). */
interface Block {
  kind: 'top' | 'step';
  text: string;
  start: number;
  entries: YEntry[];
  diagnostics: CairnDiagnostic[];
  references: PipelineReference[];
  /** Plain values of `entries` (no offsets in them: reused as they are). */
  values: unknown[];
  /** Needs the whole text (anchors, several documents): incremental results are not trusted. */
  needsFull: boolean;
  /** The block has YAML errors of its own. */
  syntaxErrors: boolean;
  /** Step-local semantic findings, kept by checkPipeline while the block and the params do not change. */
  cache: StepCache;
}

export interface StepCache {
  key?: string;
  diagnostics?: CairnDiagnostic[];
}

export interface PipelineDocument extends Omit<ParsedPipeline, 'symbols'> {
  /** The YAML tree (undefined when the text is not a mapping). */
  root: YMap | undefined;
  symbols: { steps: Map<string, StepInfo>; params: Map<string, ParamSymbol>; data: Map<string, DataInfo> };
  /** Blocks of the incremental parse (undefined after a full parse). */
  blocks: Block[] | undefined;
  /** How this parse was made (for tests and benchmarks). */
  mode: 'full' | 'incremental';
  reusedBlocks: number;
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

export function isPipelineDocument(p: ParsedPipeline | PipelineDocument | undefined): p is PipelineDocument {
  return p !== undefined && 'mode' in p && 'root' in p;
}

const topKeys = Object.keys(topLevelShape);

export interface ParseOptions {
  /** Parse the whole text at once (tests compare it with the incremental parse). */
  full?: boolean;
}

export function parsePipeline(file: string, text: string, previous?: ParsedPipeline | PipelineDocument, options: ParseOptions = {}): PipelineDocument {
  const split = options.full ? undefined : splitBlocks(text);
  if (split) {
    const prev = isPipelineDocument(previous) && previous.blocks ? previous.blocks : [];
    // Blocks before and after the edit match in order; only the ones in between are looked up by text.
    const same = (b: Block | undefined, spec: BlockSpec | undefined): boolean =>
      b !== undefined && spec !== undefined && b.kind === spec.kind && b.text.length === spec.end - spec.start && text.startsWith(b.text, spec.start);
    let head = 0;
    while (head < prev.length && head < split.length && same(prev[head], split[head])) head++;
    let tail = 0;
    while (tail < prev.length - head && tail < split.length - head && same(prev[prev.length - 1 - tail], split[split.length - 1 - tail])) tail++;
    let pool: Map<string, Block[]> | undefined;
    const lookup = (kind: string, blockText: string): Block | undefined => {
      if (!pool) {
        pool = new Map();
        for (let i = head; i < prev.length - tail; i++) {
          const b = prev[i];
          if (!b) continue;
          const key = b.kind + '\u0000' + b.text;
          const list = pool.get(key);
          if (list) list.push(b);
          else pool.set(key, [b]);
        }
      }
      return pool.get(kind + '\u0000' + blockText)?.shift();
    };
    const blocks: Block[] = [];
    let reused = 0;
    let ok = true;
    for (let i = 0; i < split.length; i++) {
      const spec = split[i];
      if (!spec) continue;
      const blockText = text.slice(spec.start, spec.end);
      const cached = i < head ? prev[i] : i >= split.length - tail ? prev[prev.length - (split.length - i)] : lookup(spec.kind, blockText);
      let block: Block;
      if (cached) {
        block = cached.start === spec.start ? cached : shiftBlock(cached, spec.start - cached.start);
        reused++;
      } else {
        block = parseBlock(spec.kind, blockText, spec.start);
      }
      if (block.needsFull) {
        ok = false;
        break;
      }
      blocks.push(block);
    }
    // A YAML error stays inside its block unless the split cut something in two (a quoted scalar or flow collection
    // running into the next block): then the block and its successor parse cleanly together, and the whole text is
    // parsed at once instead.
    if (ok) {
      for (let i = 0; i < blocks.length && ok; i++) {
        const b = blocks[i];
        if (!b?.syntaxErrors) continue;
        const next = blocks[i + 1];
        const joined = text.slice(b.start, next ? next.start + next.text.length : b.start + b.text.length);
        if (next === undefined || !parseYaml(joined, 0).diagnostics.some((d) => d.code === PipelineCode.yamlSyntax)) ok = false;
      }
    }
    if (ok) return assemble(file, text, blocks, reused);
  }
  return parseFull(file, text);
}

interface BlockSpec {
  kind: 'top' | 'step';
  start: number;
  end: number;
}

const topKeyLine = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*[ ]*:(?:[ \r]|$)/;

/** Splits by indentation, or undefined when the split could be ambiguous. */
export function splitBlocks(text: string): BlockSpec[] | undefined {
  if (text.includes('\t') || text.length === 0) return undefined;
  const specs: BlockSpec[] = [];
  const lineStarts: number[] = [];
  for (let i = 0; i < text.length; ) {
    lineStarts.push(i);
    const nl = text.indexOf('\n', i);
    i = nl < 0 ? text.length : nl + 1;
  }
  let blockStart = 0;
  let kind: 'top' | 'step' = 'top';
  // Inside `steps:`: the step indentation, once known; -1 while not splitting steps.
  let stepIndent = -1;
  let inSteps = false;
  let stepsOk = true;
  let stepsBlocks: BlockSpec[] = [];
  let stepsHeaderStart = 0;
  const closeSteps = (end: number) => {
    if (!inSteps) return;
    if (stepsOk && stepsBlocks.length > 0) {
      const first = stepsBlocks[0];
      if (first) specs.push({ kind: 'top', start: stepsHeaderStart, end: first.start });
      for (let i = 0; i < stepsBlocks.length; i++) {
        const b = stepsBlocks[i];
        const next = stepsBlocks[i + 1];
        if (b) specs.push({ kind: 'step', start: b.start, end: next ? next.start : end });
      }
    } else {
      specs.push({ kind: 'top', start: stepsHeaderStart, end });
    }
    inSteps = false;
    stepsBlocks = [];
  };
  for (let li = 0; li < lineStarts.length; li++) {
    const ls = lineStarts[li] ?? 0;
    let j = ls;
    if (li === 0 && text.charCodeAt(0) === 0xfeff) j++;
    const contentStart = j;
    while (text.charCodeAt(j) === 32) j++;
    const c = text.charCodeAt(j);
    if (j >= text.length || c === 10 || c === 13 || c === 35 /* # */) continue;
    const indent = j - contentStart;
    if (indent === 0) {
      const lineEnd = text.indexOf('\n', j);
      const line = text.slice(j, lineEnd < 0 ? text.length : lineEnd);
      if (!topKeyLine.test(line)) return undefined;
      // A new top-level key closes the previous block.
      if (inSteps) closeSteps(ls);
      else if (ls > blockStart || specs.length > 0 || kind !== 'top') {
        if (ls > blockStart) specs.push({ kind: 'top', start: blockStart, end: ls });
      }
      blockStart = ls;
      kind = 'top';
      if (/^steps[ ]*:[ ]*(#.*)?\r?$/.test(line)) {
        inSteps = true;
        stepsOk = true;
        stepIndent = -1;
        stepsHeaderStart = ls;
      }
      continue;
    }
    if (inSteps && stepsOk) {
      if (stepIndent < 0) stepIndent = indent;
      if (indent < stepIndent) stepsOk = false;
      else if (indent === stepIndent) {
        const lineEnd = text.indexOf('\n', j);
        const line = text.slice(j, lineEnd < 0 ? text.length : lineEnd);
        if (topKeyLine.test(line)) stepsBlocks.push({ kind: 'step', start: ls, end: ls });
        else stepsOk = false;
      }
    }
  }
  if (inSteps) closeSteps(text.length);
  else if (text.length > blockStart) specs.push({ kind: 'top', start: blockStart, end: text.length });
  // The first block may be only comments (a preamble) — fine: it parses to nothing.
  return specs;
}

function parseBlock(kind: 'top' | 'step', blockText: string, start: number): Block {
  const y = parseYaml(blockText, 0);
  const syntaxErrors = y.diagnostics.some((d) => d.code === PipelineCode.yamlSyntax);
  const needsFull = y.hasAnchors || y.documents > 1;
  const diagnostics = [...y.diagnostics];
  const references: PipelineReference[] = [];
  let entries: YEntry[] = [];
  if (y.root?.kind === 'map') entries = y.root.entries;
  else if (y.root && !(y.root.kind === 'scalar' && y.root.value === null)) return { kind, text: blockText, start, entries: [], diagnostics, references, values: [], needsFull: true, syntaxErrors, cache: {} };
  if (!needsFull && !syntaxErrors) {
    for (const e of entries) {
      if (kind === 'top') analyzeTop(e, blockText, diagnostics, references, true);
      else analyzeStep(e, blockText, diagnostics, references);
    }
  }
  const block: Block = { kind, text: blockText, start: 0, entries, diagnostics, references, values: entries.map((e) => toValue(e.value)), needsFull, syntaxErrors, cache: {} };
  return start === 0 ? block : shiftBlock(block, start);
}

function shiftBlock(b: Block, d: number): Block {
  return {
    kind: b.kind,
    text: b.text,
    start: b.start + d,
    entries: b.entries.map((e) => shiftEntry(e, d)),
    diagnostics: b.diagnostics.map((x) => shiftDiagnostic(x, d)),
    references: b.references.map((r) => shiftReference(r, d)),
    values: b.values,
    needsFull: b.needsFull,
    syntaxErrors: b.syntaxErrors,
    cache: b.cache.diagnostics ? { key: b.cache.key, diagnostics: b.cache.diagnostics.map((x) => shiftDiagnostic(x, d)) } : {},
  };
}

function shiftReference(r: PipelineReference, d: number): PipelineReference {
  if (r.kind === 'output') return { ...r, stepSpan: shiftSpan(r.stepSpan, d), nameSpan: shiftSpan(r.nameSpan, d), span: shiftSpan(r.span, d) };
  return { ...r, nameSpan: shiftSpan(r.nameSpan, d), span: shiftSpan(r.span, d) };
}

function parseFull(file: string, text: string): PipelineDocument {
  const y = parseYaml(text, 0);
  const diagnostics = [...y.diagnostics];
  const references: PipelineReference[] = [];
  let root: YMap | undefined;
  if (y.root?.kind === 'map') {
    root = y.root;
    for (const e of root.entries) analyzeTop(e, text, diagnostics, references, false);
  } else {
    notAMapping(text, y.root, diagnostics);
  }
  return finish(file, text, root, diagnostics, references, undefined, 'full', 0);
}

function notAMapping(_text: string, root: YNode | undefined, diagnostics: CairnDiagnostic[]): void {
  if (diagnostics.some((d) => d.code === PipelineCode.yamlSyntax)) return;
  const empty = !root || (root.kind === 'scalar' && root.value === null);
  const span = !empty && root.span.end > root.span.start ? root.span : { start: 0, end: 0 };
  const what = empty ? 'empty' : root.kind === 'seq' ? 'a list' : 'a single value';
  diagnostics.push(
    makeDiagnostic(PipelineCode.notAMapping, `A pipeline is a mapping with \`version: 1\` and \`steps:\`, but this file is ${what}.`, span, {
      fixes: what === 'empty' ? [{ title: 'Insert a pipeline skeleton', span: { start: 0, end: 0 }, newText: 'version: 1\nname: my-pipeline\nsteps:\n  hello:\n    run: echo hello\n' }] : [],
    }),
  );
}

function assemble(file: string, text: string, blocks: Block[], reused: number): PipelineDocument {
  const diagnostics: CairnDiagnostic[] = [];
  const references: PipelineReference[] = [];
  const topEntries: YEntry[] = [];
  const stepEntries: YEntry[] = [];
  const values = new Map<YEntry, unknown>();
  const caches = new Map<YEntry, StepCache>();
  let stepsHeader: YEntry | undefined;
  // As in the whole-document parse, a repeated key is reported and everything under it ignored.
  const seenTopKeys = new Map<string, YEntry>();
  const seenSteps = new Map<string, YEntry>();
  let inDuplicateSteps = false;
  let firstStepStart: number | undefined;
  let lastStepEnd = 0;
  const duplicate = (e: YEntry, first: YEntry) =>
    diagnostics.push(
      makeDiagnostic(PipelineCode.duplicateKey, `Duplicate key '${e.key}': it is already defined above; remove or rename one.`, e.keySpan, {
        related: [{ span: first.keySpan, message: `first '${e.key}'` }],
      }),
    );
  for (const b of blocks) {
    const e = b.entries[0];
    if (b.kind === 'step') {
      if (!e || inDuplicateSteps) continue;
      firstStepStart ??= e.span.start;
      lastStepEnd = e.span.end;
      const dup = seenSteps.get(e.key);
      if (dup) {
        duplicate(e, dup);
        continue;
      }
      seenSteps.set(e.key, e);
      stepEntries.push(e);
      caches.set(e, b.cache);
    } else if (e) {
      const dup = seenTopKeys.get(e.key);
      inDuplicateSteps = dup !== undefined && e.key === 'steps';
      if (dup) {
        duplicate(e, dup);
        continue;
      }
      seenTopKeys.set(e.key, e);
      topEntries.push(e);
      if (e.key === 'steps') stepsHeader = e;
    }
    for (const d of b.diagnostics) diagnostics.push(d);
    for (const r of b.references) references.push(r);
    if (e) values.set(e, b.values[0]);
  }
  if (stepsHeader && firstStepStart !== undefined) {
    // Steps parsed apart: rebuild the `steps:` mapping from them.
    const unique = stepEntries;
    const map: YMap = { kind: 'map', span: { start: firstStepStart, end: lastStepEnd }, entries: unique, flow: false };
    const header = stepsHeader;
    const idx = topEntries.indexOf(header);
    const stepsEntry: YEntry = { key: header.key, keySpan: header.keySpan, value: map, span: { start: header.span.start, end: map.span.end } };
    topEntries[idx] = stepsEntry;
    const stepsValue: Record<string, unknown> = {};
    for (const e of unique) defineValue(stepsValue, e.key, values.get(e));
    values.set(stepsEntry, stepsValue);
  }
  const uniqueTop = topEntries;
  let root: YMap | undefined;
  let value: Record<string, unknown> | undefined;
  if (uniqueTop.length > 0) {
    const first = uniqueTop[0];
    const last = uniqueTop[uniqueTop.length - 1];
    root = { kind: 'map', span: { start: first?.span.start ?? 0, end: last?.span.end ?? 0 }, entries: uniqueTop, flow: false };
    value = {};
    for (const e of uniqueTop) defineValue(value, e.key, values.get(e));
  } else {
    notAMapping(text, undefined, diagnostics);
  }
  const doc = finish(file, text, root, diagnostics, references, blocks, 'incremental', reused, value);
  for (const [name, step] of doc.symbols.steps) {
    const cache = caches.get(step.entry);
    if (cache) step.cache = cache;
    void name;
  }
  return doc;
}

function finish(
  file: string,
  text: string,
  root: YMap | undefined,
  findings: CairnDiagnostic[],
  references: PipelineReference[],
  blocks: Block[] | undefined,
  mode: 'full' | 'incremental',
  reused: number,
  assembledValue?: unknown,
): PipelineDocument {
  let diagnostics = findings;
  if (root) {
    const version = mapGet(root, 'version');
    const steps = mapGet(root, 'steps');
    const at = root.entries[0]?.keySpan ?? { start: 0, end: 0 };
    if (!version) diagnostics.push(makeDiagnostic(PipelineCode.missingKey, 'Missing required key \'version\': add `version: 1` at the top.', at, { fixes: [{ title: 'Add `version: 1`', span: { start: root.span.start, end: root.span.start }, newText: 'version: 1\n' }] }));
    if (!steps) diagnostics.push(makeDiagnostic(PipelineCode.missingKey, 'Missing required key \'steps\': a pipeline needs at least one step.', at));
  }
  // On broken YAML the tree is a guess: structure findings on it would mostly be noise.
  if (diagnostics.some((d) => d.code === PipelineCode.yamlSyntax)) {
    diagnostics = diagnostics.filter((d) => d.code === PipelineCode.yamlSyntax || d.code === PipelineCode.multiDocument);
  }
  diagnostics.sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end);
  const symbols = collectSymbols(root);
  const value = assembledValue ?? (root ? toValue(root) : undefined);
  let lines: LineIndex | undefined;
  const doc: PipelineDocument = {
    file,
    text,
    // Built on first use: most re-parses never convert an offset.
    get lines() {
      lines ??= new LineIndex(text);
      return lines;
    },
    value,
    symbols,
    references,
    diagnostics,
    root,
    blocks,
    mode,
    reusedBlocks: reused,
    nodeAt: (offset) => locateOffset(doc, offset),
  };
  return doc;
}

// ---------------------------------------------------------------------------------------------------------------
// Sections

function analyzeTop(entry: YEntry, text: string, out: CairnDiagnostic[], refs: PipelineReference[], split: boolean): void {
  const key = entry.key;
  const value = entry.value;
  switch (key) {
    case 'version': {
      if (value.kind === 'scalar' && typeof value.value === 'number') {
        if (value.value !== 1) out.push(makeDiagnostic(PipelineCode.unsupportedVersion, `Unsupported version ${value.value}: this Cairn understands \`version: 1\`.`, value.span, { fixes: [{ title: 'Use version 1', span: value.span, newText: '1' }] }));
      } else checkWithZod(topLevelShape.version, value, key, entry.keySpan, out);
      return;
    }
    case 'name':
    case 'description':
      checkWithZod(topLevelShape[key], value, key, entry.keySpan, out);
      return;
    case 'params':
      analyzeParams(entry, out);
      return;
    case 'data':
      analyzeData(entry, text, out, refs);
      return;
    case 'steps':
      if (value.kind === 'map') for (const s of value.entries) analyzeStep(s, text, out, refs);
      else if (!(split && value.kind === 'scalar' && value.value === null)) {
        out.push(makeDiagnostic(PipelineCode.wrongType, '\'steps\' must be a mapping of step name → step (`train: { uses: train.mlp, with: ... }`).', nonEmpty(value.span, entry.keySpan)));
      }
      return;
    case 'deploy':
      checkWithZod(deploySchema, value, key, entry.keySpan, out);
      scanNode(value, text, refs, out);
      return;
    case 'allow_outside':
      checkWithZod(topLevelShape.allow_outside, value, key, entry.keySpan, out);
      if (value.kind === 'seq') {
        for (const item of value.items) {
          if (item.kind !== 'scalar' || typeof item.value !== 'string' || item.value.startsWith('/')) continue;
          const message =
            `'${item.value}' in allow_outside is not an absolute folder: ` +
            'write the full path of the read-only input (e.g. /mnt/shared/data).';
          out.push(makeDiagnostic(PipelineCode.invalidValue, message, item.span));
        }
      }
      return;
    default: {
      const suggestion = closest(key, topKeys);
      out.push(
        makeDiagnostic(PipelineCode.unknownKey, `Unknown key '${key}'${suggestion ? `: did you mean '${suggestion}'?` : ` (allowed at the top: ${topKeys.join(', ')})`}`, entry.keySpan, {
          ...(suggestion ? { fixes: [{ title: `Change to '${suggestion}'`, span: entry.keySpan, newText: suggestion, isPreferred: true }] } : {}),
        }),
      );
    }
  }
}

function defineValue(o: Record<string, unknown>, key: string, v: unknown): void {
  // `__proto__` must become an own key, not the prototype.
  if (key === '__proto__') Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
  else o[key] = v;
}

function nonEmpty(span: Span, fallback: Span): Span {
  return span.end > span.start ? span : fallback;
}

/** Names that would alias JavaScript object machinery wherever names become keys (run records, env, exports). */
const reservedNames = new Set(['__proto__', 'constructor', 'prototype']);

function checkName(entry: YEntry, what: string, out: CairnDiagnostic[]): void {
  if (reservedNames.has(entry.key)) {
    out.push(makeDiagnostic(PipelineCode.invalidName, `'${entry.key}' is reserved: choose another ${what} name.`, entry.keySpan));
  } else if (!namePattern.test(entry.key)) {
    out.push(makeDiagnostic(PipelineCode.invalidName, `Invalid ${what} name '${entry.key}': use letters, digits, '_' and '-', starting with a letter or '_'.`, entry.keySpan));
  }
}

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

function analyzeParams(entry: YEntry, out: CairnDiagnostic[]): void {
  const v = entry.value;
  if (v.kind === 'scalar' && v.value === null) return;
  if (v.kind !== 'map') {
    out.push(makeDiagnostic(PipelineCode.wrongType, '\'params\' must be a mapping of param name → default value (`lr: 0.01`).', nonEmpty(v.span, entry.keySpan)));
    return;
  }
  for (const p of v.entries) {
    checkName(p, 'param', out);
    const node = p.value;
    if (isLongForm(node)) {
      checkWithZod(paramLongSchema, node, p.key, p.keySpan, out);
      const sym = paramFromNode(p);
      const def = mapGet(node, 'default');
      const typeEntry = mapGet(node, 'type');
      if (def && typeEntry && typeof toValue(typeEntry.value) === 'string' && (paramTypes as readonly string[]).includes(String(toValue(typeEntry.value)))) {
        if (!(def.value.kind === 'scalar' && def.value.value === null) && !valueMatchesType(sym.value, sym.type)) {
          out.push(makeDiagnostic(PipelineCode.paramType, `The default of '${p.key}' is not ${sym.type === 'int' ? 'an int' : `a ${sym.type}`}.`, nonEmpty(def.value.span, def.keySpan)));
        }
      }
      if (typeof sym.value === 'number') {
        const min = toValue(mapGet(node, 'min')?.value);
        const max = toValue(mapGet(node, 'max')?.value);
        if (typeof min === 'number' && sym.value < min) out.push(makeDiagnostic(PipelineCode.paramType, `The default of '${p.key}' (${sym.value}) is below its min ${min}.`, def?.value.span ?? p.keySpan));
        if (typeof max === 'number' && sym.value > max) out.push(makeDiagnostic(PipelineCode.paramType, `The default of '${p.key}' (${sym.value}) is above its max ${max}.`, def?.value.span ?? p.keySpan));
      }
      const values = toValue(mapGet(node, 'values')?.value);
      if (Array.isArray(values) && def && sym.value !== undefined && sym.value !== null && !values.includes(sym.value)) {
        out.push(makeDiagnostic(PipelineCode.paramType, `The default of '${p.key}' is not one of its values (${values.join(', ')}).`, def.value.span));
      }
      if (sym.secret && def && !(def.value.kind === 'scalar' && (def.value.value === null || def.value.value === ''))) {
        out.push(makeDiagnostic(PipelineCode.secretInFile, `'${p.key}' is secret but its default is written in the file: leave the default out and pass it per run (\`cairn run -p ${p.key}=...\`).`, def.value.span));
      }
    } else if (node.kind === 'map') {
      out.push(makeDiagnostic(PipelineCode.paramType, `A map-valued param needs the long form: \`${p.key}: { type: map, default: { ... } }\`.`, p.keySpan));
    } else if (node.kind === 'scalar' && node.value === null) {
      out.push(makeDiagnostic(PipelineCode.paramType, `Param '${p.key}' has no value: give a default (\`${p.key}: 0.1\`) or the long form \`{ type: float }\`.`, p.keySpan));
    } else if (node.kind === 'scalar' && typeof node.value === 'number' && !Number.isFinite(node.value)) {
      out.push(makeDiagnostic(PipelineCode.paramType, `Param '${p.key}' is not a finite number.`, node.span));
    }
  }
}

export function paramFromNode(p: YEntry): ParamSymbol {
  const node = p.value;
  if (isLongForm(node)) {
    const def = mapGet(node, 'default');
    const value = toValue(def?.value);
    const t = toValue(mapGet(node, 'type')?.value);
    const type = typeof t === 'string' && (paramTypes as readonly string[]).includes(t) ? (t as ParamType) : inferType(value, def?.value);
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
  return { name: p.key, keySpan: p.keySpan, span: p.span, type: inferType(value, node), value: value === null ? undefined : value, secret: false };
}

function analyzeData(entry: YEntry, text: string, out: CairnDiagnostic[], refs: PipelineReference[]): void {
  const v = entry.value;
  if (v.kind === 'scalar' && v.value === null) return;
  if (v.kind !== 'map') {
    out.push(makeDiagnostic(PipelineCode.wrongType, '\'data\' must be a mapping of name → path or `{ path | from, schema }`.', nonEmpty(v.span, entry.keySpan)));
    return;
  }
  for (const d of v.entries) {
    checkName(d, 'data', out);
    checkWithZod(dataEntrySchema, d.value, d.key, d.keySpan, out);
    if (d.value.kind === 'map') {
      const hasPath = mapGet(d.value, 'path');
      const hasFrom = mapGet(d.value, 'from');
      if (hasPath && hasFrom) out.push(makeDiagnostic(PipelineCode.invalidValue, `Data '${d.key}' has both \`path\` and \`from\`: keep one.`, hasFrom.keySpan));
      else if (!hasPath && !hasFrom) out.push(makeDiagnostic(PipelineCode.missingKey, `Data '${d.key}' needs \`path:\` (a file) or \`from:\` (a step output).`, d.keySpan));
    }
    scanNode(d.value, text, refs, out);
  }
}

const runOnly = ['outs', 'params', 'metrics', 'env'] as const;

function analyzeStep(entry: YEntry, text: string, out: CairnDiagnostic[], refs: PipelineReference[]): void {
  checkName(entry, 'step', out);
  const v = entry.value;
  if (v.kind !== 'map') {
    out.push(makeDiagnostic(PipelineCode.wrongType, `Step '${entry.key}' must be a mapping with \`run:\` (a command) or \`uses:\` (a built-in).`, nonEmpty(v.span, entry.keySpan)));
    return;
  }
  checkWithZod(stepSchema, v, entry.key, entry.keySpan, out);
  const run = mapGet(v, 'run');
  const uses = mapGet(v, 'uses');
  if (run && uses) out.push(makeDiagnostic(PipelineCode.invalidStep, `Step '${entry.key}' has both \`run:\` and \`uses:\`: a step is a command or a built-in, not both.`, uses.keySpan));
  else if (!run && !uses) out.push(makeDiagnostic(PipelineCode.invalidStep, `Step '${entry.key}' needs \`run:\` (a command) or \`uses:\` (a built-in).`, entry.keySpan));
  if (run && !uses) {
    const w = mapGet(v, 'with');
    if (w) out.push(makeDiagnostic(PipelineCode.invalidStep, '`with:` gives options to a built-in: it needs `uses:`, not `run:`.', w.keySpan));
  }
  if (uses && !run) {
    for (const k of runOnly) {
      const e = mapGet(v, k);
      if (e) out.push(makeDiagnostic(PipelineCode.invalidStep, `\`${k}:\` belongs to command steps (\`run:\`); a built-in declares its own${k === 'outs' ? ' outputs (use `outputs: [name, ...]`)' : ''}.`, e.keySpan));
    }
    const outputs = mapGet(v, 'outputs');
    if (outputs && outputs.value.kind === 'map') out.push(makeDiagnostic(PipelineCode.wrongType, 'A built-in step lists the outputs it keeps by name: `outputs: [model, onnx]`; their paths are the runtime\'s.', outputs.keySpan));
    const usesValue = toValue(uses.value);
    const spec = typeof usesValue === 'string' ? getBuiltin(usesValue) : undefined;
    if (spec && outputs?.value.kind === 'seq') {
      const names = Object.keys(spec.outputs);
      for (const item of outputs.value.items) {
        const name = item.kind === 'scalar' ? String(item.value) : '';
        if (item.kind === 'scalar' && !names.includes(name)) {
          const suggestion = closest(name, names);
          out.push(
            makeDiagnostic(
              PipelineCode.unknownOutput,
              `${spec.name} has no output '${name}'${suggestion ? `: did you mean '${suggestion}'?` : names.length > 0 ? ` (its outputs: ${names.join(', ')})` : ' (it writes none)'}`,
              item.span,
              suggestion ? { fixes: [{ title: `Change to '${suggestion}'`, span: item.span, newText: suggestion, isPreferred: true }] } : {},
            ),
          );
        }
      }
    }
  }
  if (mapGet(v, 'outputs') && mapGet(v, 'outs')) out.push(makeDiagnostic(PipelineCode.invalidStep, '`outs:` and `outputs:` are the same thing: keep one.', mapGet(v, 'outs')?.keySpan ?? entry.keySpan));
  const needs = mapGet(v, 'needs');
  if (needs) for (const item of needs.value.kind === 'seq' ? needs.value.items : [needs.value]) if (item.kind === 'scalar' && typeof item.value === 'string') refs.push({ kind: 'step', name: item.value, nameSpan: innerSpan(item, text), span: item.span });
  const params = mapGet(v, 'params');
  if (params?.value.kind === 'seq') for (const item of params.value.items) if (item.kind === 'scalar' && typeof item.value === 'string') refs.push({ kind: 'param', name: item.value, nameSpan: innerSpan(item, text), span: item.span });
  scanNode(v, text, refs, out);
}

/** The span of a scalar's text without its quotes. */
export function innerSpan(node: YScalar, text: string): Span {
  const c = text[node.span.start];
  if (node.quoted && (c === '"' || c === "'") && node.span.end - node.span.start >= 2) return { start: node.span.start + 1, end: node.span.end - 1 };
  return node.span;
}

/** Collects `${...}` references (and their syntax errors) from every string scalar under `node`. */
function scanNode(node: YNode, text: string, refs: PipelineReference[], out: CairnDiagnostic[]): void {
  switch (node.kind) {
    case 'scalar': {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      const errors: Array<{ span: Span; message: string }> = [];
      scanInterpolations(text, node.span.start, node.span.end, refs, errors);
      for (const e of errors) out.push(makeDiagnostic(PipelineCode.interpolationSyntax, e.message, e.span));
      return;
    }
    case 'seq':
      for (const i of node.items) scanNode(i, text, refs, out);
      return;
    case 'map':
      for (const e of node.entries) scanNode(e.value, text, refs, out);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Symbols

const stepInfos = new WeakMap<YEntry, StepInfo>();

function collectSymbols(root: YMap | undefined): PipelineDocument['symbols'] {
  const params = new Map<string, ParamSymbol>();
  const data = new Map<string, DataInfo>();
  const steps = new Map<string, StepInfo>();
  if (!root) return { params, data, steps };
  const p = mapGet(root, 'params')?.value;
  if (p?.kind === 'map') for (const e of p.entries) params.set(e.key, paramFromNode(e));
  const d = mapGet(root, 'data')?.value;
  if (d?.kind === 'map')
    for (const e of d.entries) {
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
      data.set(e.key, info);
    }
  const s = mapGet(root, 'steps')?.value;
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

function stepFromEntry(e: YEntry): StepInfo {
  const v = e.value;
  const outputs = new Map<string, OutputSymbol>();
  const needs: string[] = [];
  const info: StepInfo = { name: e.key, keySpan: e.keySpan, span: e.span, kind: 'run', outputs, needs, entry: e };
  if (v.kind !== 'map') return info;
  const usesEntry = mapGet(v, 'uses');
  // With both `run:` and `uses:` (reported), the built-in wins: its outputs are known.
  const outsEntry = usesEntry ? mapGet(v, 'outputs') : mapGet(v, 'outputs') ?? mapGet(v, 'outs');
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
      for (const oe of o.entries) if (oe.value.kind === 'scalar' && typeof oe.value.value === 'string' && !outputs.has(oe.key)) outputs.set(oe.key, { name: oe.key, keySpan: oe.keySpan, span: oe.span, path: oe.value.value });
    } else if (o.kind === 'seq') {
      for (const item of o.items) {
        if (item.kind !== 'scalar' || typeof item.value !== 'string') continue;
        const name = outputNameOfPath(item.value);
        if (!outputs.has(name)) outputs.set(name, { name, keySpan: item.span, span: item.span, path: item.value });
      }
    }
  }
  const n = mapGet(v, 'needs')?.value;
  if (n) for (const item of n.kind === 'seq' ? n.items : [n]) if (item.kind === 'scalar' && typeof item.value === 'string') needs.push(item.value);
  return info;
}

// ---------------------------------------------------------------------------------------------------------------
// Locations (completion, hover)

function within(s: Span, o: number): boolean {
  return o >= s.start && o <= s.end;
}

function locateOffset(doc: PipelineDocument, offset: number): NodeLocation | undefined {
  const text = doc.text;
  const path: Array<string | number> = [];
  let node: YNode | undefined = doc.root;
  while (node) {
    let next: YNode | undefined;
    if (node.kind === 'map') {
      for (const e of node.entries) {
        if (within(e.keySpan, offset)) {
          // A half-typed key runs into the next line as one multi-line key: the text tells better.
          if (/[\r\n]/.test(text.slice(e.keySpan.start, e.keySpan.end))) return textLocation(doc, offset);
          return { path: [...path, e.key], on: 'key', span: e.keySpan };
        }
        if (e.value.span.end > e.value.span.start && within(e.value.span, offset) && offset > e.keySpan.end) {
          path.push(e.key);
          next = e.value;
          break;
        }
        // `key: |` with nothing typed yet (also inside `{ ... }`).
        if (e.value.kind === 'scalar' && e.value.value === null && offset >= e.value.span.start && /^[ ]*$/.test(text.slice(e.value.span.start, offset))) {
          return { path: [...path, e.key], on: 'value', span: { start: offset, end: offset } };
        }
      }
    } else if (node.kind === 'seq') {
      for (let i = 0; i < node.items.length; i++) {
        const item = node.items[i];
        if (item && item.span.end > item.span.start && within(item.span, offset)) {
          path.push(i);
          next = item;
          break;
        }
      }
    } else {
      const interp = interpolationAt(text, offset, node.span);
      return { path, on: 'value', span: node.span, ...(interp ? { interpolation: interp } : {}) };
    }
    if (!next) break;
    node = next;
  }
  return textLocation(doc, offset);
}

/**
 * Where a new key or value would go, from indentation alone (the tree cannot say: a half-typed key is not YAML yet).
 * Walks up from the cursor's line to the keys with smaller indentation.
 */
function textLocation(doc: PipelineDocument, offset: number): NodeLocation | undefined {
  const text = doc.text;
  const pos = doc.lines.positionAt(offset);
  const lineStart = offset - pos.character;
  const lineText = text.slice(lineStart, offset);
  const indentMatch = /^( *)(- )?/.exec(lineText);
  let indent = indentMatch ? indentMatch[1]?.length ?? 0 : 0;
  const afterIndent = lineText.slice(indent);
  const keyValue = /^(- )?([A-Za-z0-9_.@-]+)\s*:\s*(.*)$/.exec(afterIndent);
  const chain: string[] = [];
  if (keyValue) chain.push(keyValue[2] ?? '');
  if (indentMatch?.[2]) indent += 2;
  let want = indent;
  for (let line = pos.line - 1; line >= 0 && want > 0; line--) {
    const s = doc.lines.offsetAt({ line, character: 0 });
    const e = doc.lines.offsetAt({ line: line + 1, character: 0 });
    const l = text.slice(s, e).replace(/\r?\n$/, '');
    const m = /^( *)(- +)?([A-Za-z0-9_.@"'-]+)\s*:/.exec(l);
    if (!m) continue;
    const ind = (m[1]?.length ?? 0) + (m[2]?.length ?? 0);
    if (ind < want) {
      chain.unshift((m[3] ?? '').replace(/["']/g, ''));
      want = m[1]?.length ?? 0;
      if (m[2]) want = m[1]?.length ?? 0;
    }
  }
  const wordStart = lineStart + indent + (keyValue ? 0 : 0);
  if (keyValue) {
    const valueText = keyValue[3] ?? '';
    const vStart = offset - valueText.length;
    const interp = interpolationAt(text, offset, { start: lineStart, end: doc.lines.offsetAt({ line: pos.line + 1, character: 0 }) });
    return { path: chain, on: 'value', span: { start: vStart, end: offset }, ...(interp ? { interpolation: interp } : {}) };
  }
  const typed = /^[A-Za-z0-9_.@-]*$/.test(afterIndent) ? afterIndent : '';
  return { path: chain, on: 'newKey', span: { start: Math.min(wordStart, offset), end: wordStart + typed.length } };
}
