import type { CairnDiagnostic } from '../diagnostics.js';
import { PipelineCode } from './codes.js';
import type { PipelineReference } from './model.js';
import { checkNotAMapping, checkStepEntry, checkTopEntry } from './structure.js';
import { stepReferences, topReferences, type StepCache } from './symbols.js';
import {
  duplicateKey,
  moveEntry,
  moveSpan,
  parseYaml,
  shiftDiagnostic,
  shiftEntry,
  shiftSpan,
  toValue,
  type YEntry,
  type YMap,
} from './yamlTree.js';

/**
 * Incremental re-parsing: the text is split by indentation into top-level blocks and, inside `steps:`, one block per
 * step. Each block is parsed on its own and its results (tree, structure findings, references) are kept; the next
 * parse reuses every block whose text did not change, shifted to its new offset. When the split could be wrong (tabs,
 * flow collections or quoted scalars running across blocks, anchors/aliases, several documents, YAML errors) the
 * caller parses the whole text at once instead, so the result always equals a full parse.
 */

/** One parsed block: the results are absolute (offsets into the text it was parsed from, at `start`). */
export interface Block {
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

/** A document put together from its blocks (parse.ts makes the PipelineDocument of it). */
export interface Assembled {
  root: YMap | undefined;
  value: Record<string, unknown> | undefined;
  diagnostics: CairnDiagnostic[];
  references: PipelineReference[];
  blocks: Block[];
  reused: number;
  /** The step-local check cache of each step's block, by the step's entry. */
  caches: Map<YEntry, StepCache>;
  /**
   * Set when only one block was parsed again, at the same offsets (reparseOne): the entry it replaced and the new one,
   * so that parse.ts updates the symbol tables instead of collecting them again.
   */
  replaced?: { kind: 'top' | 'step'; before: YEntry; after: YEntry };
}

/**
 * What reparseOne needs of an assembled document besides its blocks (kept by the blocks array): set only when every
 * block is clean (one entry, no YAML error, no repeated key), so that blocks and entries correspond one to one.
 */
interface Layout {
  root: YMap;
  value: Record<string, unknown>;
  references: PipelineReference[];
  /** Index in `blocks` of the first step block (-1: none), and of the `steps` entry in `root.entries`. */
  firstStep: number;
  stepsAt: number;
}

const layouts = new WeakMap<readonly Block[], Layout>();

/**
 * Blocks a re-parse moved in place (`consume`): their trees are at the new offsets while the blocks say the old ones,
 * so they are never reused again.
 */
const consumed = new WeakSet<readonly Block[]>();

/** Blocks made by reparseOne in place: the blocks they were made from, and the replaced step's name (a step block). */
const singleEdits = new WeakMap<readonly Block[], SingleEdit>();

export interface SingleEdit {
  from: readonly Block[];
  step: string | undefined;
  /** The symbol names (params, data, steps and their outputs) are those of `from` (parse.ts compares them). */
  namesKept?: boolean;
}

/** How `blocks` were made from the previous ones, when by replacing one block in place (check.ts revisits less). */
export function singleEdit(blocks: readonly Block[]): SingleEdit | undefined {
  return singleEdits.get(blocks);
}

/** Length of the common prefix of two strings: compared in native chunks, not character by character. */
export function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let at = 0;
  let chunk = 1 << 16;
  while (at < n) {
    const c = Math.min(chunk, n - at);
    if (a.slice(at, at + c) === b.slice(at, at + c)) at += c;
    else if (c <= 16) {
      while (at < n && a.charCodeAt(at) === b.charCodeAt(at)) at++;
      return at;
    } else chunk = c >> 1;
  }
  return at;
}

/** Length of the common suffix of two strings, at most `max`. */
export function commonSuffix(a: string, b: string, max: number): number {
  let len = 0;
  let chunk = 1 << 16;
  while (len < max) {
    const c = Math.min(chunk, max - len);
    if (a.slice(a.length - len - c, a.length - len) === b.slice(b.length - len - c, b.length - len)) len += c;
    else if (c <= 16) {
      while (len < max && a.charCodeAt(a.length - 1 - len) === b.charCodeAt(b.length - 1 - len)) len++;
      return len;
    } else chunk = c >> 1;
  }
  return len;
}

const stepsHeaderLine = /^steps[ ]*:[ ]*(#.*)?\r?$/;

/**
 * The edit lies inside one block and leaves the split alone: the block is parsed again and put in place of the old
 * one, the others kept as they are (shifted when the edit changed the length). Work in proportion to the edited block,
 * plus pointer copies; undefined when any of that does not hold, and the caller splits the whole text.
 * When the length changed, the blocks after the edit move: copied (O(file) allocations, `previous` left as it was),
 * or with `consume` moved in place (their trees' offsets updated, their symbols and check caches kept; `previous` and
 * the document made of it must not be read again).
 */
function reparseOne(
  text: string,
  previous: readonly Block[],
  previousText: string,
  consume: boolean,
): Assembled | undefined {
  const layout = layouts.get(previous);
  if (!layout) return undefined;
  const p = commonPrefix(previousText, text);
  if (p === text.length && p === previousText.length) return undefined;
  const s = commonSuffix(previousText, text, Math.min(previousText.length, text.length) - p);
  const oldEnd = previousText.length - s;
  const d = text.length - previousText.length;
  // The block the edit starts in (the last one starting at or before it).
  let lo = 0;
  let hi = previous.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((previous[mid]?.start ?? 0) <= p) lo = mid;
    else hi = mid - 1;
  }
  const k = lo;
  const b = previous[k];
  // Block 0 may hold a byte-order mark or a preamble: left to the whole split.
  if (!b || k === 0) return undefined;
  const end = b.start + b.text.length;
  if (oldEnd > end) return undefined;
  const blockText = text.slice(b.start, end + d);
  const before = b.entries[0];
  if (!before || (b.kind === 'top' && before.key === 'steps')) return undefined;
  if (!keepsSplit(blockText, b, k === previous.length - 1)) return undefined;
  const nb = parseBlock(b.kind, blockText, b.start);
  const after = nb.entries[0];
  if (nb.needsFull || nb.syntaxErrors || nb.entries.length !== 1 || !after || after.key !== before.key)
    return undefined;
  const blocks = previous.slice();
  blocks[k] = nb;
  if (d !== 0 && !consume) {
    // Everything after the edit moves: O(file), as the whole split would be.
    for (let i = k + 1; i < blocks.length; i++) {
      const x = blocks[i];
      if (x) blocks[i] = shiftBlock(x, d);
    }
    return assemble(blocks, blocks.length - 1);
  }
  if (d !== 0) {
    for (let i = k + 1; i < blocks.length; i++) {
      const x = blocks[i];
      if (x) blocks[i] = moveBlock(x, d);
    }
    consumed.add(previous);
  }
  singleEdits.set(blocks, { from: previous, step: nb.kind === 'step' ? after.key : undefined });
  return assembleOne(blocks, layout, k, b, nb, d);
}

/**
 * The new text of block `b` splits as one block of the same kind: its first line a key at the block's indentation
 * (not `steps:`), every other line blank, a comment or indented deeper, no tabs, and a line break at its end unless
 * it is the last block. Then the whole split is the old one with this block's text replaced.
 */
function keepsSplit(blockText: string, b: Block, last: boolean): boolean {
  if (blockText.includes('\t') || (!last && !blockText.endsWith('\n'))) return false;
  let indent = 0;
  while (b.text.charCodeAt(indent) === 32) indent++;
  for (let i = 0; i < indent; i++) if (blockText.charCodeAt(i) !== 32) return false;
  const firstEnd = blockText.indexOf('\n');
  const first = blockText.slice(indent, firstEnd < 0 ? blockText.length : firstEnd);
  if (!topKeyLine.test(first) || (b.kind === 'top' && stepsHeaderLine.test(first))) return false;
  for (let ls = firstEnd < 0 ? blockText.length : firstEnd + 1; ls < blockText.length;) {
    let j = ls;
    while (blockText.charCodeAt(j) === 32) j++;
    const c = blockText.charCodeAt(j);
    if (!(j >= blockText.length || c === 10 || c === 13 || c === 35) && j - ls <= indent) return false;
    const nl = blockText.indexOf('\n', j);
    ls = nl < 0 ? blockText.length : nl + 1;
  }
  return true;
}

/**
 * Parses `text` block by block, reusing every block of `previous` (the last parse's blocks) whose text did not change;
 * undefined when the split could be wrong, and the caller parses the whole text at once.
 */
export function reparse(
  text: string,
  previousBlocks: readonly Block[] | undefined,
  previousText?: string,
  consume = false,
): Assembled | undefined {
  const previous = previousBlocks && consumed.has(previousBlocks) ? undefined : previousBlocks;
  if (previous && previousText !== undefined) {
    const one = reparseOne(text, previous, previousText, consume);
    if (one) return one;
  }
  const split = splitBlocks(text);
  if (split) {
    const prev = previous ?? [];
    // Blocks before and after the edit match in order; only the ones in between are looked up by text.
    const same = (b: Block | undefined, spec: BlockSpec | undefined): boolean =>
      b !== undefined &&
      spec !== undefined &&
      b.kind === spec.kind &&
      b.text.length === spec.end - spec.start &&
      text.startsWith(b.text, spec.start);
    let head = 0;
    while (head < prev.length && head < split.length && same(prev[head], split[head])) head++;
    let tail = 0;
    while (
      tail < prev.length - head &&
      tail < split.length - head &&
      same(prev[prev.length - 1 - tail], split[split.length - 1 - tail])
    )
      tail++;
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
      const cached =
        i < head
          ? prev[i]
          : i >= split.length - tail
            ? prev[prev.length - (split.length - i)]
            : lookup(spec.kind, blockText);
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
        if (
          next === undefined ||
          !parseYaml(joined, 0, b.kind === 'step' ? 1 : 0).diagnostics.some((d) => d.code === PipelineCode.yamlSyntax)
        )
          ok = false;
      }
    }
    if (ok) return assemble(blocks, reused);
  }
  return undefined;
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
  for (let i = 0; i < text.length;) {
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
  // A step sits one level inside `steps:`: nesting is counted as in the whole text.
  const y = parseYaml(blockText, 0, kind === 'step' ? 1 : 0);
  const syntaxErrors = y.diagnostics.some((d) => d.code === PipelineCode.yamlSyntax);
  const needsFull = y.hasAnchors || y.documents > 1;
  const diagnostics = [...y.diagnostics];
  const references: PipelineReference[] = [];
  let entries: YEntry[] = [];
  if (y.root?.kind === 'map') entries = y.root.entries;
  else if (y.root && !(y.root.kind === 'scalar' && y.root.value === null))
    return {
      kind,
      text: blockText,
      start,
      entries: [],
      diagnostics,
      references,
      values: [],
      needsFull: true,
      syntaxErrors,
      cache: {},
    };
  if (!needsFull && !syntaxErrors) {
    for (const e of entries) {
      if (kind === 'top') {
        checkTopEntry(e, diagnostics, true);
        topReferences(e, blockText, references, diagnostics);
      } else {
        checkStepEntry(e, diagnostics);
        stepReferences(e, blockText, references, diagnostics);
      }
    }
  }
  const block: Block = {
    kind,
    text: blockText,
    start: 0,
    entries,
    diagnostics,
    references,
    values: entries.map((e) => toValue(e.value)),
    needsFull,
    syntaxErrors,
    cache: {},
  };
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
    cache: b.cache.diagnostics
      ? {
          reads: b.cache.reads,
          diagnostics: b.cache.diagnostics.map((x) => shiftDiagnostic(x, d)),
          ...(b.cache.epoch !== undefined ? { epoch: b.cache.epoch } : {}),
        }
      : {},
  };
}

/**
 * `shiftBlock` for a block whose old offsets nothing reads again: its findings and references are copied at the new
 * offsets (before the tree moves: they may share its span objects), its check cache's findings replaced by moved
 * copies, and its tree moved in place, so the entries (and the symbols and caches kept by them) stay the same objects.
 */
function moveBlock(b: Block, d: number): Block {
  const diagnostics = b.diagnostics.length === 0 ? b.diagnostics : b.diagnostics.map((x) => shiftDiagnostic(x, d));
  if (b.cache.diagnostics && b.cache.diagnostics.length > 0)
    b.cache.diagnostics = b.cache.diagnostics.map((x) => shiftDiagnostic(x, d));
  // A reference's spans are its own (symbols.ts, interpolation.ts), though one may serve for two of its fields.
  for (const r of b.references) {
    moveSpan(r.span, d);
    if (r.nameSpan !== r.span) moveSpan(r.nameSpan, d);
    if (r.kind === 'output' && r.stepSpan !== r.span && r.stepSpan !== r.nameSpan) moveSpan(r.stepSpan, d);
  }
  for (const e of b.entries) moveEntry(e, d);
  return {
    kind: b.kind,
    text: b.text,
    start: b.start + d,
    entries: b.entries,
    diagnostics,
    references: b.references,
    values: b.values,
    needsFull: b.needsFull,
    syntaxErrors: b.syntaxErrors,
    cache: b.cache,
  };
}

function shiftReference(r: PipelineReference, d: number): PipelineReference {
  if (r.kind === 'output')
    return { ...r, stepSpan: shiftSpan(r.stepSpan, d), nameSpan: shiftSpan(r.nameSpan, d), span: shiftSpan(r.span, d) };
  return { ...r, nameSpan: shiftSpan(r.nameSpan, d), span: shiftSpan(r.span, d) };
}

/** The document's tree, value and findings from its blocks, as the whole-text parse would give them. */
function assemble(blocks: Block[], reused: number): Assembled | undefined {
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
  let clean = true;
  let firstStep = -1;
  let firstStepStart: number | undefined;
  let lastStepEnd = 0;
  const duplicate = (e: YEntry, first: YEntry) => diagnostics.push(duplicateKey(e.key, e.keySpan, first.keySpan));
  for (let bi = 0; bi < blocks.length; bi++) {
    const b = blocks[bi] as Block;
    const e = b.entries[0];
    if (b.syntaxErrors || b.entries.length > 1 || (b.kind === 'step' && !e)) clean = false;
    if (b.kind === 'step' && firstStep < 0) firstStep = bi;
    // A repeated key's block is dropped, but the whole-text parse still reports its YAML errors (and only those):
    // that case is left to it.
    if (
      b.syntaxErrors &&
      (inDuplicateSteps || (e !== undefined && (b.kind === 'step' ? seenSteps : seenTopKeys).has(e.key)))
    )
      return undefined;
    if (b.kind === 'step') {
      if (inDuplicateSteps) continue;
      if (!e) {
        // A step block yaml could make nothing of (too deep to parse): its findings still count.
        for (const d of b.diagnostics) diagnostics.push(d);
        continue;
      }
      firstStepStart ??= e.span.start;
      lastStepEnd = e.span.end;
      const dup = seenSteps.get(e.key);
      if (dup) {
        clean = false;
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
        clean = false;
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
    const stepsEntry: YEntry = {
      key: header.key,
      keySpan: header.keySpan,
      value: map,
      span: { start: header.span.start, end: map.span.end },
    };
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
    root = {
      kind: 'map',
      span: { start: first?.span.start ?? 0, end: last?.span.end ?? 0 },
      entries: uniqueTop,
      flow: false,
    };
    value = {};
    for (const e of uniqueTop) defineValue(value, e.key, values.get(e));
  } else {
    checkNotAMapping(undefined, diagnostics);
  }
  if (clean && root && value && !inDuplicateSteps) {
    const stepsAt = stepsHeader ? root.entries.findIndex((e) => e.key === 'steps') : -1;
    if (firstStep < 0 || stepsAt >= 0) layouts.set(blocks, { root, value, references, firstStep, stepsAt });
  }
  return { root, value, diagnostics, references, blocks, reused, caches };
}

/**
 * `assemble` for blocks that differ from the last assembled ones (`layout`'s) in block `k` only, with the same key,
 * the blocks after it at the same offsets or moved in place by `moved` (moveBlock): the tree, value and references are
 * the last ones with that entry replaced (array copies), and the plain value of `steps:` is built on first read, not
 * on every edit.
 */
function assembleOne(blocks: Block[], layout: Layout, k: number, old: Block, nb: Block, moved: number): Assembled {
  const before = old.entries[0] as YEntry;
  const after = nb.entries[0] as YEntry;
  const diagnostics: CairnDiagnostic[] = [];
  for (const b of blocks) for (const d of b.diagnostics) diagnostics.push(d);
  // The references are the blocks' in block order: the old block's run is replaced by the new one's (and those after
  // it by their moved copies).
  let r0 = 0;
  for (let i = 0; i < k; i++) r0 += blocks[i]?.references.length ?? 0;
  let references = layout.references.slice(0, r0).concat(nb.references);
  if (moved === 0) references = references.concat(layout.references.slice(r0 + old.references.length));
  else for (let i = k + 1; i < blocks.length; i++) for (const r of blocks[i]?.references ?? []) references.push(r);
  const prevRoot = layout.root;
  const entries = prevRoot.entries.slice();
  const value: Record<string, unknown> = {};
  const caches = new Map<YEntry, StepCache>();
  if (nb.kind === 'step') {
    const stepsEntry = entries[layout.stepsAt] as YEntry;
    const prevMap = stepsEntry.value as YMap;
    const stepEntries = prevMap.entries.slice();
    stepEntries[k - layout.firstStep] = after;
    const firstStart = stepEntries[0]?.span.start ?? 0;
    const lastEnd = stepEntries[stepEntries.length - 1]?.span.end ?? 0;
    const map: YMap = { kind: 'map', span: { start: firstStart, end: lastEnd }, entries: stepEntries, flow: false };
    entries[layout.stepsAt] = {
      key: stepsEntry.key,
      keySpan: stepsEntry.keySpan,
      value: map,
      span: { start: stepsEntry.span.start, end: lastEnd },
    };
    caches.set(after, nb.cache);
    for (const e of entries) {
      if (e.key !== 'steps') defineValue(value, e.key, layout.value[e.key]);
      else lazyValue(value, 'steps', () => stepsValue(blocks, layout.firstStep));
    }
  } else {
    const at = entries.indexOf(before);
    entries[at] = after;
    const header = blocks[layout.firstStep - 1]?.entries[0];
    if (moved !== 0 && layout.stepsAt > at && header) {
      // The steps moved: the `steps:` entry assemble made of them (not a block's) gets its spans again.
      const stepsEntry = entries[layout.stepsAt] as YEntry;
      const stepEntries = (stepsEntry.value as YMap).entries;
      const map: YMap = {
        kind: 'map',
        span: { start: stepEntries[0]?.span.start ?? 0, end: stepEntries[stepEntries.length - 1]?.span.end ?? 0 },
        entries: stepEntries,
        flow: false,
      };
      entries[layout.stepsAt] = {
        key: stepsEntry.key,
        keySpan: header.keySpan,
        value: map,
        span: { start: header.span.start, end: map.span.end },
      };
    }
    for (const e of entries) {
      if (e.key === 'steps') lazyValue(value, 'steps', () => layout.value.steps);
      else defineValue(value, e.key, e === after ? nb.values[0] : layout.value[e.key]);
    }
  }
  const first = entries[0];
  const last = entries[entries.length - 1];
  const root: YMap = {
    kind: 'map',
    span: { start: first?.span.start ?? 0, end: last?.span.end ?? 0 },
    entries,
    flow: false,
  };
  layouts.set(blocks, { root, value, references, firstStep: layout.firstStep, stepsAt: layout.stepsAt });
  return {
    root,
    value,
    diagnostics,
    references,
    blocks,
    reused: blocks.length - 1,
    caches,
    replaced: { kind: nb.kind, before, after },
  };
}

/** The plain value of the steps, as assemble builds it. */
function stepsValue(blocks: readonly Block[], firstStep: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = Math.max(0, firstStep); i < blocks.length; i++) {
    const b = blocks[i];
    const e = b?.entries[0];
    if (b?.kind === 'step' && e) defineValue(o, e.key, b.values[0]);
  }
  return o;
}

/** A property computed on first read and then kept as a plain data property. */
function lazyValue(o: Record<string, unknown>, key: string, compute: () => unknown): void {
  Object.defineProperty(o, key, {
    get() {
      const v = compute();
      Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
      return v;
    },
    set(v: unknown) {
      Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
    },
    enumerable: true,
    configurable: true,
  });
}

function defineValue(o: Record<string, unknown>, key: string, v: unknown): void {
  // `__proto__` must become an own key, not the prototype.
  if (key === '__proto__')
    Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
  else o[key] = v;
}
